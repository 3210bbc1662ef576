//! `AirspaceIndex`: the queries the detector asks of every position.
//!
//! One [`Grid`] pair per zone: a fine grid (≈ 16 cells per edge) answers point-in-polygon
//! and segment crossings; a coarse grid (≈ 1 cell per 2 edges) narrows the edges for
//! distances farther than [`NEAR_LIMIT_M`] and seeds every distance search with a nearby
//! edge. Distances within [`NEAR_LIMIT_M`] come from a box tree over the edges in ring
//! order (`near.rs`). All share the zone's edge list. See `grid.rs` for the cell encoding
//! and the exact point-in-polygon rule, `geodesy.rs` for the distance arithmetic and its
//! bounds.
//!
//! Conventions, for every query:
//! * A zone's boundary (every ring, holes included) is made of edges that are straight in
//!   longitude/latitude, the same model `geo` and GEOS use for WGS-84 coordinates.
//! * The zone is a closed set: a point on an edge or a vertex is inside.
//! * Edges lying on the antimeridian (both ends at ±180°) close the parts of a shape split
//!   there; they are not borders: distances and crossings ignore them, and a segment
//!   crossing the seam is followed onto the other side.

use super::geodesy::{
    self, LAMBERT_MAX_M, LAMBERT_MIN_M, LAMBERT_REL_ERR, LocalFrame, NEAR_LIMIT_M, NEAR_REL_ERR,
    box_lower_bound_m, cell_lower_bound_sq, local_frame_rel_err_at, wrap_dlon,
};
use super::grid::{CellState, EDGE, Edges, Grid, SEAM, orient};
use super::near::EdgeTree;
use super::zone::Zone;
use crate::position::GeoPoint;

/// Index of a zone in an [`AirspaceIndex`] (its position in [`AirspaceIndex::zones`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(pub u32);

/// Where a segment first meets a zone's boundary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crossing {
    /// The crossing point.
    pub point: GeoPoint,
    /// Position along the segment, 0 at `from` and 1 at `to` (linear in longitude and
    /// latitude, like the edges).
    pub fraction: f64,
    /// True when the segment starts outside the zone (the crossing is an entry); false
    /// when it starts inside or on the boundary (the crossing is where it reaches the
    /// boundary from inside: an exit, or a graze).
    pub entering: bool,
}

/// The query structures of one zone.
#[derive(Clone, Debug)]
struct ZoneIndex {
    edges: Edges,
    /// Point-in-polygon and crossings.
    fine: Grid,
    /// Far distances (and the hints that seed every distance search).
    coarse: Grid,
    /// Distances within [`NEAR_LIMIT_M`].
    tree: EdgeTree,
    /// Smallest cos(latitude) over each coarse row.
    coarse_row_cos: Vec<f64>,
    /// Per coarse cell, an edge near the cell's centre (`u32::MAX`: none), to seed the
    /// distance search with a good upper bound.
    hint: Vec<u32>,
    /// Bounding box (min lon, min lat, max lon, max lat).
    bbox: [f64; 4],
}

/// Fine-grid cells per edge: more cells mean fewer edges per boundary cell and more
/// points decided by a two-bit lookup; 16 keeps Afghanistan's grid under 100 kB.
const FINE_CELLS_PER_EDGE: usize = 16;
/// Upper bound on fine-grid cells (2 bits each: 1 MB of bitmaps).
const MAX_FINE_CELLS: usize = 1 << 22;

impl ZoneIndex {
    fn new(zone: &Zone) -> Self {
        let edges = Edges::from_multipolygon(&zone.shape);
        let n = edges.ids.len().max(1);
        let fine = Grid::build(
            &edges,
            (n * FINE_CELLS_PER_EDGE).clamp(4096, MAX_FINE_CELLS),
        );
        let coarse = Grid::build(&edges, (n / 2).clamp(64, 1 << 18));
        let tree = EdgeTree::build(&edges);
        let coarse_row_cos = (0..coarse.ny as i64)
            .map(|r| {
                let (a, b) = (coarse.row_y(r), coarse.row_y(r + 1));
                a.abs().max(b.abs()).min(90.0).to_radians().cos().max(0.0)
            })
            .collect();
        let mut bbox: [f64; 4] = [180.0, 90.0, -180.0, -90.0];
        for &(e, _) in &edges.ids {
            let (ax, ay, bx, by) = edges.get(e);
            bbox[0] = bbox[0].min(ax.min(bx));
            bbox[1] = bbox[1].min(ay.min(by));
            bbox[2] = bbox[2].max(ax.max(bx));
            bbox[3] = bbox[3].max(ay.max(by));
        }
        let mut z = ZoneIndex {
            edges,
            fine,
            coarse,
            tree,
            coarse_row_cos,
            hint: Vec::new(),
            bbox,
        };
        z.hint = z.nearest_edge_hints();
        z
    }

