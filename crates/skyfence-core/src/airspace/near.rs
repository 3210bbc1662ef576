//! Near-border distances: a tree of bounding boxes over the boundary's edges, in ring
//! order, searched in the query's [`LocalFrame`].
//!
//! Why not the grid: a grid cell prunes by its square, wherever the border runs inside
//! it. A point 25 km from a border sees every edge of every cell the 25 km circle
//! reaches, ~2·√(2 d c) of border for cells of size c: with Afghanistan's 9.5 km coarse
//! cells that is ~45 km of border, 200+ edges, 2.5 µs. Boxes over runs of consecutive
//! edges follow the border instead: a run's box sticks out of the border by a fraction
//! of the run's length, so only runs near the nearest point survive.
//!
//! Layout: the zone's edge list ([`Edges::ids`], ring order) cut into leaves of [`LEAF`]
//! edges; every level above groups [`FANOUT`] nodes of the level below, up to one root.
//! A node is a longitude/latitude box in `f32` (rounded outwards, so it still contains
//! its edges) and a lower bound of cos(latitude) over it: 20 bytes, ~87 kB for
//! Afghanistan. Seam edges stay in the leaves (their boxes include them, which is only
//! conservative) and are skipped when a leaf is scanned.
//!
//! Search: depth first, children visited nearest box first, a node skipped as soon as
//! its box's lower bound ([`LocalFrame::box_lower_bound_sq`], exact in the plane metric)
//! reaches the best edge so far. The answer is the smallest local-plane distance over
//! all edges, the same quantity the grid search approximated with a stop factor. A query
//! within 50 km of Afghanistan's border computes ~30 box bounds and scans ~2 leaves,
//! nearly the same with a perfect first guess as with none: the cost is the tree's depth.

use super::geodesy::LocalFrame;
use super::grid::Edges;

/// Edges per leaf (8 and 16 measured alike; 32 is 20 % slower on Afghanistan).
const LEAF: usize = 8;
/// Children per inner node. Measured on Afghanistan (points within 50 km): four
/// children beat eight by 7 % (both with an insertion sort), and sorting the four with a
/// branch-free network instead saved another 10 %.
const FANOUT: usize = 4;
/// Deepest tree the fixed search stack allows: 4^16 leaves of 8 edges, more than a
/// `u32` edge id can number.
const MAX_LEVELS: usize = 17;
/// Search stack: each expansion replaces a node by at most `FANOUT` children.
const STACK: usize = 1 + MAX_LEVELS * (FANOUT - 1);
// The child slot takes two key bits and the sorting network sorts four.
const _: () = assert!(FANOUT == 4);

/// A node's box: (min lon, min lat, max lon, max lat) and a lower bound of cos(lat).
#[derive(Clone, Copy, Debug)]
struct NodeBox {
    lon0: f32,
    lat0: f32,
    lon1: f32,
    lat1: f32,
    cos_min: f32,
}

impl NodeBox {
    const EMPTY: NodeBox = NodeBox {
        lon0: f32::INFINITY,
        lat0: f32::INFINITY,
        lon1: f32::NEG_INFINITY,
        lat1: f32::NEG_INFINITY,
        cos_min: 1.0,
    };

    fn add(&mut self, lon: f64, lat: f64) {
        self.lon0 = self.lon0.min(down(lon));
        self.lat0 = self.lat0.min(down(lat));
        self.lon1 = self.lon1.max(up(lon));
        self.lat1 = self.lat1.max(up(lat));
    }

    fn union(&mut self, o: &NodeBox) {
        self.lon0 = self.lon0.min(o.lon0);
        self.lat0 = self.lat0.min(o.lat0);
        self.lon1 = self.lon1.max(o.lon1);
        self.lat1 = self.lat1.max(o.lat1);
    }

    /// Sets `cos_min` from the (rounded) latitude range, rounded down with a margin far
    /// above `cos`'s error.
    fn finish(&mut self) {
        let far = (self.lat0 as f64)
            .abs()
            .max((self.lat1 as f64).abs())
            .min(90.0);
        self.cos_min = down((far.to_radians().cos() * (1.0 - 1e-9) - 1e-12).max(0.0));
    }

