"""SendGrid-style signed event batches for `make bench-serve`.

  key PATH                      makes a P-256 key at PATH, prints its public key (base64 DER)
  batches PATH OUT N EVENTS ADDRESS
                                writes N batches of EVENTS events about ADDRESS to OUT, one a line:
                                timestamp, tab, base64 signature, tab, the JSON body; each event
                                with an id of its own, signed now as SendGrid signs
"""
import base64
import json
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def make_key(path):
    key = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    print(base64.b64encode(der).decode())


def make_batches(path, out, count, events, address):
    with open(path, "rb") as source:
        key = serialization.load_pem_private_key(source.read(), password=None)
    # Most events in a provider's stream are deliveries; some refusals; some engagement.
    kinds = [{"event": "delivered", "response": "250 2.0.0 OK"}] * 7 + [
        {"event": "bounce", "type": "blocked", "status": "5.7.1", "reason": "554 5.7.1 blocked"}] * 2 + [
        {"event": "open"}]
    with open(out, "w") as lines:
        for _ in range(count):
            batch = []
            for index in range(events):
                event = {"email": address, "timestamp": int(time.time()), "sg_event_id": uuid.uuid4().hex}
                event.update(kinds[index % len(kinds)])
                batch.append(event)
            body = json.dumps(batch, separators=(",", ":"))
            stamp = str(int(time.time()))
            signature = key.sign((stamp + body).encode(), ec.ECDSA(hashes.SHA256()))
            lines.write(stamp + "\t" + base64.b64encode(signature).decode() + "\t" + body + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "key":
        make_key(sys.argv[2])
    else:
        make_batches(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