    /// A nearest-edge map over the coarse grid: boundary cells take their own edge
    /// nearest the cell centre, the other cells inherit from their neighbours in two
    /// raster passes (a chamfer distance transform). Only a hint: any edge would keep the
    /// search exact, a near one makes it fast.
    fn nearest_edge_hints(&self) -> Vec<u32> {
        let g = &self.coarse;
        let (nx, ny) = (g.nx as i64, g.ny as i64);
        let mut hint = vec![u32::MAX; (nx * ny) as usize];
        let mut dist = vec![f64::INFINITY; (nx * ny) as usize];
        let centre = |c: i64, r: i64| {
            let lon = g.col_x(c) + 0.5 * g.cell;
            let lat = g.row_y(r) + 0.5 * g.cell;
            LocalFrame::new(lat.clamp(-90.0, 90.0), wrap_dlon(lon))
        };
        for r in 0..ny {
            for c in 0..nx {
                let items = g.items(c as u32, r as u32);
                if items.is_empty() {
                    continue;
                }
                let f = centre(c, r);
                for &item in items {
                    if item & SEAM != 0 {
                        continue;
                    }
                    let d = self.edge_distance(&f, item & EDGE, f64::INFINITY);
                    let k = (r * nx + c) as usize;
                    if d < dist[k] {
                        dist[k] = d;
                        hint[k] = item & EDGE;
                    }
                }
            }
        }
        let mut relax = |c: i64, r: i64, from: &[(i64, i64)]| {
            let k = (r * nx + c) as usize;
            let mut f: Option<LocalFrame> = None;
            for &(dc, dr) in from {
                let (cc, rr) = (c + dc, r + dr);
                if cc < 0 || rr < 0 || cc >= nx || rr >= ny {
                    continue;
                }
                let e = hint[(rr * nx + cc) as usize];
                if e == u32::MAX || e == hint[k] {
                    continue;
                }
                let frame = *f.get_or_insert_with(|| centre(c, r));
                let d = self.edge_distance(&frame, e, f64::INFINITY);
                if d < dist[k] {
                    dist[k] = d;
                    hint[k] = e;
                }
            }
        };
        for r in 0..ny {
            for c in 0..nx {
                relax(c, r, &[(-1, 0), (0, -1), (-1, -1), (1, -1)]);
            }
        }
        for r in (0..ny).rev() {
            for c in (0..nx).rev() {
                relax(c, r, &[(1, 0), (0, 1), (1, 1), (-1, 1)]);
            }
        }
        hint
    }

    #[inline]
    fn contains(&self, p: GeoPoint) -> bool {
        // The grid covers the bounding box: no separate box test. A point at -180° also
        // tests the +180° side of a shape split there (`GeoPoint` wraps 180 to -180).
        // That rare case is tested first: `a || b` on the grid's answer would branch on
        // it, and for random points that branch is mispredicted about half the time
        // (~3 ns per point measured on the Afghanistan bench).
        if p.lon == -180.0 {
            return self.fine.contains(&self.edges, p.lon, p.lat)
                || self.fine.contains(&self.edges, 180.0, p.lat);
        }
        self.fine.contains(&self.edges, p.lon, p.lat)
    }

    /// Longitude of `p` shifted by ±360° when that brings it nearer the zone (for zones
    /// that do not wrap but lie near the antimeridian).
    fn representative_lon(&self, lon: f64) -> f64 {
        if self.coarse.wraps {
            return lon;
        }
        let gap = |x: f64| (self.bbox[0] - x).max(x - self.bbox[2]).max(0.0);
        let mut best = lon;
        for cand in [lon - 360.0, lon + 360.0] {
            if gap(cand) < gap(best) {
                best = cand;
            }
        }
        best
    }