    #[inline]
    fn lower_bound_sq(&self, frame: &LocalFrame) -> f64 {
        frame.box_lower_bound_sq(
            self.lon0 as f64,
            self.lat0 as f64,
            self.lon1 as f64,
            self.lat1 as f64,
            self.cos_min as f64,
        )
    }
}

/// The largest `f32` not above `v`.
fn down(v: f64) -> f32 {
    let f = v as f32;
    if f as f64 > v { f.next_down() } else { f }
}

/// The smallest `f32` not below `v`.
fn up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v { f.next_up() } else { f }
}

/// The box tree of one zone (see the module documentation).
#[derive(Clone, Debug, Default)]
pub(crate) struct EdgeTree {
    /// Every level's nodes, leaves first, the root last.
    nodes: Vec<NodeBox>,
    /// Start of each level in `nodes` (level 0: leaves), plus the end.
    levels: Vec<u32>,
}

impl EdgeTree {
    /// Builds the tree over a zone's edge list.
    pub fn build(edges: &Edges) -> Self {
        let mut nodes = Vec::with_capacity(edges.ids.len().div_ceil(LEAF) * 8 / 7 + 2);
        let mut levels = vec![0u32];
        for chunk in edges.ids.chunks(LEAF) {
            let mut b = NodeBox::EMPTY;
            for &(e, _) in chunk {
                let (ax, ay, bx, by) = edges.get(e);
                b.add(ax, ay);
                b.add(bx, by);
            }
            b.finish();
            nodes.push(b);
        }
        let mut start = 0;
        while nodes.len() - start > 1 {
            let end = nodes.len();
            levels.push(end as u32);
            for k in (start..end).step_by(FANOUT) {
                let mut b = NodeBox::EMPTY;
                for c in &nodes[k..(k + FANOUT).min(end)] {
                    b.union(c);
                }
                b.finish();
                nodes.push(b);
            }
            start = end;
        }
        levels.push(nodes.len() as u32);
        // 2^32 edges would be needed to overflow the stack's depth bound.
        debug_assert!(levels.len() - 1 <= MAX_LEVELS);
        EdgeTree { nodes, levels }
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<NodeBox>() + self.levels.capacity() * 4
    }

