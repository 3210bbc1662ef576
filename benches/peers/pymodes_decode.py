#!/usr/bin/env python3
"""Peer timing for BENCHMARKS.md: pyModeS 3 and rs1090 (Python bindings) decoding the
same recording as skyfence's decode bench (`testdata/long_flight.csv`), on one core.

pyModeS: `PipeDecoder.decode(msg, timestamp=ts)` per frame, its stateful streaming
decoder (fields + CPR pairing + local decoding), the same work as skyfence's `Decoder`.
rs1090: `rs1090.decode(msgs, timestamps)`, its batch API (Rust decoding in parallel
batches + CPR, results pickled back into Python dicts); RAYON_NUM_THREADS=1 is set
below so it runs on one core like the others.

Best of `--repeat` runs (default 3); prints frames per second.

Usage: benches/peers/pymodes_decode.py [testdata/long_flight.csv] [--repeat N]
"""

import argparse
import os
import platform
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")


def read_raw(path):
    stamps, frames = [], []
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("timestamp,"):
                continue
            ts, msg = line.split(",")
            stamps.append(float(ts))
            frames.append(msg)
    return stamps, frames


def time_pymodes(stamps, frames):
    import pyModeS

    pipe = pyModeS.PipeDecoder()
    started = time.perf_counter()
    for ts, msg in zip(stamps, frames):
        pipe.decode(msg, timestamp=ts)
    return time.perf_counter() - started, f"pyModeS {pyModeS.__version__}"


def time_rs1090(stamps, frames):
    import importlib.metadata

    import rs1090

    started = time.perf_counter()
    rs1090.decode(frames, stamps)
    return time.perf_counter() - started, f"rs1090 {importlib.metadata.version('rs1090')} (Python)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", default="testdata/long_flight.csv")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stamps, frames = read_raw(args.input)
    print(f"{args.input}: {len(frames)} frames; Python {platform.python_version()}")
    for fn in (time_pymodes, time_rs1090):
        best, label = min(fn(stamps, frames) for _ in range(args.repeat))
        print(f"{label:<28} {best:8.3f} s  {len(frames) / best:>12,.0f} frames/s")


if __name__ == "__main__":
    main()
