"""Verifies every DKIM-Signature of a message with dkimpy, the DNS answered from the records
named on the command line instead of a resolver. Prints one line per signature:
`<index> <a=> <s=> pass|fail`; exits 0 when there is at least one and all pass, else 1."""
import argparse, re, sys

import dkim

parser = argparse.ArgumentParser()
parser.add_argument("message", help="the message as received (a file)")
parser.add_argument("--record", action="append", default=[],
                    help="NAME=VALUE, e.g. s1._domainkey.example.org=v=DKIM1; k=rsa; p=...")
args = parser.parse_args()
records = {}
for item in args.record:
    name, value = item.split("=", 1)
    records[name.lower().rstrip(".")] = value.encode()


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    return records.get(name.lower().rstrip("."))


message = open(args.message, "rb").read()
header_block = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
signatures = re.findall(rb"(?im)^dkim-signature:(.*(?:\r?\n[ \t].*)*)", header_block)
verifier = dkim.DKIM(message)
results = []
for index, signature in enumerate(signatures):
    tags = dict(
        (key.strip(), value) for key, _, value in
        (part.partition(b"=") for part in re.sub(rb"\s+", b"", signature).split(b";")) if key.strip())
    try:
        ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
    except dkim.DKIMException as error:
        print(f"# {error}", file=sys.stderr)
        ok = False
    results.append(ok)
    print(index, tags.get(b"a", b"?").decode(), tags.get(b"s", b"?").decode(), "pass" if ok else "fail")
sys.exit(0 if results and all(results) else 1)
