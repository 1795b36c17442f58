"""Dev proxy for the dashboard: serves dashboard/ from disk (no rebuild of the stack after an edit)
and forwards /api/ to a running stack, on one origin, with the dashboard's security headers.

    python3 tests/browser/dev_proxy.py 8099 http://127.0.0.1:3000

Then HOOKLINE_URL=http://127.0.0.1:8099 HOOKLINE_DASHBOARD_URL=http://127.0.0.1:8099/dashboard/ \
HOOKLINE_ADMIN_TOKEN=… tests/browser/run.sh …  (frame-ancestors allows every loopback origin, as the
local stack does.)
"""
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "dashboard"
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
UPSTREAM = (sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:3000").rstrip("/")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _file(self):
        path = self.path.split("?")[0].split("#")[0]
        if path == "/dashboard":
            self.send_response(301)
            self.send_header("Location", "/dashboard/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rel = path[len("/dashboard/"):] or "index.html"
        f = (ROOT / rel).resolve()
        if ROOT not in f.parents or not f.is_file() or f.suffix not in TYPES:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", TYPES[f.suffix])
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _proxy(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        # Portal URLs are made from the host the request came in on: this proxy's, not the stack's.
        if self.headers.get("Host"):
            headers["X-Forwarded-Host"] = self.headers["Host"]
        req = urllib.request.Request(UPSTREAM + self.path, data=data, method=self.command, headers=headers)
        try:
            r = urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as e:
            r = e
        body = r.read()
        self.send_response(r.status if hasattr(r, "status") else r.code)
        for k, v in r.headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self):
        if self.path.startswith("/dashboard"):
            self._file()
        else:
            self._proxy()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
