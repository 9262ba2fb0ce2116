"""An SMTP peer for `make reliability` that misbehaves on purpose, where Postfix's smtp-sink
cannot: per-recipient refusals by percentage and connections dropped mid-conversation.

- RCPT: a fixed set of addresses (chosen by hash, so every retry sees the same answer) gets
  550; otherwise a random share gets 451; another random share has the connection dropped
  before the reply.
- DATA: the message is stored (one line per recipient: address, Message-ID), then a random
  share of connections is dropped before the 250, as a server that crashes after queueing does.

Writes its port to standard output, then serves until killed."""
import argparse, hashlib, pathlib, random, re, socket, time

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True, help="one line per delivered copy: recipient<TAB>message-id")
parser.add_argument("--refused", required=True, help="one line per 550: recipient")
parser.add_argument("--faults", required=True, help="one line per fault injected: 451, drop-rcpt or drop-data")
parser.add_argument("--temporary", type=float, default=0.10, help="share of RCPTs answered 451")
parser.add_argument("--permanent", type=float, default=0.01, help="share of addresses always answered 550")
parser.add_argument("--drop", type=float, default=0.02, help="share of RCPTs and of DATAs whose connection drops")
parser.add_argument("--seed", type=int, default=7)
args = parser.parse_args()
random.seed(args.seed)
delivered = open(args.log, "a", buffering=1)
refused = open(args.refused, "a", buffering=1)
faults = open(args.faults, "a", buffering=1)
message_id = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def always_refused(address):
    digest = int.from_bytes(hashlib.sha256(address.lower().encode()).digest()[:4], "big")
    return digest % 10000 < args.permanent * 10000


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if always_refused(address):
            refused.write(address + "\n")
            return "550 5.1.1 <%s>: recipient unknown (reliability suite)" % address
        draw = random.random()
        if draw < args.temporary:
            faults.write("451\n")
            return "451 4.3.0 try again later (reliability suite)"
        if draw < args.temporary + args.drop:
            faults.write("drop-rcpt\n")
            server.transport.close()
            return "421 4.4.2 connection dropped (reliability suite)"  # never reaches the client
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        header = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = message_id.search(header)
        ident = found.group(1).decode() if found else "-"
        for rcpt in envelope.rcpt_tos:
            delivered.write(f"{rcpt}\t{ident}\n")
        if random.random() < args.drop:
            faults.write("drop-data\n")
            server.transport.close()  # queued, but the 250 is lost
        return "250 2.0.0 queued"


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=10 << 20)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
