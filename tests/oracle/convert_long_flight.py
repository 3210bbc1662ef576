#!/usr/bin/env python3
"""Derive testdata/long_flight.csv (skyfence `raw` format) from rs1090's data/long_flight.csv.

rs1090 ships its recording as `UNIX_SECONDS,BEAST_HEX` lines without a header, where
BEAST_HEX is one unescaped Beast message: `1a`, the type byte (`32` = Mode S short,
`33` = Mode S long), the 6-byte 12 MHz receiver counter, the signal byte and then the
Mode S frame. skyfence's `raw` input wants `TIMESTAMP,HEX` with only the Mode S frame,
so this keeps the timestamp text untouched and drops the first 18 hex digits
(2 + 2 + 12 + 2). Nothing else changes: same lines, same order, same frames.

Usage: convert_long_flight.py SRC DST
"""

import sys

BEAST_PREFIX_HEX = 18
EXPECTED_TYPES = {"1a32": 14, "1a33": 28}


def convert(src: str, dst: str) -> int:
    count = 0
    with open(src, encoding="ascii") as inp, open(dst, "w", encoding="ascii", newline="\n") as out:
        out.write("timestamp,rawmsg\n")
        for number, line in enumerate(inp, start=1):
            line = line.strip()
            if not line:
                continue
            ts, beast = line.split(",")
            frame = beast[BEAST_PREFIX_HEX:]
            want = EXPECTED_TYPES.get(beast[:4])
            if want is None or len(frame) != want:
                raise SystemExit(f"{src}:{number}: unexpected beast message {beast!r}")
            float(ts)  # must be a number
            out.write(f"{ts},{frame}\n")
            count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    n = convert(sys.argv[1], sys.argv[2])
    print(f"wrote {n} frames to {sys.argv[2]}")
