#!/usr/bin/env python3
"""st_tensor.py — one tensor of a safetensors file (F32 or I64), for the script tests; standard library only.

As a module: tensor(path, name) -> (dtype, shape, flat list of its numbers).
As a command: `st_tensor.py FILE NAME DTYPE DIM...` prints the tensor one row (last dimension) a line, after
checking its dtype and shape (exit 1 naming what differs), e.g. the golden ref_codes I64 43 16 as 43 lines of
16 codes.
"""
import json
import struct
import sys

FORMATS = {"F32": "f", "I64": "q"}


def tensor(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        t = json.loads(f.read(n))[name]
        a, b = t["data_offsets"]
        f.seek(8 + n + a)
        raw = f.read(b - a)
    fmt = FORMATS[t["dtype"]]
    return t["dtype"], t["shape"], list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))


if __name__ == "__main__":
    path, name, want_dtype, want_shape = sys.argv[1], sys.argv[2], sys.argv[3], [int(d) for d in sys.argv[4:]]
    dtype, shape, values = tensor(path, name)
    if dtype != want_dtype or shape != want_shape:
        sys.exit("%s: %s is %s %s, expected %s %s" % (path, name, dtype, shape, want_dtype, want_shape))
    row = shape[-1]
    for r in range(0, len(values), row):
        print(" ".join(str(x) for x in values[r:r + row]))
