"""A directory served over https on loopback, for the SNS certificate tests: prints its port,
then appends each request's path to --log, one a line."""
import argparse
import functools
import http.server
import ssl
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        with open(args.log, "a") as log:
            log.write(self.path + "\n")
        super().do_GET()

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=args.dir))
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
