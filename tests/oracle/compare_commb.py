#!/usr/bin/env python3
"""Differential test: skyfence's Comm-B inference against pyModeS 3 on a real recording.

For every DF20/21 reply of a `raw` recording (`TIMESTAMP,HEX` lines) that `skyfence
decode` accepted (an address heard in DF11/17/18), compares:

- the register: skyfence's inferred `bds` against pyModeS's candidate registers
  (`pyModeS.decoder.bds._infer.infer`, its content checks without a reference state)
  and its single answer (`pyModeS.decode`, the first candidate);
- the fields, wherever both decoded the same register:

| register | skyfence key       | pyModeS key             | tolerance |
|----------|--------------------|-------------------------|-----------|
| 1,0      | subnet_version     | mode_s_subnetwork_version | equal   |
| 1,0      | acas_operational   | acas_operational        | equal     |
| 1,0      | squitter_capable   | squitter_capability     | equal     |
| 1,7      | gicb               | supported_bds           | equal     |
| 2,0      | callsign           | callsign                | equal (trailing `_`/spaces trimmed) |
| 3,0      | ra_terminated      | ra_terminated           | equal     |
| 3,0      | ra_threat          | threat_icao             | equal (case) |
| 4,0      | selected_alt_ft    | selected_altitude_mcp   | equal     |
| 4,0      | fms_alt_ft         | selected_altitude_fms   | equal     |
| 4,0      | baro_setting_hpa   | baro_pressure_setting   | 0.05 hPa  |
| 5,0      | roll_deg           | roll                    | 1e-3 deg  |
| 5,0      | track_deg          | true_track              | 1e-3 deg (circular) |
| 5,0      | gs_kt              | groundspeed             | equal     |
| 5,0      | track_rate_dps     | track_rate              | 1e-4 deg/s |
| 5,0      | tas_kt             | true_airspeed           | equal     |
| 6,0      | heading_deg        | magnetic_heading        | 1e-3 deg (circular) |
| 6,0      | ias_kt             | indicated_airspeed      | equal     |
| 6,0      | mach               | mach                    | 1e-4      |
| 6,0      | vrate_fpm          | baro_vertical_rate      | equal     |
| 6,0      | ivrate_fpm         | inertial_vertical_rate  | equal     |

Fails (exit 1) when a field disagrees, when skyfence infers a register pyModeS's checks
reject or that differs from pyModeS's only candidate, or when a register of the list
above was never compared. Replies pyModeS infers and skyfence leaves undecoded (several
candidates and no ADS-B state to choose, or a candidate the aircraft's ADS-B velocity
or the reply's own altitude contradicts) are counted and printed, not errors.

usage: compare_commb.py --skyfence BIN --input RAW.csv
"""

import argparse
import json
import subprocess
import sys
from collections import Counter

import pyModeS
from pyModeS.decoder.bds._infer import infer

FIELDS = {
    "1,0": [
        ("subnet_version", "mode_s_subnetwork_version", 0),
        ("acas_operational", "acas_operational", 0),
        ("squitter_capable", "squitter_capability", 0),
    ],
    "1,7": [("gicb", "supported_bds", 0)],
    "2,0": [("callsign", "callsign", 0)],
    "3,0": [("ra_terminated", "ra_terminated", 0), ("ra_threat", "threat_icao", 0)],
    "4,0": [
        ("selected_alt_ft", "selected_altitude_mcp", 0),
        ("fms_alt_ft", "selected_altitude_fms", 0),
        ("baro_setting_hpa", "baro_pressure_setting", 0.05),
    ],
    "5,0": [
        ("roll_deg", "roll", 1e-3),
        ("track_deg", "true_track", "angle"),
        ("gs_kt", "groundspeed", 0),
        ("track_rate_dps", "track_rate", 1e-4),
        ("tas_kt", "true_airspeed", 0),
    ],
    "6,0": [
        ("heading_deg", "magnetic_heading", "angle"),
        ("ias_kt", "indicated_airspeed", 0),
        ("mach", "mach", 1e-4),
        ("vrate_fpm", "baro_vertical_rate", 0),
        ("ivrate_fpm", "inertial_vertical_rate", 0),
    ],
}
# Registers the recording must exercise (3,0 is rare: compared when present).
REQUIRED = ["1,0", "1,7", "2,0", "4,0", "5,0", "6,0"]


