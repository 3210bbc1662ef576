#!/usr/bin/env python3
"""GEOS peer for the skyfence-core `index` bench: prepared point-in-polygon.

Reads the zone and the points the Rust bench wrote (same points, same geometry) and
times shapely 2's vectorised `contains_xy` on a prepared geometry (GEOS
PreparedPolygon), the way a Python geofencing service would call it.

Usage: geos_locate.py DIR  (DIR holds zone.geojson and points.f64, little-endian
lon,lat pairs). Prints one line with the median and minimum CPU time of the calling
thread per point (`time.thread_time_ns`, the clock the Rust bench uses), the median
wall-clock time per point, and the number of points inside.
"""

import json
import sys
import time

import numpy as np
import shapely


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: geos_locate.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    with open(f"{d}/zone.geojson", encoding="utf-8") as f:
        geom = shapely.from_geojson(json.dumps(json.load(f)))
    pts = np.fromfile(f"{d}/points.f64", dtype="<f8").reshape(-1, 2)
    x = np.ascontiguousarray(pts[:, 0])
    y = np.ascontiguousarray(pts[:, 1])
    shapely.prepare(geom)
    shapely.contains_xy(geom, x[:1000], y[:1000])  # warm up
    runs = []
    inside = 0
    walls = []
    for _ in range(7):
        t0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        r = shapely.contains_xy(geom, x, y)
        runs.append((time.thread_time_ns() - t0) / len(x))
        walls.append((time.perf_counter_ns() - w0) / len(x))
        inside = int(r.sum())
    walls.sort()
    runs.sort()
    print(f"geos_contains_xy cpu_ns_per_point median {runs[len(runs) // 2]:.1f} min {runs[0]:.1f}"
          f" wall_ns_per_point median {walls[len(walls) // 2]:.1f} inside {inside}"
          f" shapely={shapely.__version__} geos={shapely.geos_version_string}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