    /// The smallest local-plane distance (metres) from the frame's centre to an edge,
    /// when it is below both `upper` (a distance already known, e.g. of a hint edge) and
    /// `cap`; otherwise `upper` (boxes at `cap` or beyond are not opened). Edges bowing by
    /// more than a centimetre in the plane are measured along their curve
    /// ([`LocalFrame::curve_distance_m`]), as the grid search does.
    pub fn nearest(&self, edges: &Edges, frame: &LocalFrame, upper: f64, cap: f64) -> f64 {
        if self.nodes.is_empty() || self.levels.len() < 2 {
            return upper;
        }
        let top = self.levels.len() - 2;
        let root = self.levels[top];
        let mut best = upper;
        // Squared distances are non-negative, so their bit patterns order like the
        // values: a child's key is its squared lower bound with the two lowest mantissa
        // bits replaced by its slot (a bound lowered by 2⁻⁵¹ relative is still a bound).
        let limit_key = |best: f64| {
            let l = best.min(cap);
            (l * l).to_bits()
        };
        // (key, level, index in `nodes`; a leaf's index is its number).
        let mut stack = [(0u64, 0u32, 0u32); STACK];
        stack[0] = (0, top as u32, root);
        let mut len = 1;
        while len > 0 {
            len -= 1;
            let (key, level, node) = stack[len];
            if key >= limit_key(best) {
                continue;
            }
            if level == 0 {
                let k = node as usize * LEAF;
                let leaf = &edges.ids[k..(k + LEAF).min(edges.ids.len())];
                best = self.scan_leaf(edges, frame, leaf, best, cap);
                continue;
            }
            // Children of `node` on the level below (which ends where this level starts).
            let lv = level as usize;
            let c0 = self.levels[lv - 1] as usize + (node - self.levels[lv]) as usize * FANOUT;
            let c1 = (c0 + FANOUT).min(self.levels[lv] as usize);
            // Missing children (the last node of a level) get a key above any limit.
            let mut keys = [u64::MAX; FANOUT];
            for (k, c) in (c0..c1).enumerate() {
                keys[k] = (self.nodes[c].lower_bound_sq(frame).to_bits() & !3) | k as u64;
            }
            // Sorting network (ascending), compiled to conditional moves: the order of
            // random boxes is unpredictable, and mispredicted branches were most of the
            // cost of the insertion sort this replaces.
            for (i, j) in [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)] {
                let (a, b) = (keys[i], keys[j]);
                keys[i] = a.min(b);
                keys[j] = a.max(b);
            }
            // Farthest first, so the nearest is popped next; every child is written and
            // only those below the limit are kept (again without a branch).
            let lim = limit_key(best);
            for &k in keys.iter().rev() {
                stack[len] = (k, level - 1, (c0 + (k & 3) as usize) as u32);
                len += usize::from(k < lim);
            }
        }
        best
    }

    /// Plane distances to a leaf's edges; consecutive edges share their vertex's
    /// projection.
    #[inline]
    fn scan_leaf(
        &self,
        ed: &Edges,
        frame: &LocalFrame,
        leaf: &[(u32, bool)],
        mut best: f64,
        cap: f64,
    ) -> f64 {
        let mut prev = (u32::MAX, (0.0, 0.0));
        for &(e, seam) in leaf {
            if seam {
                continue;
            }
            let i = e as usize;
            let pa = if prev.0 == e {
                prev.1
            } else {
                frame.project(ed.x[i], ed.y[i], ed.cos_lat[i])
            };
            let pb = frame.project(ed.x[i + 1], ed.y[i + 1], ed.cos_lat[i + 1]);
            prev = (e + 1, pb);
            let (d2, t) = LocalFrame::seg_dist_sq(pa, pb);
            // The image of a lon/lat-straight edge bows away from the chord between its
            // projected ends by about |Δx|·|Δφ|·sin φ / 8 + x·Δφ² / 16 (see
            // `ZoneIndex::edge_distance`).
            let dphi = (ed.y[i + 1] - ed.y[i]).to_radians().abs();
            let bow =
                (pb.0 - pa.0).abs() * dphi / 8.0 + (pa.0.abs() + pb.0.abs()) * dphi * dphi / 16.0;
            let reach = best.min(cap) + bow;
            if d2 >= reach * reach {
                continue;
            }
            let d = if bow > 0.01 {
                frame
                    .curve_distance_m((ed.x[i], ed.y[i]), (ed.x[i + 1], ed.y[i + 1]), t)
                    .0
            } else {
                d2.sqrt()
            };
            if d < best {
                best = d;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airspace::builtin;
    use proptest::prelude::*;

    /// The plane minimum over every edge, independently of the tree: chord distance
    /// first, then the bracketing search along each edge that could come within its
    /// bow of the best ([`LocalFrame::refine_on_edge`], not the Newton steps the tree
    /// uses).
    fn brute_force(edges: &Edges, frame: &LocalFrame) -> f64 {
        let mut best = f64::INFINITY;
        for &(e, seam) in &edges.ids {
            if seam {
                continue;
            }
            let (ax, ay, bx, by) = edges.get(e);
            let pa = frame.project(ax, ay, ay.to_radians().cos());
            let pb = frame.project(bx, by, by.to_radians().cos());
            let (d2, t) = LocalFrame::seg_dist_sq(pa, pb);
            // Generous: any edge whose chord is within 1 km of the best is refined.
            if d2.sqrt() - 1_000.0 < best {
                best = best.min(frame.refine_on_edge((ax, ay), (bx, by), t).0);
            }
        }
        best
    }

    /// Built-in Afghanistan (26 021 vertices, long straight edges on the Iran and
    /// Pakistan borders) and points up to 1° around its box: the tree's answer equals
    /// the brute-force plane minimum to a centimetre (the tree keeps the chord of an edge
    /// bowing by less), with no upper bound given and with the 50 km cap (then beyond
    /// the cap the answer only has to stay beyond it).
    #[test]
    fn afghanistan_tree_equals_brute_force_plane_minimum() {
        let zone = builtin::load_country("AF").expect("AF");
        let edges = Edges::from_multipolygon(&zone.shape);
        let tree = EdgeTree::build(&edges);
        let mut s = 77u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut near = 0;
        for _ in 0..150 {
            let (lat, lon) = (28.4 + 11.0 * rnd(), 59.5 + 16.0 * rnd());
            let frame = LocalFrame::new(lat, lon);
            let want = brute_force(&edges, &frame);
            let got = tree.nearest(&edges, &frame, f64::INFINITY, f64::INFINITY);
            assert!((got - want).abs() <= 0.01, "{lat} {lon}: {got} vs {want}");
            let capped = tree.nearest(&edges, &frame, f64::INFINITY, 50e3);
            if want <= 50e3 {
                near += 1;
                assert!(
                    (capped - want).abs() <= 0.01,
                    "{lat} {lon}: {capped} vs {want}"
                );
            } else {
                assert!(capped > 50e3, "{lat} {lon}: {capped} vs {want}");
            }
        }
        assert!(near > 20, "{near}");
    }

    /// A 330 km edge (bowing by about 90 m in the plane): the Newton steps land on the
    /// bracketing search's minimum.
    #[test]
    fn newton_matches_bracketing_on_a_long_edge() {
        let frame = LocalFrame::new(34.0, 69.0);
        let (a, b) = ((67.5, 33.0), (70.5, 35.2));
        let pa = frame.project(a.0, a.1, a.1.to_radians().cos());
        let pb = frame.project(b.0, b.1, b.1.to_radians().cos());
        let (d2, t) = LocalFrame::seg_dist_sq(pa, pb);
        let slow = frame.refine_on_edge(a, b, t);
        let fast = frame.curve_distance_m(a, b, t);
        assert!((slow.0 - fast.0).abs() < 1e-3, "{slow:?} {fast:?}");
        assert!((d2.sqrt() - fast.0).abs() > 1.0, "the curve matters here");
    }

    proptest! {
        /// The box bound never exceeds the plane distance of a point of the box, for
        /// any query latitude, longitude (shifted by ±360° as the index may do) and
        /// box, antimeridian and poles included.
        #[test]
        fn box_bound_is_a_lower_bound(
            lat in -89.0f64..89.0,
            lon in -180.0f64..180.0,
            shift in prop::sample::select(vec![-360.0, 0.0, 0.0, 360.0]),
            lon0 in -180.0f64..180.0,
            width in prop::sample::select(vec![0.001, 0.1, 2.0, 30.0, 179.0, 360.0]),
            lat0 in -90.0f64..90.0,
            height in 0.0f64..10.0,
            u in 0.0f64..1.0,
            v in 0.0f64..1.0,
        ) {
            let lon1 = (lon0 + width).min(180.0);
            let lat1 = (lat0 + height).min(90.0);
            let mut b = NodeBox::EMPTY;
            b.add(lon0, lat0);
            b.add(lon1, lat1);
            b.finish();
            let frame = LocalFrame::new(lat, lon + shift);
            let (qx, qy) = (lon0 + u * (lon1 - lon0), lat0 + v * (lat1 - lat0));
            let (x, y) = frame.project(qx, qy, qy.to_radians().cos());
            let lb = b.lower_bound_sq(&frame);
            prop_assert!(lb <= (x * x + y * y) * (1.0 + 1e-12) + 1e-9, "{lb} > {}", x * x + y * y);
        }
    }
}