def agree(a, b, tol):
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().strip("_").upper() == b.strip().strip("_").upper()
    if isinstance(a, list) or isinstance(b, list):
        return sorted(a) == sorted(b)
    if tol == "angle":
        d = abs(float(a) - float(b)) % 360.0
        return min(d, 360.0 - d) <= 1e-3
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return abs(float(a) - float(b)) <= tol


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skyfence", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument(
        "--short",
        action="store_true",
        help="a short recording: registers it does not carry are not failures",
    )
    args = ap.parse_args()

    frames = {}
    with open(args.input) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("timestamp"):
                continue
            ts, hexmsg = line.split(",")
            df = int(hexmsg[:2], 16) >> 3
            if df in (20, 21) and len(hexmsg) == 28:
                frames[ts] = hexmsg

    out = subprocess.run(
        [args.skyfence, "decode", "--input", "raw:" + args.input],
        check=True,
        capture_output=True,
        text=True,
    )
    from datetime import datetime, timezone

    def key_of(at):
        t = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        return t.timestamp()

    by_time = {round(float(ts), 6): h for ts, h in frames.items()}
    compared = Counter()
    mismatches = []
    inferred = Counter()
    oracle_only = Counter()
    refused_reasons = Counter()
    not_candidate = []
    n = 0
    for line in out.stdout.splitlines():
        m = json.loads(line)
        if m.get("df") not in (20, 21):
            continue
        hexmsg = by_time.get(round(key_of(m["at"]), 6))
        if hexmsg is None:
            mismatches.append(f"no input frame for {m['at']}")
            continue
        n += 1
        payload = int(hexmsg[8:22], 16)
        cands = infer(payload, m["df"])
        ours = m.get("bds")
        if ours is None:
            if len(cands) == 1:
                oracle_only[cands[0]] += 1
            refused_reasons["none" if not cands else ("one" if len(cands) == 1 else "several")] += 1
            continue
        inferred[ours] += 1
        if ours not in cands:
            not_candidate.append(f"{hexmsg}: skyfence {ours}, pyModeS candidates {cands}")
            continue
        if len(cands) == 1 and cands[0] != ours:
            not_candidate.append(f"{hexmsg}: skyfence {ours}, pyModeS {cands}")
            continue
        if ours not in FIELDS:
            continue
        # pyModeS's fields for the register skyfence chose.
        mod = __import__(f"pyModeS.decoder.bds.bds{ours.replace(',', '')}", fromlist=["x"])
        theirs = getattr(mod, f"decode_bds{ours.replace(',', '')}")(payload)
        for sk, pk, tol in FIELDS[ours]:
            a, b = m.get(sk), theirs.get(pk)
            if a is None and b is None:
                continue
            compared[(ours, sk)] += 1
            if a is None or b is None or not agree(a, b, tol):
                mismatches.append(f"{hexmsg} {ours} {sk}: skyfence {a!r}, pyModeS {b!r}")
    single = pyModeS.decode(next(iter(frames.values())))  # the public API imports
    assert "df" in single

    print(f"DF20/21 replies accepted by skyfence: {n}")
    print("inferred by skyfence: " + " ".join(f"{k}={v}" for k, v in sorted(inferred.items())))
    print(
        "left undecoded by skyfence where pyModeS has a single candidate: "
        + (" ".join(f"{k}={v}" for k, v in sorted(oracle_only.items())) or "none")
    )
    print(
        "undecoded by skyfence, by pyModeS candidate count: "
        + " ".join(f"{k}={v}" for k, v in sorted(refused_reasons.items()))
    )
    print("fields compared:")
    for (reg, field), c in sorted(compared.items()):
        print(f"  {reg} {field:18} {c}")
    failed = False
    if not_candidate:
        failed = True
        print(f"{len(not_candidate)} inferences pyModeS's checks contradict:")
        for x in not_candidate[:20]:
            print("  " + x)
    if mismatches:
        failed = True
        print(f"{len(mismatches)} field mismatches:")
        for x in mismatches[:20]:
            print("  " + x)
    for reg in [] if args.short else REQUIRED:
        if not any(r == reg for (r, _) in compared):
            failed = True
            print(f"register {reg} never compared")
    total = sum(compared.values())
    if failed:
        print("FAIL")
        sys.exit(1)
    print(f"PASS: {total} Comm-B fields agree with pyModeS {pyModeS.__version__}")


if __name__ == "__main__":
    main()
