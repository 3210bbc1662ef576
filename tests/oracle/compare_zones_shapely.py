#!/usr/bin/env python3
"""Differential test: `skyfence airspace locate --points` against shapely.

Reads an OpenAir file with a small reader of its own (polygon points `DP`, and arcs
`DA`, `DB` and circles `DC` around the `V X=` centre in the `V D=` direction), asks
skyfence to load the same file leniently, and compares, for many points per zone, which
zones hold each point (altitude unknown): shapely's `contains` on this reader's polygons
against skyfence's answer.

The two sides read the file independently; only the zones skyfence skipped (named on
its stderr, `zone skipped: FILE:LINE: feature N "NAME": ...`) are taken from skyfence,
and the check that every `AC` block is either loaded or named as skipped is part of the
test. Repeated names are numbered `NAME (2)`, `NAME (3)` among the loaded zones, as
skyfence documents; the names skyfence lists must be exactly the names this reader
derives.

Arcs are discretised differently on each side: here on a sphere of the mean Earth radius
(6,371,008.8 m) in steps of at most 0.5 degrees (chord error under 2 m for 100 NM);
skyfence uses the local Gaussian sphere and chords within 100 m of the arc. The two arc
lines can therefore be up to 100 m + 0.5 % of the radius apart, so a point closer than
`150 m + 0.5 % of the largest arc radius` to a zone's edge is not compared (50 m for
zones made of `DP` points only, whose edges are the same straight lon/lat lines on both
sides). Everything farther from every edge must agree exactly.

Exit 1 on any disagreement, when a loaded zone received no compared point inside it,
or when the loaded/skipped accounting does not cover every zone of the file.

usage: compare_zones_shapely.py --skyfence BIN --zones FILE.air [--points-per-zone N]
"""

import argparse
import json
import math
import random
import re
import subprocess
import sys
import tempfile

import numpy as np
import shapely
from shapely.geometry import Polygon

EARTH_M = 6_371_008.8  # IUGG mean radius
NM = 1852.0
MAX_STEP_DEG = 0.5


def dms(text):
    parts = [float(p) for p in text.strip().split(":")]
    return sum(p / (60**i) for i, p in enumerate(parts))


def coord(text):
    t = text.strip().upper()
    ns = next(i for i, c in enumerate(t) if c in "NS")
    lat = dms(t[:ns]) * (-1 if t[ns] == "S" else 1)
    rest = t[ns + 1 :]
    ew = next(i for i, c in enumerate(rest) if c in "EW")
    lon = dms(rest[:ew]) * (-1 if rest[ew] == "W" else 1)
    return lon, lat


def destination(centre, dist_m, bearing_deg):
    lon1, lat1 = math.radians(centre[0]), math.radians(centre[1])
    d, t = dist_m / EARTH_M, math.radians(bearing_deg)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(t))
    lon2 = lon1 + math.atan2(
        math.sin(t) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return (math.degrees(lon2), math.degrees(lat2))


def distance_bearing(a, b):
    lat1, lat2 = math.radians(a[1]), math.radians(b[1])
    dl = math.radians(b[0] - a[0])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dl / 2) ** 2
    dist = 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))
    y = math.sin(dl) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dl)
    return dist, math.degrees(math.atan2(y, x)) % 360.0


def arc(centre, r1, r2, b1, b2, clockwise, full=False):
    sweep = 360.0 if full else ((b2 - b1) if clockwise else (b1 - b2)) % 360.0
    n = max(1, math.ceil(sweep / MAX_STEP_DEG))
    sign = 1 if clockwise else -1
    return [
        destination(centre, r1 + (r2 - r1) * k / n, b1 + sign * sweep * k / n) for k in range(n + 1)
    ]


