"""Helpers for scripts/lambda-smoke.sh (standard library only, no jq, no boto3).

  render SRC DST [--key K] [--project-id P] [--webhook-id W] [--method M] [--path P] [--body JSON]
      Copies an API Gateway HTTP API (v2) fixture with the real credentials and ids put in.
  check NAME OUT --status N --envelope success|error [--field PATH=VALUE ...] [--prefix PATH=PREFIX ...]
        [--header NAME=VALUE ...] [--save NAME=PATH ...]
      Asserts on the output of `cargo lambda invoke` for an HTTP function. Saved values are
      printed as NAME=VALUE lines (for `eval`).
  check-batch NAME OUT --failures N
      Asserts on a delivery function answer (SqsBatchResponse).
  receiver PORT FILE
      A webhook receiver on 127.0.0.1:PORT that appends each request to FILE (JSON lines).
  sqs-event QUEUE_URL OUT --count N [--timeout S]
      Receives N messages from the queue (SQS JSON protocol, as moto serves it) and writes
      them as the SQS event that Lambda's event source mapping would send.
  sqs-delete QUEUE_URL EVENT
      Deletes the messages of an SQS event from the queue (what the mapping does on success).
  check-received NAME FILE SECRET --event-type T --count N
      Asserts that the receiver got N POSTs in all, each signed with SECRET (Standard Webhooks
      and X-Webhook-Signature), the newest one for event type T.
"""

