"""A webhook receiver for the tests: verifies each request's Standard Webhooks signature with
the standardwebhooks package and appends one JSON line per request to --log (id, type, the
body's data, whether it verified). Prints its port, then serves until killed.

--die-after N: on the Nth request, log it and exit at once without answering, as a receiver
killed mid-request: the sender must deliver it again, with the same webhook-id."""
import argparse, http.server, json, os, socket, sys, threading, time

from standardwebhooks.webhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--secret", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--die-after", type=int, default=0)
parser.add_argument("--status", type=int, default=204, help="the status every verified request gets")
args = parser.parse_args()
verifier = Webhook(args.secret)
lock = threading.Lock()
count = 0
log = open(args.log, "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = verifier.verify(body, headers)
            line = {"id": headers["webhook-id"], "type": payload["type"], "data": payload["data"], "verified": True,
                    "timestamp": payload["timestamp"], "received_at": time.time()}
        except Exception as error:
            line = {"id": headers.get("webhook-id"), "verified": False, "error": str(error)}
        with lock:
            count += 1
            log.write(json.dumps(line) + "\n")
            log.flush()
            if args.die_after and count == args.die_after:
                os._exit(1)
        self.send_response(args.status if line["verified"] else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", args.port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
