#!/usr/bin/env python3
"""Differential test: `skyfence decode` against pyModeS 3 and rs1090 on a real recording.

Decodes every frame of a `raw` recording (`TIMESTAMP,HEX` lines) three times:

- with skyfence (`skyfence decode --input raw:PATH`, one JSON object per accepted
  message, INTERFACES.md "Decoded message");
- with pyModeS 3 (`pyModeS.PipeDecoder`, its stateful streaming decoder: even/odd pairs
  within 10 s, local decoding against the last accepted position, a three-fix
  bootstrap before it trusts a track);
- with rs1090's Python bindings (`rs1090.decode(msgs, timestamps)`, which also pairs
  even/odd frames per aircraft).

Each skyfence message is joined to the input line it came from (skyfence prints a
subsequence of the input, in order; the join uses the timestamp, the address and the
downlink format). Every field that both skyfence and an oracle produce for the same
frame must agree:

| field                          | tolerance            |
|--------------------------------|----------------------|
| icao24, df, tc, cpr, squawk    | equal                |
| callsign, category             | equal                |
| nacp, adsb_version             | equal                |
| alt_ft, alt_geom_ft, vrate_fpm | equal                |
| gs_kt                          | 0.5 kt               |
| track_deg                      | 0.1 degree (circular)|
| lat, lon                       | 1e-4 degree          |

skyfence must resolve at least as many positions as each oracle, and every field the
recording carries must have been compared at least once. Fields only one side
produces are counted and printed but are not errors: the decoders legitimately differ
in what they accept (skyfence admits DF0/4/5/16/20/21 only from addresses already seen
in DF11/17/18; pyModeS decodes Comm-B registers skyfence does not print).

NACp (`nacp`) comes from operational status (TC 31, BDS 6,5) of ADS-B version 1 or 2
and from target state and status (TC 29, BDS 6,2) subtype 1. pyModeS 3.6.1 reports a
`nac_p` for every TC 31 frame, version 0 included, and for TC 29 subtype 0 too; in
version 0 (DO-260) those bits are not NACp, and TC 29 subtype 0 (DO-260A) is a layout
skyfence does not decode (none in the recording), so the oracle side is read under the same rules (the
version of the frame itself decides). `adsb_version` is the TC 31 version field.

Velocities are compared for DF17/18 only: the oracles also infer speeds from Comm-B
(DF20/21 BDS 5,0) by heuristics, which is not the same quantity.

Prints the agreement figures; exits 0 when everything agrees, 1 on any disagreement
beyond tolerance or a failed requirement, 2 when a tool is missing or fails.

Usage: compare_pymodes.py --skyfence BIN [--input testdata/long_flight.csv]
                          [--oracle pymodes,rs1090] [--show N]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime

FIELDS = (
    "icao24",
    "df",
    "tc",
    "callsign",
    "category",
    "lat",
    "lon",
    "alt_ft",
    "alt_geom_ft",
    "gs_kt",
    "track_deg",
    "vrate_fpm",
    "squawk",
    "cpr",
    "nacp",
    "adsb_version",
)

# Absolute tolerances for numeric fields; anything not listed must be equal.
TOLERANCE = {
    "lat": 1e-4,
    "lon": 1e-4,
    "gs_kt": 0.5,
    "track_deg": 0.1,
}

# Fields the recording carries: each must be compared at least once against each
# oracle, so a decoder that stopped printing one cannot pass by comparing nothing.
REQUIRED_FIELDS = (
    "icao24",
    "df",
    "tc",
    "callsign",
    "category",
    "lat",
    "lon",
    "alt_ft",
    "gs_kt",
    "track_deg",
    "vrate_fpm",
    "squawk",
    "cpr",
    "nacp",
    "adsb_version",
)

# Emitter category set letter by ADS-B type code (DO-260B §2.2.3.2.5.2): TC 4 = set A,
# 3 = B, 2 = C, 1 = D; written with the category number the way readsb does ("A3").
CATEGORY_SET = {4: "A", 3: "B", 2: "C", 1: "D"}

# A skyfence message joins the input line with the same address and downlink format
# whose timestamp is within this many seconds (skyfence prints at least milliseconds).
JOIN_TOLERANCE_S = 0.0011


def read_raw(path: str) -> tuple[list[float], list[str]]:
    """Reads a `raw` recording: optional `timestamp,rawmsg` header, `#` comments."""
    stamps: list[float] = []
    frames: list[str] = []
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("timestamp,"):
                continue
            ts, hexmsg = line.split(",")
            stamps.append(float(ts))
            frames.append(hexmsg.lower())
    return stamps, frames


def run_skyfence(binary: str, path: str) -> tuple[list[dict], str, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [binary, "decode", "--input", f"raw:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"error: skyfence decode exited with status {proc.returncode}")
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return messages, proc.stderr, elapsed


def at_seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def category_of(tc: int | None, number: int | None) -> str | None:
    if tc is None or number is None or tc not in CATEGORY_SET:
        return None
    return f"{CATEGORY_SET[tc]}{number}"


def pymodes_fields(r: dict) -> dict:
    """pyModeS 3 result dict → skyfence field names."""
    out: dict = {}
    if "error" in r:
        return out
    df = r.get("df")
    out["df"] = df
    if r.get("icao"):
        out["icao24"] = r["icao"].lower()
    tc = r.get("typecode")
    if df in (17, 18) and tc is not None:
        out["tc"] = tc
    if r.get("callsign") is not None:
        out["callsign"] = r["callsign"].strip().rstrip("_")
    if df in (17, 18) and r.get("bds") == "0,8":
        out["category"] = category_of(tc, r.get("category"))
    if r.get("latitude") is not None and r.get("longitude") is not None:
        out["lat"] = r["latitude"]
        out["lon"] = r["longitude"]
    alt = r.get("altitude")
    if alt is not None:
        if df in (17, 18) and tc is not None and 20 <= tc <= 22:
            out["alt_geom_ft"] = alt
        else:
            out["alt_ft"] = alt
    if df in (17, 18) and r.get("bds") in ("0,9", "0,6"):
        if r.get("groundspeed") is not None:
            out["gs_kt"] = r["groundspeed"]
        if r.get("track") is not None:
            out["track_deg"] = r["track"]
        if r.get("vertical_rate") is not None:
            out["vrate_fpm"] = r["vertical_rate"]
    if r.get("squawk") is not None:
        out["squawk"] = str(r["squawk"])
    if r.get("cpr_format") is not None:
        out["cpr"] = "odd" if r["cpr_format"] == 1 else "even"
    if df in (17, 18) and r.get("bds") == "6,5" and r.get("subtype") in (0, 1):
        out["adsb_version"] = r.get("version")
        if (r.get("version") or 0) >= 1:
            out["nacp"] = r.get("nac_p")
    if df in (17, 18) and r.get("bds") == "6,2" and r.get("subtype") == 1:
        out["nacp"] = r.get("nac_p")
    return {k: v for k, v in out.items() if v is not None}


def rs1090_fields(r: dict) -> dict:
    """rs1090 result dict → skyfence field names."""
    out: dict = {}
    try:
        df = int(r.get("df"))
    except (TypeError, ValueError):
        return out
    out["df"] = df
    if r.get("icao24"):
        out["icao24"] = r["icao24"].lower()
    if df in (17, 18) and isinstance(r.get("tc"), int):
        out["tc"] = r["tc"]
    if r.get("callsign") is not None:
        out["callsign"] = r["callsign"].strip().rstrip("_")
    if r.get("latitude") is not None and r.get("longitude") is not None:
        out["lat"] = r["latitude"]
        out["lon"] = r["longitude"]
    alt = r.get("altitude")
    if alt is not None:
        if r.get("source") == "GNSS":
            out["alt_geom_ft"] = alt
        else:
            out["alt_ft"] = alt
    if df in (17, 18) and r.get("bds") in ("09", "06"):
        if r.get("groundspeed") is not None:
            out["gs_kt"] = r["groundspeed"]
        if r.get("track") is not None:
            out["track_deg"] = r["track"]
        if r.get("vertical_rate") is not None:
            out["vrate_fpm"] = r["vertical_rate"]
    if r.get("squawk") is not None:
        out["squawk"] = str(r["squawk"])
    if r.get("parity") in ("even", "odd"):
        out["cpr"] = r["parity"]
    if df in (17, 18) and r.get("bds") == "65":
        out["adsb_version"] = r.get("version")
        if (r.get("version") or 0) >= 1:
            out["nacp"] = r.get("NACp")
    if df in (17, 18) and r.get("bds") == "62":
        out["nacp"] = r.get("NACp")
    return {k: v for k, v in out.items() if v is not None}


def decode_pymodes(stamps: list[float], frames: list[str]) -> tuple[list[dict], str, float]:
    import pyModeS

    pipe = pyModeS.PipeDecoder()
    started = time.perf_counter()
    # Each result is copied as soon as it is returned: PipeDecoder later writes the
    # position resolved for a newer frame into the dict of the older frame it paired
    # with, so only the copy says what pyModeS decoded for this frame when it arrived,
    # which is what skyfence prints.
    results = [dict(pipe.decode(msg, timestamp=ts)) for ts, msg in zip(stamps, frames)]
    elapsed = time.perf_counter() - started
    return [pymodes_fields(r) for r in results], f"pyModeS {pyModeS.__version__}", elapsed


def decode_rs1090(stamps: list[float], frames: list[str]) -> tuple[list[dict], str, float]:
    import importlib.metadata

    import rs1090

    started = time.perf_counter()
    results = rs1090.decode(frames, stamps)
    elapsed = time.perf_counter() - started
    version = importlib.metadata.version("rs1090")
    return [rs1090_fields(r) for r in results], f"rs1090 {version}", elapsed


ORACLES = {"pymodes": decode_pymodes, "rs1090": decode_rs1090}


def crc24(data: bytes) -> int:
    """Mode S parity (ICAO Annex 10 Vol IV §3.1.2.3.3, generator 0x1FFF409), bitwise."""
    crc = 0
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1FFF409
    return crc & 0xFFFFFF


def frame_key(hexmsg: str) -> tuple[int, str]:
    """Downlink format and address of a frame, computed here so the join needs no oracle:
    the AA field for DF11/17/18, the address recovered from the parity otherwise."""
    data = bytes.fromhex(hexmsg)
    df = data[0] >> 3
    if df in (11, 17, 18):
        address = int.from_bytes(data[1:4], "big")
    else:
        address = crc24(data[:-3]) ^ int.from_bytes(data[-3:], "big")
    return df, f"{address:06x}"


def join(stamps: list[float], frames: list[str], messages: list[dict]) -> list[int]:
    """Input line index of each skyfence message (messages are an ordered subsequence)."""
    lines: list[int] = []
    i = 0
    for n, m in enumerate(messages):
        at = at_seconds(m["at"])
        icao = m.get("icao24")
        df = m.get("df")
        j = i
        while j < len(stamps):
            if stamps[j] - at > JOIN_TOLERANCE_S:
                j = len(stamps)
                break
            if abs(stamps[j] - at) <= JOIN_TOLERANCE_S:
                fdf, faddr = frame_key(frames[j])
                if faddr == icao and (df is None or fdf == df):
                    break
            j += 1
        if j >= len(stamps):
            raise SystemExit(
                f"error: skyfence message {n + 1} ({json.dumps(m)}) matches no input frame "
                f"after line {i + 1}"
            )
        lines.append(j)
        i = j + 1
    return lines


def agree(name: str, ours, theirs, oracle: str) -> bool:
    if name == "gs_kt" and oracle.startswith("pyModeS") and isinstance(theirs, int):
        # pyModeS truncates the airborne ground speed to whole knots
        # (`int(sqrt(vx**2 + vy**2))` in its bds09.py); accept the truncated value.
        if int(float(ours) + 1e-9) == theirs:
            return True
    if name == "track_deg":
        d = abs(float(ours) - float(theirs)) % 360.0
        return min(d, 360.0 - d) <= TOLERANCE[name] + 1e-9
    if name in TOLERANCE:
        return abs(float(ours) - float(theirs)) <= TOLERANCE[name] + 1e-9
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return math.isclose(float(ours), float(theirs), abs_tol=1e-9)
    return ours == theirs


@dataclass
class FieldStats:
    compared: int = 0
    mismatches: int = 0
    only_skyfence: int = 0
    only_oracle: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Report:
    oracle: str
    seconds: float
    fields: dict[str, FieldStats]
    positions_oracle: int
    positions_skyfence: int
    positions_both: int
    messages_joined: int
    oracle_frames_decoded: int

    @property
    def mismatches(self) -> int:
        return sum(s.mismatches for s in self.fields.values())

    @property
    def compared(self) -> int:
        return sum(s.compared for s in self.fields.values())


def compare(
    stamps: list[float],
    frames: list[str],
    oracle_name: str,
    oracle: list[dict],
    seconds: float,
    messages: list[dict],
    lines: list[int],
    show: int,
) -> Report:
    stats = {f: FieldStats() for f in FIELDS}
    ours_by_line = dict(zip(lines, messages))
    for line, theirs in enumerate(oracle):
        ours = ours_by_line.get(line)
        for name in FIELDS:
            have_theirs = name in theirs
            have_ours = ours is not None and name in ours
            s = stats[name]
            if have_ours and have_theirs:
                s.compared += 1
                if not agree(name, ours[name], theirs[name], oracle_name):
                    s.mismatches += 1
                    if len(s.examples) < show:
                        s.examples.append(
                            f"line {line + 2} {frames[line]} at {stamps[line]:.6f}: "
                            f"skyfence {name}={ours[name]!r}, {oracle_name} {name}={theirs[name]!r}"
                        )
            elif have_ours:
                s.only_skyfence += 1
            elif have_theirs:
                s.only_oracle += 1
    positions_oracle = sum(1 for r in oracle if "lat" in r)
    positions_skyfence = sum(1 for m in messages if "lat" in m)
    positions_both = stats["lat"].compared
    return Report(
        oracle=oracle_name,
        seconds=seconds,
        fields=stats,
        positions_oracle=positions_oracle,
        positions_skyfence=positions_skyfence,
        positions_both=positions_both,
        messages_joined=len(messages),
        oracle_frames_decoded=sum(1 for r in oracle if r),
    )


def print_report(r: Report, frames: int) -> None:
    print(f"\n== skyfence vs {r.oracle} ({r.seconds:.2f} s, {frames / r.seconds:,.0f} frames/s)")
    print(f"{'field':<12} {'compared':>9} {'mismatch':>9} {'only skyfence':>14} {'only oracle':>12}")
    for name, s in r.fields.items():
        print(
            f"{name:<12} {s.compared:>9} {s.mismatches:>9} {s.only_skyfence:>14} {s.only_oracle:>12}"
        )
    print(
        f"{'total':<12} {r.compared:>9} {r.mismatches:>9}   "
        f"agreement {100.0 * (r.compared - r.mismatches) / max(r.compared, 1):.4f} %"
    )
    print(
        f"positions resolved: skyfence {r.positions_skyfence}, {r.oracle} {r.positions_oracle}, "
        f"both {r.positions_both}"
    )
    for name, s in r.fields.items():
        for example in s.examples:
            print(f"  mismatch {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skyfence", required=True, help="path of the skyfence binary")
    parser.add_argument("--input", default="testdata/long_flight.csv", help="raw recording")
    parser.add_argument("--oracle", default="pymodes,rs1090", help="comma-separated oracles")
    parser.add_argument("--show", type=int, default=5, help="mismatch examples per field")
    parser.add_argument(
        "--short",
        action="store_true",
        help="a short recording: fields it does not carry and fewer positions than an "
        "oracle that trusts a single even/odd pair are not failures (mismatches still are)",
    )
    args = parser.parse_args()

    names = [n.strip() for n in args.oracle.split(",") if n.strip()]
    for n in names:
        if n not in ORACLES:
            print(f"error: unknown oracle {n!r}, expected one of {sorted(ORACLES)}")
            return 2

    stamps, frames = read_raw(args.input)
    messages, summary, sky_seconds = run_skyfence(args.skyfence, args.input)
    print(f"input: {args.input}: {len(frames)} frames")
    print(
        f"skyfence: {len(messages)} messages in {sky_seconds:.2f} s "
        f"(debug or release binary as given; speed is measured by the criterion bench)"
    )
    if summary.strip():
        print("skyfence summary (stderr):")
        for line in summary.strip().splitlines():
            print(f"  {line}")

    lines = join(stamps, frames, messages)
    failures: list[str] = []
    reports: list[Report] = []
    for n in names:
        try:
            oracle, label, seconds = ORACLES[n](stamps, frames)
        except ImportError as e:
            print(f"error: oracle {n} is not installed ({e}); run: pip install pymodes rs1090")
            return 2
        report = compare(stamps, frames, label, oracle, seconds, messages, lines, args.show)
        print_report(report, len(frames))
        reports.append(report)
        if report.mismatches:
            failures.append(f"{report.mismatches} field mismatches against {label}")
        for name in [] if args.short else REQUIRED_FIELDS:
            if name == "category" and n != "pymodes":
                continue  # rs1090 names the category ("Glider"), without its code
            if report.fields[name].compared == 0:
                failures.append(f"no {name} compared against {label}")
        if report.positions_skyfence < report.positions_oracle and not args.short:
            failures.append(
                f"skyfence resolved {report.positions_skyfence} positions, "
                f"fewer than {label}'s {report.positions_oracle}"
            )

    print()
    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        return 1
    print(
        "PASS: "
        + "; ".join(
            f"{r.compared} fields agree with {r.oracle}, positions {r.positions_skyfence} "
            f"(skyfence) vs {r.positions_oracle}"
            for r in reports
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
