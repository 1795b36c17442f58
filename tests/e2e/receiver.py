"""A webhook receiver for the end-to-end check: verifies every request with the
PyPI `standardwebhooks` library, answers 500 to the first one and 200 after,
and appends one JSON line per request to the log file."""
import http.server
import json
import sys

from standardwebhooks.webhooks import Webhook

port, secret_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            with open(secret_file) as f:
                Webhook(f.read().strip()).verify(body, dict(self.headers))
            verified = True
        except Exception as e:  # noqa: BLE001 - any failure means "not verified"
            verified = repr(e)
        seen += 1
        status = 500 if seen == 1 else 200
        with open(log_file, "a") as f:
            f.write(json.dumps({"verified": verified, "status": status, "headers": dict(self.headers),
                                "body": body.decode()}) + "\n")
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"try again")

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
