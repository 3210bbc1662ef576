#!/usr/bin/env python3
"""Differential test: `skyfence airspace locate --points` against shapely.

Reads the polygon zones (`DP` points only; zones drawn with arcs or circles are left
out) of an OpenAir file with a small reader of its own, as lenient skyfence would load
them (inline `*` comments dropped, `SS` = 60 accepted, Latin-1 when not UTF-8, a
repeated name numbered `NAME (2)`, zones shapely finds invalid left out), then asks
both shapely and skyfence which of these zones hold each point of a grid over the file
(altitude unknown). Points within 50 m of a zone's edge are not compared (skyfence's
edges are straight in longitude/latitude, as shapely's are, but rounding at an edge is
no disagreement worth failing on).

Exit 1 on any disagreement, or when fewer than 100 points were inside some zone.

usage: compare_zones_shapely.py --skyfence BIN --zones FILE.air
"""

import argparse
import json
import subprocess
import sys
import tempfile

from shapely.geometry import Point, Polygon


def dms(text):
    parts = [float(p) for p in text.strip().split(":")]
    value = 0.0
    for i, p in enumerate(parts):
        value += p / (60**i)
    return value


def coord(text):
    t = text.strip().upper()
    ns = next(i for i, c in enumerate(t) if c in "NS")
    lat = dms(t[:ns]) * (-1 if t[ns] == "S" else 1)
    rest = t[ns + 1 :]
    ew = next(i for i, c in enumerate(rest) if c in "EW")
    lon = dms(rest[:ew]) * (-1 if rest[ew] == "W" else 1)
    return lon, lat


def read_zones(path):
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    zones, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("*"):
            continue
        rec, _, rest = line.partition(" ")
        rec = rec.upper()
        if rec != "AN":
            rest = rest.split("*")[0]
        rest = rest.strip()
        if rec == "AC":
            cur = {"name": None, "points": [], "arcs": False}
            zones.append(cur)
        elif rec == "AN" and cur is not None:
            cur["name"] = rest
        elif rec == "DP" and cur is not None:
            cur["points"].append(coord(rest))
        elif rec in ("DC", "DA", "DB") and cur is not None:
            cur["arcs"] = True
    out, seen = [], {}
    for z in zones:
        name = z["name"]
        if name in seen:
            n = 2
            while f"{name} ({n})" in seen:
                n += 1
            name = f"{name} ({n})"
        poly = Polygon(z["points"]) if len(z["points"]) >= 3 else None
        valid = poly is not None and poly.is_valid and poly.area > 0
        if not valid:
            continue
        seen[name] = True
        if not z["arcs"]:
            out.append((name, poly))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skyfence", required=True)
    ap.add_argument("--zones", required=True)
    args = ap.parse_args()
    zones = read_zones(args.zones)
    if not zones:
        print("no polygon zones to compare")
        sys.exit(1)
    x0 = min(p.bounds[0] for _, p in zones) - 0.05
    y0 = min(p.bounds[1] for _, p in zones) - 0.05
    x1 = max(p.bounds[2] for _, p in zones) + 0.05
    y1 = max(p.bounds[3] for _, p in zones) + 0.05
    n = 120
    points = []
    for i in range(n):
        for j in range(n):
            lon = x0 + (x1 - x0) * (i + 0.5) / n
            lat = y0 + (y1 - y0) * (j + 0.5) / n
            # 50 m from every edge (1 degree of latitude is 111 km).
            if all(p.exterior.distance(Point(lon, lat)) > 50 / 111_000 for _, p in zones):
                points.append((lat, lon))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for lat, lon in points:
            f.write(f"{lat!r},{lon!r}\n")
        pts_path = f.name
    out = subprocess.run(
        [args.skyfence, "airspace", "locate", "--country", "AF", "--lenient",
         "--zones", args.zones, "--points", pts_path],
        check=True, capture_output=True, text=True,
    )
    answers = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(answers) == len(points), (len(answers), len(points))
    names = {name for name, _ in zones}
    mismatches, inside = [], 0
    for (lat, lon), a in zip(points, answers):
        ours = {z["zone"] for z in a["zones"]} & names
        theirs = {name for name, p in zones if p.contains(Point(lon, lat))}
        inside += bool(theirs)
        if ours != theirs:
            mismatches.append(f"({lat}, {lon}): skyfence {sorted(ours)}, shapely {sorted(theirs)}")
    print(f"{len(points)} points, {inside} inside a zone, zones compared: {sorted(names)}")
    if mismatches or inside < 100:
        print(f"FAIL: {len(mismatches)} disagreements")
        for m in mismatches[:20]:
            print("  " + m)
        sys.exit(1)
    print(f"PASS: {len(points)} points agree with shapely")


if __name__ == "__main__":
    main()