    /// Ring search over the coarse grid. Returns the best local-plane distance and its
    /// edge; with `collect`, also every edge within `stop_factor` of the best (each with
    /// its plane distance, or some value beyond that reach). `hint_d` is the plane
    /// distance of the query cell's hint edge (the caller has measured it already).
    fn search(
        &self,
        frame: &LocalFrame,
        px: f64,
        stop_factor: f64,
        limit_m: f64,
        hint_d: f64,
        mut collect: Option<&mut Vec<(f64, u32)>>,
    ) -> (f64, u32) {
        let g = &self.coarse;
        let py = frame.lat;
        let (ci, cj) = g.clamped_cell(px, py);
        let (nx, ny) = (g.nx as i64, g.ny as i64);
        let mut best = f64::INFINITY;
        let mut best_edge = u32::MAX;
        // Start from the hint of the query's cell: an edge near the cell, so that the
        // cell lower bounds prune from the first ring on.
        let hint = self.hint[(cj * nx + ci) as usize];
        if hint != u32::MAX {
            best = hint_d;
            best_edge = hint;
        }
        let mut r: i64 = 0;
        loop {
            let bound = (best * stop_factor).min(limit_m);
            if r > 0 {
                // The box of rings 0..r-1 spans rows cj-r+1 ..= cj+r-1 (and likewise columns).
                let all_rows = cj < r && cj + r > ny - 1;
                let all_cols = if g.wraps {
                    2 * r > nx
                } else {
                    ci < r && ci + r > nx - 1
                };
                if all_rows && all_cols {
                    break;
                }
                let north = (cj + r - 1 < ny - 1).then(|| g.row_y(cj + r) - py);
                let south = (cj - r + 1 > 0).then(|| py - g.row_y(cj - r + 1));
                let (east, west) = if g.wraps {
                    if 2 * r - 1 < nx {
                        (Some(g.col_x(ci + r) - px), Some(px - g.col_x(ci - r + 1)))
                    } else {
                        (None, None)
                    }
                } else {
                    (
                        (ci + r - 1 < nx - 1).then(|| g.col_x(ci + r) - px),
                        (ci - r + 1 > 0).then(|| px - g.col_x(ci - r + 1)),
                    )
                };
                let lb = box_lower_bound_m(frame.cos_lat, north, south, east, west);
                if lb > bound {
                    break;
                }
            }
            let mut visit = |c: i64, rr: i64| {
                if rr < 0 || rr >= ny {
                    return;
                }
                let c = if g.wraps {
                    c.rem_euclid(nx)
                } else if c < 0 || c >= nx {
                    return;
                } else {
                    c
                };
                let items = g.items(c as u32, rr as u32);
                if items.is_empty() {
                    return;
                }
                let bound = (best * stop_factor).min(limit_m);
                let dlat = (g.row_y(rr) - py).max(py - g.row_y(rr + 1)).max(0.0);
                let half = 0.5 * g.cell;
                let dlon = (wrap_dlon(g.col_x(c) + half - px).abs() - half).max(0.0);
                let lb2 = cell_lower_bound_sq(
                    dlat,
                    dlon,
                    frame.cos_lat,
                    self.coarse_row_cos[rr as usize],
                );
                if lb2 > bound * bound {
                    return;
                }
                for &item in items {
                    if item & SEAM != 0 {
                        continue;
                    }
                    let e = item & EDGE;
                    // When collecting, every edge nearer than `bound` must be measured
                    // exactly; an edge cut off early reports a value ≥ `bound`, which is
                    // at least the final `best · stop_factor` (best only decreases), so
                    // the caller's filter drops it anyway.
                    let cutoff = if collect.is_some() { bound } else { best };
                    let d = self.edge_distance(frame, e, cutoff);
                    if d < best {
                        best = d;
                        best_edge = e;
                    }
                    if let Some(list) = collect.as_deref_mut() {
                        list.push((d, e));
                    }
                }
            };
            if r == 0 {
                visit(ci, cj);
            } else {
                let span = if g.wraps {
                    (2 * r + 1).min(nx)
                } else {
                    2 * r + 1
                };
                for k in 0..span {
                    visit(ci - r + k, cj - r);
                    visit(ci - r + k, cj + r);
                }
                if !g.wraps || 2 * r < nx {
                    for k in 1..2 * r {
                        visit(ci - r, cj - r + k);
                        visit(ci + r, cj - r + k);
                    }
                }
            }
            r += 1;
        }
        (best, best_edge)
    }

    /// An upper bound of the local-plane distance (metres) from the frame's centre to
    /// edge `e` without following the edge's curve: the chord's distance plus twice the
    /// bow estimate of [`ZoneIndex::edge_distance`] and a centimetre (the estimate is a
    /// second-order one; the margin keeps the bound safe).
    fn edge_upper_bound(&self, frame: &LocalFrame, e: u32) -> f64 {
        let i = e as usize;
        let ed = &self.edges;
        let pa = frame.project(ed.x[i], ed.y[i], ed.cos_lat[i]);
        let pb = frame.project(ed.x[i + 1], ed.y[i + 1], ed.cos_lat[i + 1]);
        let (d2, _) = LocalFrame::seg_dist_sq(pa, pb);
        let dphi = (ed.y[i + 1] - ed.y[i]).to_radians().abs();
        let bow = (pb.0 - pa.0).abs() * dphi / 8.0 + (pa.0.abs() + pb.0.abs()) * dphi * dphi / 16.0;
        d2.sqrt() + 2.0 * bow + 0.01
    }

