"""A webhook receiver for the end-to-end check: verifies every request with the
PyPI `standardwebhooks` library (a `whsec_` secret in the key file) or, for an
ed25519 webhook, its `v1a` signatures with PyPI `cryptography` (one `whpk_` public
key per line of the key file: each must verify one of the signatures), answers 500
to the first one and 200 after, and appends one JSON line per request to the log file."""
import base64
import http.server
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook


def verify_v1a(public_keys, body, headers):
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    sigs = [base64.b64decode(s[4:]) for s in headers["webhook-signature"].split(" ") if s.startswith("v1a,")]
    for pk in public_keys:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(pk.removeprefix("whpk_")))
        ok = False
        for sig in sigs:
            try:
                key.verify(sig, signed)
                ok = True
            except Exception:  # noqa: BLE001 - a signature by another key
                pass
        if not ok:
            raise ValueError(f"no v1a signature verifies with {pk}")

port, secret_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            with open(secret_file) as f:
                keys = f.read().split()
            if keys[0].startswith("whpk_"):
                verify_v1a(keys, body, {k.lower(): v for k, v in self.headers.items()})
            else:
                Webhook(keys[0]).verify(body, dict(self.headers))
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
