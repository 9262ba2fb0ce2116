"""An SMTP server for the tests: STARTTLS required, AUTH required (over TLS only), every
accepted message written to a directory. Prints its port, then serves until killed."""
import argparse, pathlib, socket, ssl, sys, time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--user", required=True)
parser.add_argument("--password", required=True)
parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (smtps://)")
args = parser.parse_args()
out = pathlib.Path(args.dir)


class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        (out / f"{Handler.count}.eml").write_bytes(
            f"X-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n".encode() + envelope.original_content)
        return "250 2.0.0 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user \
        and auth_data.password.decode() == args.password
    return AuthResult(success=ok)


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(args.cert, args.key)
if args.implicit_tls:
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, ssl_context=context, auth_required=True,
        auth_require_tls=False, authenticator=authenticate, server_hostname="localhost")
else:
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        auth_required=True, auth_require_tls=True, authenticator=authenticate, server_hostname="localhost")
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