    /// Local-plane distance (metres) from the frame's centre to edge `e`.
    #[inline]
    /// Returns some value ≥ `cutoff` (not necessarily the distance) as soon as the edge
    /// provably cannot come nearer than `cutoff`.
    fn edge_distance(&self, frame: &LocalFrame, e: u32, cutoff: f64) -> f64 {
        let i = e as usize;
        let ed = &self.edges;
        let pa = frame.project(ed.x[i], ed.y[i], ed.cos_lat[i]);
        let pb = frame.project(ed.x[i + 1], ed.y[i + 1], ed.cos_lat[i + 1]);
        let (d2, t) = LocalFrame::seg_dist_sq(pa, pb);
        // The image of a lon/lat-straight edge bows away from the chord between its
        // projected ends by about |Δx|·|Δφ|·sin φ / 8 + x·Δφ² / 16 (second derivative of
        // the projection along the edge): refine the (rare) long edges where that exceeds
        // a centimetre.
        let dphi = (ed.y[i + 1] - ed.y[i]).to_radians().abs();
        let bow = (pb.0 - pa.0).abs() * dphi / 8.0 + (pa.0.abs() + pb.0.abs()) * dphi * dphi / 16.0;
        let reach = cutoff + bow;
        if d2 >= reach * reach {
            return d2.sqrt();
        }
        let d = d2.sqrt();
        if bow > 0.01 {
            let (ax, ay) = (ed.x[i], ed.y[i]);
            let (bx, by) = (ed.x[i + 1], ed.y[i + 1]);
            frame.curve_distance_m((ax, ay), (bx, by), t).0
        } else {
            d
        }
    }

