"""A local HTTP server on 127.0.0.1 that serves a folder, with faults on request (HTTP errors,
truncated bodies), and a URL where nothing listens."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.path)
        for prefix, (code, remaining) in list(server.faults.items()):
            if self.path.startswith(prefix) and remaining != 0:
                server.faults[prefix] = (code, remaining - 1)
                if code == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    self.wfile.write(b"x" * 10)
                    return
                self.send_error(code)
                return
        super().do_GET()


class Server:
    def __init__(self, root: Path) -> None:
        handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.httpd.faults = {}
        self.root = root
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def fail(self, prefix: str, code: int | str, times: int = -1) -> None:
        """Answer requests under `prefix` with HTTP `code` (or 'truncate'), `times` times (-1: always)."""
        self.httpd.faults[prefix] = (code, times)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
