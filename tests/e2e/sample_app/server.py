"""The sample app: answers with its version (from VERSION) and the GREETING config var."""

import http.server
import os
import socket
from pathlib import Path

VERSION = (Path(__file__).parent / "VERSION").read_text().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"sample-app version={VERSION} greeting={os.environ.get('GREETING', '')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Container", socket.gethostname())  # tells the bench a new container answers
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


print(f"sample-app {VERSION} listening on {os.environ['PORT']}")
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