    fn distance_m(&self, p: GeoPoint, limit_m: f64) -> f64 {
        if self.edges.ids.is_empty() {
            return f64::INFINITY;
        }
        let px = self.representative_lon(p.lon);
        let frame = LocalFrame::new(p.lat, px);
        // Far from the border the plane is only a guide: every edge whose plane distance
        // is within twice the plane's error bound of the best is a candidate (the
        // latitude-aware bound: 4e-4 at 150 km in Afghanistan, 25× narrower than the table).
        let far_slack = |d: f64| {
            1.0 + 2.0 * local_frame_rel_err_at(d * (1.0 + local_frame_rel_err_at(d, p.lat)), p.lat)
        };
        // The hint edge of the query's cell is an upper bound of the plane distance: when
        // it is already far, the candidates are collected in the same search, with a
        // stop factor at least the far slack of the final best (the bound only grows
        // with the distance), so no second search is needed.
        let near_stop = 1.0 + 2.0 * NEAR_REL_ERR;
        let g = &self.coarse;
        let (ci, cj) = g.clamped_cell(px, p.lat);
        let hint = self.hint[(cj * g.nx as i64 + ci) as usize];
        // Near the border (most queries): the box tree's exact plane minimum, searched
        // no farther than the limit, seeded with the hint edge's chord bound (the tree
        // measures that edge along its curve if it is the nearest).
        let upper = if hint == u32::MAX {
            f64::INFINITY
        } else {
            self.edge_upper_bound(&frame, hint)
        };
        let near = self
            .tree
            .nearest(&self.edges, &frame, upper, limit_m.min(NEAR_LIMIT_M));
        if near <= NEAR_LIMIT_M || limit_m <= NEAR_LIMIT_M {
            return near;
        }
        let hint_d = if hint == u32::MAX {
            f64::INFINITY
        } else {
            self.edge_distance(&frame, hint, f64::INFINITY)
        };
        let mut cands = Vec::new();
        let early = hint_d > NEAR_LIMIT_M && hint_d.is_finite();
        let stop = if early {
            near_stop.max(far_slack(hint_d))
        } else {
            near_stop
        };
        let (best, _) = self.search(
            &frame,
            px,
            stop,
            limit_m,
            hint_d,
            early.then_some(&mut cands),
        );
        if best <= NEAR_LIMIT_M || !best.is_finite() {
            return best;
        }
        let slack = far_slack(best);
        if !early || slack > stop {
            cands.clear();
            self.search(&frame, px, slack, limit_m, hint_d, Some(&mut cands));
        }
        // Each candidate is measured at its plane-nearest point (the distance is
        // stationary there, so the error is of second order), first with the
        // Andoyer–Lambert formula, then the survivors with Karney's geodesic.
        let lambert = best * slack <= LAMBERT_MAX_M && best >= LAMBERT_MIN_M;
        let mut feet: Vec<(f64, f64, f64, u32)> = Vec::with_capacity(cands.len());
        let mut lbest = f64::INFINITY;
        for &(approx, e) in &cands {
            if approx > best * slack {
                continue;
            }
            let (lat, lon) = self.plane_foot(&frame, e);
            let l = if lambert {
                geodesy::lambert_distance_m(p.lat, p.lon, lat, lon)
            } else {
                geodesy::geodesic_distance_m(p.lat, p.lon, lat, lon)
            };
            lbest = lbest.min(l);
            feet.push((l, lat, lon, e));
        }
        // With δ = LAMBERT_REL_ERR, every Lambert value l of a true distance s satisfies
        // (1 − δ) s ≤ l ≤ (1 + δ) s. An edge with l > l_min (1 + δ) / (1 − δ) has
        // s ≥ l / (1 + δ) > l_min / (1 − δ) ≥ s of the Lambert-best edge: it cannot be
        // the geodesic-nearest candidate, so Karney runs on the others only (a handful).
        let cut = if lambert {
            lbest * (1.0 + LAMBERT_REL_ERR) / (1.0 - LAMBERT_REL_ERR)
        } else {
            f64::INFINITY
        };
        let mut winner = (f64::INFINITY, u32::MAX);
        for &(l, lat, lon, e) in &feet {
            if l > cut {
                continue;
            }
            let s = if lambert {
                geodesy::geodesic_distance_m(p.lat, p.lon, lat, lon)
            } else {
                l
            };
            if s < winner.0 {
                winner = (s, e);
            }
        }
        if winner.1 == u32::MAX {
            return best;
        }
        // An edge much shorter than the distance cannot hide a nearer point: moving the
        // foot point by the edge length L changes the distance by at most L² / 2d, below
        // 1e-4 d when L < 0.014 d. Longer edges are minimised along their length.
        let (ax, ay, bx, by) = self.edges.get(winner.1);
        let len_m = 111_320.0 * ((by - ay).powi(2) + wrap_dlon(bx - ax).powi(2)).sqrt();
        if len_m < 0.014 * winner.0 {
            return winner.0;
        }
        if !lambert {
            return winner.0.min(geodesy::geodesic_segment_distance_m(
                p.lat,
                p.lon,
                (ax, ay),
                (bx, by),
            ));
        }
        // The plane's nearest point along the edge (curvature followed) is off the
        // geodesic one by about the plane's direction error times d, Δs ≲ 2ε·d (120 m at
        // 150 km), which costs (Δs)² / 2d (5 cm) at the stationary minimum. A parabola
        // through Karney distances at t and t ± 300 m removes most of that; every value
        // taken is a true distance to a point of the edge, so the answer never falls
        // below the minimum.
        let t = frame
            .refine_on_edge((ax, ay), (bx, by), self.plane_t(&frame, winner.1))
            .1;
        let dlon = wrap_dlon(bx - ax);
        let f = |t: f64| {
            let lon = wrap_dlon(ax + t * dlon);
            geodesy::geodesic_distance_m(p.lat, p.lon, ay + t * (by - ay), lon)
        };
        let h = (300.0 / len_m).min(0.25);
        let (t0, t1, t2) = ((t - h).max(0.0), t, (t + h).min(1.0));
        let (f0, f1, f2) = (f(t0), f(t1), f(t2));
        let mut out = winner.0.min(f0).min(f1).min(f2);
        // Vertex of the parabola through the three (distinct) samples.
        let den = (t1 - t0) * (f1 - f2) - (t1 - t2) * (f1 - f0);
        if t0 < t1 && t1 < t2 && den != 0.0 {
            let num = (t1 - t0).powi(2) * (f1 - f2) - (t1 - t2).powi(2) * (f1 - f0);
            let tv = (t1 - 0.5 * num / den).clamp(0.0, 1.0);
            out = out.min(f(tv));
        }
        out
    }

    /// The chord parameter of the plane-nearest point of edge `e`.
    fn plane_t(&self, frame: &LocalFrame, e: u32) -> f64 {
        let (ax, ay, bx, by) = self.edges.get(e);
        let i = e as usize;
        let pa = frame.project(ax, ay, self.edges.cos_lat[i]);
        let pb = frame.project(bx, by, self.edges.cos_lat[i + 1]);
        LocalFrame::seg_dist_sq(pa, pb).1
    }

