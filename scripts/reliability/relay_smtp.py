"""A plain SMTP relay on loopback for the relay tests (RelayFailoverTests) and `make reliability`'s
three-relay row (aiosmtpd): takes every message, except that it refuses the recipients named
with --refuse (550 5.1.1), and answers MAIL FROM with 421 while the file --busy-while exists.
Each delivered copy is one line of --log (recipient, Message-ID, this relay's --name), written
before the 250, as a relay that queues it does. Prints its port, then serves until killed."""
import argparse, os, re, socket, time

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="relay")
parser.add_argument("--log", help="one line per delivered copy: recipient<TAB>message-id<TAB>name")
parser.add_argument("--refuse", action="append", default=[], help="a recipient answered 550")
parser.add_argument("--busy-while", help="421 to MAIL FROM while this file exists")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()
log = open(args.log, "a", buffering=1) if args.log else None
refused = {address.lower() for address in args.refuse}
message_id = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Handler:
    async def handle_MAIL(self, server, session, envelope, address, options):
        if args.busy_while and os.path.exists(args.busy_while):
            return "421 4.3.2 too busy, try another relay (relay tests)"
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.lower() in refused:
            return "550 5.1.1 <%s>: recipient unknown (relay tests)" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        header = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = message_id.search(header)
        ident = found.group(1).decode() if found else "-"
        if log:
            for rcpt in envelope.rcpt_tos:
                log.write(f"{rcpt}\t{ident}\t{args.name}\n")
        return "250 2.0.0 OK"


port = args.port
if not port:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
