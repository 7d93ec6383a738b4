#!/usr/bin/env python3
"""The `aiscat` peer for tests/bench/decode.py: AIS-catcher's C++ decoder (PyPI `aiscat`) reading
NMEA on stdin and writing one JSON object a message on stdout, its `json` format (the whole
message, as AIS-catcher's own JSON output). Run with the venv decode.py makes."""
import sys

import aiscat


def main():
    dec = aiscat.Decoder(format="json")
    out = sys.stdout.buffer
    read = sys.stdin.buffer.read
    while True:
        data = read(1 << 16)
        if not data:
            break
        dec.feed(data)
        msg = dec.next()
        while msg is not None:
            out.write(msg)
            out.write(b"\n")
            msg = dec.next()


if __name__ == "__main__":
    main()
