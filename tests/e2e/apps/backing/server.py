"""A web app that keeps rows in DATABASE_URL (over TLS) and a counter in REDIS_URL, and can try
to reach a URL it is given (to show what it can and cannot reach)."""

import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import redis


def cache(url):
    # Heroku Redis over TLS (rediss://) has a certificate of its own: clients do not check it.
    options = {"ssl_cert_reqs": None} if url.startswith("rediss://") else {}
    return redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3, **options)


def database(url=None):
    return psycopg2.connect(url or os.environ["DATABASE_URL"], sslmode="require", connect_timeout=3)


def answer(path, query):
    if path == "/":
        return {"ok": True, "release": os.environ.get("HEROKU_RELEASE_VERSION")}
    if path == "/db/write":
        with database() as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS notes (v text)")
            cur.execute("INSERT INTO notes VALUES (%s)", (query["v"][0],))
        return {"written": query["v"][0]}
    if path == "/db/read":
        with database() as conn, conn.cursor() as cur:
            cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ssl = cur.fetchone()[0]
            cur.execute("SELECT to_regclass('notes') IS NOT NULL")
            rows = []
            if cur.fetchone()[0]:
                cur.execute("SELECT v FROM notes ORDER BY v")
                rows = [r[0] for r in cur.fetchall()]
        return {"rows": rows, "ssl": ssl}
    if path == "/redis/incr":
        return {"count": cache(os.environ[query.get("var", ["REDIS_URL"])[0]]).incr("counter")}
    if path == "/self":  # who the process runs as, and with what powers
        status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
        return {"uid": os.getuid(), "gid": os.getgid(), "cap_eff": status["CapEff"].strip(), "cap_bnd": status["CapBnd"].strip(), "no_new_privs": status["NoNewPrivs"].strip()}
    if path == "/env":
        return {k: v for k, v in os.environ.items() if k.endswith("_URL")}
    if path == "/probe":  # can this app reach what the URL names? (never raises: says what happened)
        url = query["url"][0]
        try:
            if url.startswith("postgres"):
                database(url).close()
            elif url.startswith("redis"):
                cache(url).ping()
            else:
                urllib.request.urlopen(url, timeout=3).read()
            return {"reached": True}
        except Exception as error:
            return {"reached": False, "error": f"{type(error).__name__}: {error}"}
    return None


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        parts = urlsplit(self.path)
        try:
            body, status = answer(parts.path, parse_qs(parts.query)), 200
        except Exception as error:
            body, status = {"error": f"{type(error).__name__}: {error}"}, 500
        if body is None:
            body, status = {"error": "not found"}, 404
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "5000"))), Handler).serve_forever()
