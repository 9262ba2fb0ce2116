"""A DNS server for one test: answers TXT queries for the names given on the command line
(NAME=VALUE, the value split into strings of at most 255 bytes) and NXDOMAIN for anything
else, over UDP and TCP. Prints "ready" once it listens, then serves until killed."""
import socket, struct, sys, threading

host, port = sys.argv[1], int(sys.argv[2])
records = {}
for item in sys.argv[3:]:
    name, value = item.split("=", 1)
    records[name.lower().rstrip(".")] = value.encode()


def answer(query):
    ident, flags, qdcount = struct.unpack(">HHH", query[:6])
    offset, labels = 12, []
    while query[offset]:
        length = query[offset]
        labels.append(query[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype, qclass = struct.unpack(">HH", query[offset + 1:offset + 5])
    question = query[12:offset + 5]
    value = records.get(".".join(labels).lower())
    found = value is not None and qtype in (16, 255)
    rcode = 0 if value is not None else 3
    header = struct.pack(">HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, 1 if found else 0, 0, 0)
    if not found:
        return header + question, question
    strings = b"".join(bytes([len(chunk)]) + chunk for chunk in (value[i:i + 255] for i in range(0, len(value), 255)))
    return header + question + struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(strings)) + strings, question


udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((host, port))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((host, port))
tcp.listen(8)


def serve_tcp():
    while True:
        connection, _ = tcp.accept()
        with connection:
            length = struct.unpack(">H", connection.recv(2))[0]
            query = b""
            while len(query) < length:
                query += connection.recv(length - len(query))
            reply, _ = answer(query)
            connection.sendall(struct.pack(">H", len(reply)) + reply)


threading.Thread(target=serve_tcp, daemon=True).start()
print("ready", flush=True)
while True:
    query, client = udp.recvfrom(4096)
    reply, question = answer(query)
    if len(reply) > 512:  # too big for plain UDP: truncated (TC), the client asks again over TCP
        ident, flags = struct.unpack(">HH", reply[:4])
        reply = struct.pack(">HHHHHH", ident, flags | 0x0200, 1, 0, 0, 0) + question
    udp.sendto(reply, client)
