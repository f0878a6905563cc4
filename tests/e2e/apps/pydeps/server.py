"""Answers with how its dependencies were declared and the version of `packaging` it got."""

import http.server
import os
from pathlib import Path

import packaging

DECLARED = Path(__file__).with_name("DECLARED").read_text().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"pydeps-app declared={DECLARED} packaging={packaging.__version__}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