    /// The point (lat, lon) of edge `e` nearest to the frame's centre in the plane,
    /// following the edge's curvature in the plane when it bows by more than a centimetre
    /// (as in `edge_distance`).
    fn plane_foot(&self, frame: &LocalFrame, e: u32) -> (f64, f64) {
        let (ax, ay, bx, by) = self.edges.get(e);
        let i = e as usize;
        let pa = frame.project(ax, ay, self.edges.cos_lat[i]);
        let pb = frame.project(bx, by, self.edges.cos_lat[i + 1]);
        let (_, mut t) = LocalFrame::seg_dist_sq(pa, pb);
        let dphi = (by - ay).to_radians().abs();
        let bow = (pb.0 - pa.0).abs() * dphi / 8.0 + (pa.0.abs() + pb.0.abs()) * dphi * dphi / 16.0;
        if bow > 0.01 {
            t = frame.refine_on_edge((ax, ay), (bx, by), t).1;
        }
        let lon = ax + t * wrap_dlon(bx - ax);
        let lat = ay + t * (by - ay);
        (lat, wrap_dlon(lon))
    }

    /// First meeting of the segment `a`–`b` (in longitude/latitude, `b` possibly beyond
    /// ±180° after unwrapping) with the boundary, restricted to parameters in [t0, t1] of
    /// the whole query segment, where this piece spans [t0, t1].
    fn first_hit(&self, a: (f64, f64), b: (f64, f64)) -> Option<f64> {
        let g = &self.fine;
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        // Segment bounding box against the zone's.
        if a.0.max(b.0) < self.bbox[0]
            || a.0.min(b.0) > self.bbox[2]
            || a.1.max(b.1) < self.bbox[1]
            || a.1.min(b.1) > self.bbox[3]
        {
            return None;
        }
        let slack = 1e-9;
        let row = |y: f64| ((y - g.y0) * g.inv).floor().clamp(0.0, g.ny as f64 - 1.0) as i64;
        let col = |x: f64| ((x - g.x0) * g.inv).floor().clamp(0.0, g.nx as f64 - 1.0) as i64;
        // Fast path: both ends in one non-boundary cell.
        if let (Some(ca), Some(cb)) = (g.cell_of(a.0, a.1), g.cell_of(b.0, b.1))
            && ca == cb
            && g.state(ca.0, ca.1) != CellState::Boundary
        {
            return None;
        }
        let (r0, r1) = (row(a.1.min(b.1) - slack), row(a.1.max(b.1) + slack));
        let mut best: Option<f64> = None;
        for k in 0..=(r1 - r0) {
            let r = if dy >= 0.0 { r0 + k } else { r1 - k };
            // Parameter range of the segment inside this row's band (widened).
            let (yb, yt) = (g.row_y(r) - slack, g.row_y(r + 1) + slack);
            let (ta, tb) = if dy != 0.0 {
                let (u, v) = ((yb - a.1) / dy, (yt - a.1) / dy);
                (u.min(v).max(0.0), u.max(v).min(1.0))
            } else {
                (0.0, 1.0)
            };
            if ta > tb {
                continue;
            }
            if let Some(t) = best
                && t < ta - 1e-12
            {
                break;
            }
            let (xa, xb) = (a.0 + dx * ta, a.0 + dx * tb);
            let (c0, c1) = (col(xa.min(xb) - slack), col(xa.max(xb) + slack));
            for k in 0..=(c1 - c0) {
                let c = if dx >= 0.0 { c0 + k } else { c1 - k };
                for &item in g.items(c as u32, r as u32) {
                    if item & SEAM != 0 {
                        continue;
                    }
                    let (ex0, ey0, ex1, ey1) = self.edges.get(item & EDGE);
                    if let Some(t) = segment_hit(a, b, (ex0, ey0), (ex1, ey1))
                        && best.is_none_or(|bt| t < bt)
                    {
                        best = Some(t);
                    }
                }
            }
        }
        best
    }
}