import base64
import hashlib
import hmac
import json
import os
import shlex
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def fail(name, why):
    print(f"FAIL {name}: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


def opts(argv):
    """--flag value pairs; repeated flags collect into lists."""
    out = {}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if not flag.startswith("--") or i + 1 >= len(argv):
            sys.exit(f"bad argument: {flag}")
        out.setdefault(flag[2:], []).append(argv[i + 1])
        i += 2
    return out


def one(o, name, default=None):
    return o.get(name, [default])[-1]


def dig(value, path):
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(path)
    return value


# ---------------------------------------------------------------- render


def render(src, dst, *argv):
    o = opts(list(argv))
    with open(src) as f:
        ev = json.load(f)
    headers = ev.setdefault("headers", {})
    key = one(o, "key")
    if key:
        if "x-api-key" in headers:
            headers["x-api-key"] = key
        else:
            headers["authorization"] = f"Bearer {key}"
    path = ev["rawPath"]
    pid = one(o, "project-id")
    wh = one(o, "webhook-id")
    parts = path.split("/")
    if pid and parts[1:4] == ["api", "v1", "projects"] and len(parts) > 4:
        parts[4] = pid
    if wh and "webhooks" in parts and parts.index("webhooks") + 1 < len(parts):
        parts[parts.index("webhooks") + 1] = wh
    path = one(o, "path", "/".join(parts))
    ev["rawPath"] = path
    ev["requestContext"]["http"]["path"] = path
    params = ev.get("pathParameters")
    if params:
        if "proxy" in params:
            params["proxy"] = path.split("/api/v1/projects/", 1)[-1]
        if pid and "project_id" in params:
            params["project_id"] = pid
        if wh and "webhook_id" in params:
            params["webhook_id"] = wh
    method = one(o, "method")
    if method:
        ev["requestContext"]["http"]["method"] = method
    body = one(o, "body")
    if body is not None:
        if body == "":
            ev.pop("body", None)
            headers.pop("content-length", None)
            headers.pop("content-type", None)
        else:
            ev["body"] = body
            headers["content-length"] = str(len(body.encode()))
            headers["content-type"] = "application/json"
    with open(dst, "w") as f:
        json.dump(ev, f, indent=2)


# ---------------------------------------------------------------- checks


def load_output(name, out):
    with open(out) as f:
        text = f.read()
    try:
        # `cargo lambda invoke` prints the function's answer; take the JSON object in it.
        start = text.index("{")
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        fail(name, f"no JSON answer in the invoke output: {text.strip()[:500]!r}")


def check(name, out, *argv):
    o = opts(list(argv))
    resp = load_output(name, out)
    status = int(one(o, "status"))
    if resp.get("statusCode") != status:
        fail(name, f"statusCode {resp.get('statusCode')}, expected {status}; answer: {json.dumps(resp)[:800]}")
    headers = {k.lower(): v for k, v in (resp.get("headers") or {}).items()}
    if "application/json" not in headers.get("content-type", ""):
        fail(name, f"content-type {headers.get('content-type')!r} is not JSON")
    try:
        body = json.loads(resp.get("body") or "")
    except ValueError:
        fail(name, f"body is not JSON: {resp.get('body')!r}")
    envelope = one(o, "envelope")
    if body.get("status") != envelope:
        fail(name, f"envelope status {body.get('status')!r}, expected {envelope!r}; body: {json.dumps(body)[:800]}")
    if envelope == "success":
        if body.get("message") != "success" or "result" not in body:
            fail(name, f"not a success envelope: {json.dumps(body)[:800]}")
    elif not isinstance(body.get("message"), str) or not isinstance(body.get("errors"), list):
        fail(name, f"not an error envelope: {json.dumps(body)[:800]}")
    for spec in o.get("field", []):
        path, want = spec.split("=", 1)
        try:
            got = dig(body, path)
        except (KeyError, IndexError, ValueError):
            fail(name, f"{path} missing in {json.dumps(body)[:800]}")
        if (str(got).lower() if isinstance(got, bool) else str(got)) != want:
            fail(name, f"{path} is {got!r}, expected {want!r}")
    for spec in o.get("prefix", []):
        path, want = spec.split("=", 1)
        try:
            got = dig(body, path)
        except (KeyError, IndexError, ValueError):
            fail(name, f"{path} missing in {json.dumps(body)[:800]}")
        if not str(got).startswith(want):
            fail(name, f"{path} is {got!r}, expected it to start with {want!r}")
    for spec in o.get("header", []):
        hname, want = spec.split("=", 1)
        if headers.get(hname.lower()) != want:
            fail(name, f"header {hname} is {headers.get(hname.lower())!r}, expected {want!r}")
    for spec in o.get("save", []):
        var, path = spec.split("=", 1)
        print(f"{var}={shlex.quote(str(dig(body, path)))}")
    summary = f"{resp['statusCode']} {body['status']}"
    if envelope == "error":
        summary += f" ({body['message']})"
    print(f"ok   {name}: {summary}", file=sys.stderr, flush=True)


def check_batch(name, out, *argv):
    o = opts(list(argv))
    resp = load_output(name, out)
    if "batchItemFailures" not in resp:
        fail(name, f"not an SQS batch response: {json.dumps(resp)[:800]}")
    want = int(one(o, "failures"))
    got = len(resp["batchItemFailures"])
    if got != want:
        fail(name, f"{got} batch item failures, expected {want}: {json.dumps(resp)[:800]}")
    print(f"ok   {name}: batchItemFailures={json.dumps(resp['batchItemFailures'])}", file=sys.stderr, flush=True)


def check_sweep(name, out, *argv):
    resp = load_output(name, out)
    if not all(k in resp for k in ("redriven", "kept", "requeued")):
        fail(name, f"not a repair sweep report: {json.dumps(resp)[:800]}")
    print(f"ok   {name}: {json.dumps(resp)}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- receiver


def receiver(port, path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            record = {
                "method": "POST",
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, fmt, *args):
            sys.stderr.write("receiver: " + (fmt % args) + "\n")

    open(path, "a").close()
    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


# ---------------------------------------------------------------- SQS (JSON protocol)


def sqs(queue_url, action, payload):
    endpoint = queue_url.split("/", 3)
    req = urllib.request.Request(
        f"{endpoint[0]}//{endpoint[2]}/",
        data=json.dumps(dict(payload, QueueUrl=queue_url)).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{action}",
            # moto does not check signatures; a well-formed header keeps it on the JSON path.
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def sqs_event(queue_url, out, *argv):
    o = opts(list(argv))
    count = int(one(o, "count"))
    deadline = time.time() + float(one(o, "timeout", "20"))
    region = os.environ.get("AWS_REGION", "us-east-1")
    account, name = queue_url.rstrip("/").split("/")[-2:]
    records = []
    while len(records) < count and time.time() < deadline:
        answer = sqs(
            queue_url,
            "ReceiveMessage",
            {
                "MaxNumberOfMessages": min(10, count - len(records)),
                "WaitTimeSeconds": 1,
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            },
        )
        for m in answer.get("Messages", []):
            records.append(
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{region}:{account}:{name}",
                    "awsRegion": region,
                }
            )
    if len(records) != count:
        fail("sqs", f"received {len(records)} message(s) from {name}, expected {count}")
    with open(out, "w") as f:
        json.dump({"Records": records}, f, indent=2)
    print(f"ok   received {count} message(s) from {name}", file=sys.stderr, flush=True)


def sqs_delete(queue_url, event):
    with open(event) as f:
        records = json.load(f)["Records"]
    for r in records:
        sqs(queue_url, "DeleteMessage", {"ReceiptHandle": r["receiptHandle"]})


# ---------------------------------------------------------------- signatures


def check_received(name, path, secret, *argv):
    o = opts(list(argv))
    want = int(one(o, "count"))
    event_type = one(o, "event-type")
    deadline = time.time() + 10
    lines = []
    while time.time() < deadline:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) >= want:
            break
        time.sleep(0.2)
    if len(lines) != want:
        fail(name, f"receiver got {len(lines)} request(s), expected {want}")
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    for rec in lines:
        h = rec["headers"]
        body = rec["body"]
        for needed in ("webhook-id", "webhook-timestamp", "webhook-signature", "x-webhook-signature"):
            if needed not in h:
                fail(name, f"header {needed} missing; got {sorted(h)}")
        if not h["webhook-id"].startswith("msg_"):
            fail(name, f"webhook-id {h['webhook-id']!r} is not a delivery id")
        signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.{body}".encode()
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if expected not in h["webhook-signature"].split(" "):
            fail(name, "webhook-signature does not verify with the webhook's secret")
        hex_sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        if h["x-webhook-signature"] != hex_sig:
            fail(name, "X-Webhook-Signature does not verify with the webhook's secret")
    newest = lines[-1]
    payload = json.loads(newest["body"])
    if payload.get("event") != event_type or newest["headers"].get("x-webhook-event") != event_type:
        fail(name, f"newest payload is for {payload.get('event')!r}, expected {event_type!r}")
    if len({r["headers"]["webhook-id"] for r in lines}) != len(lines):
        fail(name, "the same webhook-id was delivered twice")
    print(
        f"ok   {name}: {len(lines)} signed POST(s) so far, newest {event_type} with webhook-id "
        f"{newest['headers']['webhook-id']}",
        file=sys.stderr,
        flush=True,
    )


COMMANDS = {
    "render": render,
    "check": check,
    "check-batch": check_batch,
    "receiver": receiver,
    "sqs-event": sqs_event,
    "check-sweep": check_sweep,
    "sqs-delete": sqs_delete,
    "check-received": check_received,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