def read_zones(path):
    """Every AC block, in order: name, its ring, the largest arc radius (0 for polygons)."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    zones, cur, centre, clockwise = [], None, None, True
    for line in text.splitlines():
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("*"):
            continue
        rec, _, rest = line.partition(" ")
        rec = rec.upper()
        if rec != "AN":
            rest = rest.split("*")[0]
        rest = rest.strip()
        try:
            if rec == "AC":
                cur = {"name": None, "points": [], "radius_m": 0.0}
                zones.append(cur)
                clockwise = True
            elif rec == "V":
                var, _, value = rest.partition("=")
                var = var.strip().upper()
                if var == "X":
                    centre = coord(value)
                elif var == "D":
                    clockwise = value.strip() != "-"
            elif cur is None:
                continue
            elif rec == "AN":
                cur["name"] = rest
            elif rec == "DP":
                cur["points"].append(coord(rest))
            elif rec == "DC":
                r = float(rest) * NM
                cur["points"] = arc(centre, r, r, 0.0, 360.0, True, full=True)[:-1]
                cur["radius_m"] = max(cur["radius_m"], r)
            elif rec == "DA":
                r, a1, a2 = (float(x) for x in rest.split(","))
                cur["points"] += arc(centre, r * NM, r * NM, a1, a2, clockwise)
                cur["radius_m"] = max(cur["radius_m"], r * NM)
            elif rec == "DB":
                p1, p2 = (coord(x) for x in rest.split(","))
                (r1, b1), (r2, b2) = distance_bearing(centre, p1), distance_bearing(centre, p2)
                pts = arc(centre, r1, r2, b1, b2, clockwise)
                pts[0], pts[-1] = p1, p2
                cur["points"] += pts
                cur["radius_m"] = max(cur["radius_m"], r1, r2)
        except (ValueError, StopIteration, TypeError):
            if cur is not None:
                cur["bad"] = True
    for z in zones:
        if z.get("bad"):
            z["points"] = None
    return zones


SKIPPED = re.compile(r"zone skipped: .*?: feature (\d+)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skyfence", required=True)
    ap.add_argument("--zones", required=True)
    ap.add_argument("--points-per-zone", type=int, default=40)
    args = ap.parse_args()
    zones = read_zones(args.zones)

    listed = subprocess.run(
        [args.skyfence, "airspace", "list", "--json", "--lenient", "--country", "AF",
         "--zones", args.zones],
        check=True, capture_output=True, text=True,
    )
    skipped = {int(m.group(1)) for m in SKIPPED.finditer(listed.stderr)}
    loaded_names = [
        z["name"] for z in map(json.loads, listed.stdout.splitlines()) if z.get("source") == args.zones
    ]
    # Every AC block is either loaded or named as skipped.
    if len(loaded_names) + len(skipped) != len(zones):
        print(f"FAIL: {len(zones)} zones in the file, {len(loaded_names)} loaded + "
              f"{len(skipped)} named as skipped")
        sys.exit(1)

    # Names as skyfence numbers them, among the loaded zones.
    seen, compared, unreadable, repaired = set(), [], [], []
    for i, z in enumerate(zones):
        if i in skipped:
            continue
        name = z["name"]
        if name in seen:
            n = 2
            while f"{name} ({n})" in seen:
                n += 1
            name = f"{name} ({n})"
        seen.add(name)
        if z["points"] is None or len(z["points"]) < 3:
            unreadable.append(name)
            continue
        poly = Polygon(z["points"])
        if not poly.is_valid:
            # Valid as skyfence discretises its arcs, not as this reader does (an arc
            # poking through a nearby edge by a few metres): repaired, and compared
            # away from its edges as every zone is.
            poly = shapely.make_valid(poly)
            repaired.append(name)
        if poly.area <= 0:
            unreadable.append(name)
            continue
        compared.append((name, poly, z["radius_m"]))
    if sorted(seen) != sorted(loaded_names):
        print(f"FAIL: names differ: skyfence only {sorted(set(loaded_names) - seen)[:10]}, "
              f"this reader only {sorted(seen - set(loaded_names))[:10]}")
        sys.exit(1)
    if unreadable:
        print(f"FAIL: zones skyfence loaded that this reader cannot build: {unreadable[:10]}")
        sys.exit(1)

    # Points: a grid over the file, and random points in and around every zone.
    rng = random.Random(17)
    x0 = min(p.bounds[0] for _, p, _ in compared)
    y0 = min(p.bounds[1] for _, p, _ in compared)
    x1 = max(p.bounds[2] for _, p, _ in compared)
    y1 = max(p.bounds[3] for _, p, _ in compared)
    pts = [(x0 + (x1 - x0) * (i + 0.5) / 100, y0 + (y1 - y0) * (j + 0.5) / 100)
           for i in range(100) for j in range(100)]
    for _, p, _ in compared:
        bx0, by0, bx1, by1 = p.bounds
        dx, dy = (bx1 - bx0) * 0.1, (by1 - by0) * 0.1
        pts += [(rng.uniform(bx0 - dx, bx1 + dx), rng.uniform(by0 - dy, by1 + dy))
                for _ in range(args.points_per_zone)]
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for x, y in zip(xs, ys):
            f.write(f"{float(y)!r},{float(x)!r}\n")
        pts_path = f.name
    out = subprocess.run(
        [args.skyfence, "airspace", "locate", "--country", "AF", "--lenient",
         "--zones", args.zones, "--points", pts_path],
        check=True, capture_output=True, text=True,
    )
    answers = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(answers) == len(pts), (len(answers), len(pts))
    ours = {}
    for k, a in enumerate(answers):
        for z in a["zones"]:
            ours.setdefault(z["zone"], set()).add(k)

    # Per zone: shapely's answer on every point not within the zone's margin of its edge.
    mismatches, inside_counts, left_out = [], {}, 0
    for name, poly, radius in compared:
        margin_m = 50.0 if radius == 0 else 150.0 + 0.005 * radius
        bx0, by0, bx1, by1 = poly.bounds
        coslat = max(0.05, math.cos(math.radians(max(abs(by0), abs(by1)))))
        margin_deg = margin_m / (111_000.0 * coslat)
        near_box = ((xs >= bx0 - margin_deg) & (xs <= bx1 + margin_deg)
                    & (ys >= by0 - margin_deg) & (ys <= by1 + margin_deg))
        idx = np.nonzero(near_box)[0]
        shapely.prepare(poly)
        hit = shapely.contains_xy(poly, xs[idx], ys[idx])
        d = shapely.distance(poly.boundary, shapely.points(xs[idx], ys[idx]))
        near = set(idx[d <= margin_deg].tolist())
        left_out += len(near)
        theirs = set(idx[hit].tolist()) - near
        mine = ours.get(name, set()) - near
        inside_counts[name] = len(theirs)
        for k in sorted(mine ^ theirs)[:5]:
            mismatches.append(f"{name!r} at ({ys[k]}, {xs[k]}): skyfence {k in mine}, shapely {k in theirs}")

    # A zone with no interior point farther than its margin from its edge cannot get one.
    empty = []
    for name, poly, radius in compared:
        if inside_counts[name] == 0:
            margin_m = 50.0 if radius == 0 else 150.0 + 0.005 * radius
            if not poly.buffer(-margin_m / 111_000.0).is_empty:
                empty.append(name)
    arcs = sum(1 for _, _, r in compared if r > 0)
    print(f"{args.zones}: {len(zones)} zones, {len(compared)} loaded and compared ({arcs} with arcs "
          f"or circles, {len(repaired)} repaired for shapely: {repaired[:5]}), {len(skipped)} skipped "
          f"by skyfence; {len(pts)} points, {left_out} (point, zone) pairs near an edge left out, "
          f"{sum(inside_counts.values())} points inside a zone compared, fewest per zone "
          f"{min(inside_counts.values())}")
    if mismatches or empty:
        print(f"FAIL: {len(mismatches)} disagreements; zones without a compared point inside: {empty[:10]}")
        for m in mismatches[:20]:
            print("  " + m)
        sys.exit(1)
    print(f"PASS: {len(pts)} points agree with shapely in all {len(compared)} zones")


if __name__ == "__main__":
    main()