/// The smallest parameter t in (0, 1] at which segment p→q meets segment a–b, exactly
/// decided with orientation predicates (t itself is rounded). Contacts at t = 0 are
/// ignored: the query's start point lies on the boundary, and what follows is the next
/// contact. For a collinear overlap, the first overlapping point after t = 0.
fn segment_hit(p: (f64, f64), q: (f64, f64), a: (f64, f64), b: (f64, f64)) -> Option<f64> {
    let o1 = orient(p.0, p.1, q.0, q.1, a.0, a.1);
    let o2 = orient(p.0, p.1, q.0, q.1, b.0, b.1);
    if (o1 > 0.0 && o2 > 0.0) || (o1 < 0.0 && o2 < 0.0) {
        return None;
    }
    let o3 = orient(a.0, a.1, b.0, b.1, p.0, p.1);
    let o4 = orient(a.0, a.1, b.0, b.1, q.0, q.1);
    if (o3 > 0.0 && o4 > 0.0) || (o3 < 0.0 && o4 < 0.0) {
        return None;
    }
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return None;
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: project the edge's ends on the segment.
        let ta = ((a.0 - p.0) * dx + (a.1 - p.1) * dy) / len2;
        let tb = ((b.0 - p.0) * dx + (b.1 - p.1) * dy) / len2;
        let (lo, hi) = (ta.min(tb), ta.max(tb));
        if hi < 0.0 || lo > 1.0 {
            return None;
        }
        let t = if lo > 0.0 {
            lo
        } else if hi > 0.0 {
            hi.min(1.0)
        } else {
            return None;
        };
        return Some(t);
    }
    let (ex, ey) = (b.0 - a.0, b.1 - a.1);
    let den = dx * ey - dy * ex;
    let t = if den != 0.0 {
        (((a.0 - p.0) * ey - (a.1 - p.1) * ex) / den).clamp(0.0, 1.0)
    } else {
        0.0
    };
    if o3 == 0.0 && t <= 0.0 {
        // Touching at the start point only.
        return None;
    }
    Some(t.max(f64::MIN_POSITIVE))
}

/// The zones of a deployment with their query structures.
///
/// Built once at start-up ([`AirspaceIndex::new`]); every query is then allocation-free
/// (except distances farther than [`NEAR_LIMIT_M`] from a border, which refine a
/// handful of candidate edges with the true geodesic).
#[derive(Clone, Debug)]
pub struct AirspaceIndex {
    zones: Vec<Zone>,
    index: Vec<ZoneIndex>,
}

impl AirspaceIndex {
    /// Builds the grids of every zone (about 20 ms for a 26 000-vertex country).
    pub fn new(zones: Vec<Zone>) -> Self {
        let index = zones.iter().map(ZoneIndex::new).collect();
        AirspaceIndex { zones, index }
    }

    /// The zones, in [`ZoneId`] order.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The zone with this id, if any.
    pub fn zone(&self, id: ZoneId) -> Option<&Zone> {
        self.zones.get(id.0 as usize)
    }

    /// Clears `out` and fills it with the zones containing `p` laterally (closed set) and
    /// `alt_ft` vertically ([`Zone::contains_altitude`]; unknown altitude counts as
    /// inside). Allocation-free once `out` has room for the answer.
    pub fn locate(&self, p: GeoPoint, alt_ft: Option<i32>, out: &mut Vec<ZoneId>) {
        out.clear();
        for (i, (zone, zi)) in self.zones.iter().zip(&self.index).enumerate() {
            // Branch-free on the answer: the id is always written and dropped again when
            // the zone does not contain the point (a data-dependent branch here is
            // mispredicted for about half of all random points).
            let hit = zone.contains_altitude(alt_ft) & zi.contains(p);
            out.push(ZoneId(i as u32));
            let keep = out.len() - usize::from(!hit);
            out.truncate(keep);
        }
    }

    /// Whether `p` lies in the zone's lateral shape (boundary included). False for an
    /// unknown zone id.
    #[inline]
    pub fn contains(&self, zone: ZoneId, p: GeoPoint) -> bool {
        self.index
            .get(zone.0 as usize)
            .is_some_and(|z| z.contains(p))
    }

    /// Distance (metres, WGS-84 geodesic) from `p` to the zone's lateral boundary, holes
    /// included, from inside or outside; antimeridian seams are not boundary. Within
    /// [`NEAR_LIMIT_M`] the local-plane metric is used (relative error below
    /// [`NEAR_REL_ERR`]); farther, the nearest candidates are refined with Karney's
    /// geodesic. Infinity for an unknown zone or one without edges.
    pub fn distance_to_boundary_m(&self, zone: ZoneId, p: GeoPoint) -> f64 {
        self.index
            .get(zone.0 as usize)
            .map_or(f64::INFINITY, |z| z.distance_m(p, f64::INFINITY))
    }

    /// Whether `p` is outside the zone but within its `buffer_m` of the boundary (the
    /// approach-warning band).
    pub fn in_buffer(&self, zone: ZoneId, p: GeoPoint) -> bool {
        let (Some(z), Some(def)) = (
            self.index.get(zone.0 as usize),
            self.zones.get(zone.0 as usize),
        ) else {
            return false;
        };
        if def.buffer_m <= 0.0 || z.contains(p) {
            return false;
        }
        // The search stops as soon as nothing within the buffer can remain.
        z.distance_m(p, def.buffer_m * (1.0 + 2.0 * NEAR_REL_ERR)) <= def.buffer_m
    }

