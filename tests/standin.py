"""A stand-in HTTP service on 127.0.0.1 for the services the emitted code talks to (a remote
tier, an OTLP receiver, Triton's KServe v2 endpoints, the Prometheus and Greengrass APIs).

`respond(method, path, headers, body) -> (status, json document)`, or `(status, bytes, headers)`
for a raw answer; every request is recorded.
Stopping it and starting it again on the same port is how the tests cut and restore an uplink.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    def __init__(self, respond, port: int = 0):
        self.requests: list[tuple[str, str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.command, self.path, body))
                status, doc, *extra = respond(self.command, self.path, self.headers, body)
                data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                headers = extra[0] if extra else {"Content-Type": "application/json"}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _any

        self.handler = Handler
        self.start(port)

    def start(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self.handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
