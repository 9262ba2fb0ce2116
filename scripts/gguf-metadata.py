#!/usr/bin/env python3
"""Reads a GGUF file's header and prints what identifies the model, one `key=value` a line:

    general.architecture=qwen2
    general.name=Qwen2.5 Coder 1.5B Instruct GGUF
    general.file_type=15
    tokenizer.chat_template=present (2507 chars)

With `--expect KEY=VALUE` (repeatable) it exits 1 naming every key whose value differs, so
scripts/build-runtime.sh can refuse a file that is not the model it pinned even when a hash was
pinned wrongly. `--expect tokenizer.chat_template=present` checks the template exists.

Only the header is read (the key/value section); tensor data is never touched. No dependencies:
the format is the one llama.cpp's gguf.py writes (version 2 and 3, little-endian).
"""
import struct
import sys

SHOWN = ["general.architecture", "general.name", "general.file_type", "general.quantization_version",
         "general.size_label", "general.finetune", "tokenizer.chat_template"]

# GGUF value types: (struct format, size) for the fixed-size ones.
FIXED = {0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4), 6: ("<f", 4),
         7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8)}
STRING, ARRAY = 8, 9


class Reader:
    def __init__(self, handle):
        self.handle = handle

    def take(self, size):
        data = self.handle.read(size)
        if len(data) != size:
            raise ValueError("the file ends inside its GGUF header")
        return data

    def unpack(self, fmt, size):
        return struct.unpack(fmt, self.take(size))[0]

    def string(self):
        length = self.unpack("<Q", 8)
        if length > 1 << 26:
            raise ValueError(f"a header string of {length} bytes: not a sane GGUF header")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, kind):
        if kind in FIXED:
            return self.unpack(*FIXED[kind])
        if kind == STRING:
            return self.string()
        if kind == ARRAY:
            inner = self.unpack("<I", 4)
            count = self.unpack("<Q", 8)
            if inner in FIXED:  # skip the elements without decoding them
                self.handle.seek(FIXED[inner][1] * count, 1)
            else:
                for _ in range(count):
                    self.value(inner)
            return f"array of {count}"
        raise ValueError(f"unknown GGUF value type {kind}")


def metadata(path):
    with open(path, "rb") as handle:
        reader = Reader(handle)
        magic = reader.take(4)
        if magic != b"GGUF":
            raise ValueError(f"invalid magic {magic!r}, expected b'GGUF'")
        version = reader.unpack("<I", 4)
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version}, expected 2 or 3")
        reader.unpack("<Q", 8)  # tensor count
        kv_count = reader.unpack("<Q", 8)
        values = {"gguf.version": version}
        for _ in range(kv_count):
            key = reader.string()
            values[key] = reader.value(reader.unpack("<I", 4))
        return values


def shown(key, value):
    if key == "tokenizer.chat_template":
        return f"present ({len(value)} chars)" if value else "absent"
    return str(value)


def main(argv):
    expectations = []
    paths = []
    args = iter(argv)
    for arg in args:
        if arg == "--expect":
            key, _, value = next(args, "").partition("=")
            expectations.append((key, value))
        else:
            paths.append(arg)
    if len(paths) != 1:
        print("usage: gguf-metadata.py FILE [--expect KEY=VALUE]...", file=sys.stderr)
        return 2
    try:
        values = metadata(paths[0])
    except (OSError, ValueError) as error:
        print(f"gguf-metadata: {paths[0]}: {error}", file=sys.stderr)
        return 1
    for key in SHOWN:
        if key == "tokenizer.chat_template" or key in values:
            print(f"{key}={shown(key, values.get(key))}")
    wrong = []
    for key, expected in expectations:
        actual = values.get(key)
        if key == "tokenizer.chat_template" and expected == "present":
            ok = bool(actual)
        else:
            ok = actual is not None and str(actual) == expected
        if not ok:
            found = shown(key, actual) if actual is not None or key == "tokenizer.chat_template" else "missing"
            wrong.append(f"{key} is {found}, expected {expected}")
    for line in wrong:
        print(f"gguf-metadata: {paths[0]}: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