    /// The first point where the straight step `from` → `to` meets the zone's lateral
    /// boundary (a contact exactly at `from` is skipped), or `None`. A step whose
    /// longitude changes by more than 180° goes the short way, across the antimeridian;
    /// there the shape's seam edges are not boundary. `entering` is true when `from` is
    /// outside the zone.
    pub fn first_crossing(&self, zone: ZoneId, from: GeoPoint, to: GeoPoint) -> Option<Crossing> {
        let z = self.index.get(zone.0 as usize)?;
        let dlon = wrap_dlon(to.lon - from.lon);
        let a = (from.lon, from.lat);
        let b = (from.lon + dlon, to.lat);
        let entering = !z.contains(from);
        let make = |t: f64| {
            let lon = geodesy::wrap_dlon(from.lon + t * dlon);
            let lat = from.lat + t * (to.lat - from.lat);
            Crossing {
                point: GeoPoint::new(lat, lon),
                fraction: t,
                entering,
            }
        };
        if b.0 <= 180.0 && b.0 >= -180.0 {
            return z.first_hit(a, b).map(make);
        }
        // Split at the seam: a → seam, then the rest shifted by ∓360°.
        let seam = if b.0 > 180.0 { 180.0 } else { -180.0 };
        let ts = (seam - a.0) / dlon;
        let lat_s = a.1 + ts * (b.1 - a.1);
        if let Some(t) = z.first_hit(a, (seam, lat_s)) {
            return Some(make(t * ts));
        }
        let shift = -2.0 * seam;
        z.first_hit((seam + shift, lat_s), (b.0 + shift, b.1))
            .map(|t| make(ts + t * (1.0 - ts)))
    }

    /// Heap bytes held by the index structures (grids and edge lists; the zones' own
    /// geometry not included).
    pub fn heap_bytes(&self) -> usize {
        self.index
            .iter()
            .map(|z| {
                z.edges.heap_bytes()
                    + z.fine.heap_bytes()
                    + z.coarse.heap_bytes()
                    + z.tree.heap_bytes()
                    + z.coarse_row_cos.capacity() * 8
                    + z.hint.capacity() * 4
            })
            .sum::<usize>()
            + self.index.capacity() * std::mem::size_of::<ZoneIndex>()
    }

    /// Per-zone grid statistics: (fine columns, fine rows, fine boundary cells, fine
    /// listed edges), for reports and tests.
    pub fn grid_stats(&self, zone: ZoneId) -> Option<(u32, u32, usize, usize)> {
        let z = self.index.get(zone.0 as usize)?;
        let (b, i) = z.fine.counts();
        Some((z.fine.nx, z.fine.ny, b, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airspace::builtin;

    /// The far path (points 80–250 km inside Afghanistan, built-in zone) against a brute
    /// force over every edge: Karney's geodesic minimised along each edge
    /// (`geodesic_segment_distance_m`), skipping an edge only when the triangle inequality
    /// proves it farther than the best so far (distance to an end minus the edge's length).
    #[test]
    fn far_distances_match_brute_force() {
        let zone = builtin::load_country("AF").expect("AF");
        let mut edges = Vec::new();
        for poly in &zone.shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    edges.push(((w[0].x, w[0].y), (w[1].x, w[1].y)));
                }
            }
        }
        let idx = AirspaceIndex::new(vec![zone]);
        let z = ZoneId(0);
        let mut s = 2024u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut checked, mut worst) = (0, 0f64);
        while checked < 12 {
            let p = GeoPoint::new(30.0 + 8.0 * rnd(), 61.0 + 10.0 * rnd());
            let got = idx.distance_to_boundary_m(z, p);
            if !idx.contains(z, p) || !(80e3..=250e3).contains(&got) {
                continue;
            }
            let mut best = f64::INFINITY;
            for &(a, b) in &edges {
                let da = geodesy::geodesic_distance_m(p.lat, p.lon, a.1, a.0);
                let len = geodesy::geodesic_distance_m(a.1, a.0, b.1, b.0);
                if da - len >= best {
                    continue;
                }
                best = best.min(geodesy::geodesic_segment_distance_m(p.lat, p.lon, a, b));
            }
            // Far tighter than the 0.1 % contract (errors are of second order, well
            // under a metre at these distances).
            assert!(
                (got - best).abs() <= 1.0,
                "{p:?}: index {got} m, brute force {best} m"
            );
            worst = worst.max((got - best).abs());
            checked += 1;
        }
        eprintln!("far path: worst error {worst} m");
    }
}
