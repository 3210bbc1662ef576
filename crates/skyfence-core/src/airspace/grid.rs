//! The cell grid behind every zone query.
//!
//! A zone's bounding box (longitude × latitude, degrees) is cut into square cells. Each
//! cell is *outside*, *inside* or *boundary*: a boundary cell's closed rectangle touches
//! at least one polygon edge, so every point of a non-boundary cell has the same
//! inside/outside answer. Cell states cost two bits (two `u64` bitmaps); boundary cells
//! own a list of the edges that touch them (CSR: `starts` + `items`, `u32` edge ids),
//! reached through a rank over the boundary bitmap (a `u32` running count per 64 cells),
//! so the whole point-in-polygon structure of a country the size of Afghanistan stays in
//! a few hundred kilobytes.
//!
//! Edge-to-cell assignment is conservative: per row, the cells covering the segment's
//! x-range inside the row's band, both widened by [`SLACK_DEG`]. Over-listing is harmless
//! (every test on an edge is exact); what matters is that an edge is never missing from
//! a cell it touches, and that in one row the cells listing an edge are contiguous.

/// Widening of every edge/cell overlap test, degrees (≈ 0.1 mm): far above the rounding
/// of the clipping arithmetic (~1e-13°), far below any cell size.
const SLACK_DEG: f64 = 1e-9;

/// Item flag: the edge is also listed in the cell to the left in the same row.
pub(crate) const LEFT: u32 = 1 << 31;
/// Item flag: the edge lies on the antimeridian (both ends at ±180°): it closes a polygon
/// split at the seam and is not a border; distance and crossing queries skip it.
pub(crate) const SEAM: u32 = 1 << 30;
/// Mask of the edge id in an item.
pub(crate) const EDGE: u32 = SEAM - 1;
/// The boundary bits of a cell word (even bits).
const BOUNDARY_BITS: u64 = 0x5555_5555_5555_5555;

/// Polygon edges as a flat vertex list: edge `e` runs from vertex `e` to vertex `e + 1`;
/// only ids that start a real edge (not the last vertex of a ring) are ever listed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Edges {
    /// Longitudes, degrees.
    pub x: Vec<f64>,
    /// Latitudes, degrees.
    pub y: Vec<f64>,
    /// cos(latitude) per vertex, for the distance frame.
    pub cos_lat: Vec<f64>,
    /// Ids of the real edges (start vertices), and whether each lies on the seam.
    pub ids: Vec<(u32, bool)>,
}

impl Edges {
    /// Collects the rings of a multipolygon (exterior and holes alike: for crossing
    /// numbers and distances a hole's ring is just more boundary). Zero-length edges are
    /// dropped; rings are closed if the input forgot to.
    pub fn from_multipolygon(shape: &geo_types::MultiPolygon<f64>) -> Self {
        let mut e = Edges::default();
        for poly in &shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let pts = &ring.0;
                if pts.len() < 2 {
                    continue;
                }
                let start = e.x.len();
                for c in pts {
                    e.push_vertex(c.x, c.y);
                }
                if pts.first() != pts.last() {
                    e.push_vertex(pts[0].x, pts[0].y);
                }
                for i in start..e.x.len() - 1 {
                    let (ax, ay, bx, by) = (e.x[i], e.y[i], e.x[i + 1], e.y[i + 1]);
                    if ax == bx && ay == by {
                        continue;
                    }
                    let seam = ax == bx && ax.abs() == 180.0;
                    e.ids.push((i as u32, seam));
                }
            }
        }
        e
    }

    fn push_vertex(&mut self, x: f64, y: f64) {
        self.x.push(x);
        self.y.push(y);
        self.cos_lat.push(y.to_radians().cos());
    }

    /// The end points of edge `e`: (ax, ay, bx, by).
    #[inline]
    pub fn get(&self, e: u32) -> (f64, f64, f64, f64) {
        let i = e as usize;
        (self.x[i], self.y[i], self.x[i + 1], self.y[i + 1])
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        (self.x.capacity() + self.y.capacity() + self.cos_lat.capacity()) * 8
            + self.ids.capacity() * std::mem::size_of::<(u32, bool)>()
    }
}

/// Exact orientation of `p` against the directed line `a → b`: > 0 left, < 0 right,
/// 0 collinear (Shewchuk's adaptive predicate, via the `robust` crate).
#[inline]
pub(crate) fn orient(ax: f64, ay: f64, bx: f64, by: f64, px: f64, py: f64) -> f64 {
    robust::orient2d(
        robust::Coord { x: ax, y: ay },
        robust::Coord { x: bx, y: by },
        robust::Coord { x: px, y: py },
    )
}

/// One zone's cell grid (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    /// West edge of column 0, degrees.
    pub x0: f64,
    /// South edge of row 0, degrees.
    pub y0: f64,
    /// Cell size, degrees (square cells).
    pub cell: f64,
    /// 1 / `cell`.
    pub inv: f64,
    /// Columns.
    pub nx: u32,
    /// Rows.
    pub ny: u32,
    /// Whether the columns span all 360° of longitude (the zone crosses the antimeridian):
    /// then ring searches wrap around.
    pub wraps: bool,
    /// `nx` as a float (bounds test of the hot path).
    nxf: f64,
    /// `ny` as a float.
    nyf: f64,
    /// Two bits per cell, 32 cells per word: bit 2k = boundary, bit 2k+1 = inside
    /// (meaningful for non-boundary cells). One load answers most points.
    cells: Vec<u64>,
    /// Number of boundary cells before each 32-cell word.
    rank: Vec<u32>,
    /// CSR offsets into `items`, one per boundary cell plus one.
    starts: Vec<u32>,
    /// Edge ids with the `LEFT` / `SEAM` flags.
    items: Vec<u32>,
}

/// What a cell says about the points in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellState {
    /// Every point of the cell is outside.
    Outside,
    /// Every point of the cell is inside.
    Inside,
    /// The cell touches the boundary: its edges decide.
    Boundary,
}

impl Grid {
    /// Builds a grid of about `target_cells` cells over the edges' bounding box.
    pub fn build(edges: &Edges, target_cells: usize) -> Self {
        let (mut minx, mut miny, mut maxx, mut maxy) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
        for &(e, _) in &edges.ids {
            let (ax, ay, bx, by) = edges.get(e);
            minx = minx.min(ax.min(bx));
            maxx = maxx.max(ax.max(bx));
            miny = miny.min(ay.min(by));
            maxy = maxy.max(ay.max(by));
        }
        if edges.ids.is_empty() {
            (minx, miny, maxx, maxy) = (0.0, 0.0, 0.0, 0.0);
        }
        let wraps = minx <= -180.0 && maxx >= 180.0;
        let (w, h) = ((maxx - minx).max(1e-6), (maxy - miny).max(1e-6));
        let target = target_cells.max(16) as f64;
        let mut cell = (w * h / target).sqrt();
        // A grid at least 4 cells across in each direction, and no cell wider than 2°.
        cell = cell.min(w / 4.0).min(h / 4.0).clamp(1e-5, 2.0);
        let (x0, nx) = if wraps {
            // Exactly 360° of columns, so that column arithmetic wraps cleanly.
            let nx = (360.0 / cell).ceil();
            cell = 360.0 / nx;
            (-180.0, nx as u32)
        } else {
            let nx = ((w / cell).floor() + 2.0) as u32;
            (minx - 0.5 * (nx as f64 * cell - w), nx)
        };
        let ny = ((h / cell).floor() + 2.0) as u32;
        let y0 = miny - 0.5 * (ny as f64 * cell - h);
        let mut g = Grid {
            x0,
            y0,
            cell,
            inv: 1.0 / cell,
            nx,
            ny,
            wraps,
            nxf: nx as f64,
            nyf: ny as f64,
            cells: Vec::new(),
            rank: Vec::new(),
            starts: Vec::new(),
            items: Vec::new(),
        };
        g.fill(edges);
        g
    }

    /// Column of a longitude, clamped to the grid (a point left of the grid maps to -1
    /// as a signed column; callers use [`Grid::col`] for clamped lookups).
    #[inline]
    fn col_f(&self, x: f64) -> f64 {
        ((x - self.x0) * self.inv).floor()
    }

    #[inline]
    fn row_f(&self, y: f64) -> f64 {
        ((y - self.y0) * self.inv).floor()
    }

    /// The cell (column, row) containing a point, or `None` outside the grid.
    #[inline]
    pub fn cell_of(&self, x: f64, y: f64) -> Option<(u32, u32)> {
        let c = (x - self.x0) * self.inv;
        let r = (y - self.y0) * self.inv;
        if c >= 0.0 && r >= 0.0 && c < self.nxf && r < self.nyf {
            Some((c as u32, r as u32))
        } else {
            None
        }
    }

    /// The cell nearest a point (clamped), as signed indices.
    #[inline]
    pub fn clamped_cell(&self, x: f64, y: f64) -> (i64, i64) {
        let c = self.col_f(x).clamp(0.0, self.nx as f64 - 1.0) as i64;
        let r = self.row_f(y).clamp(0.0, self.ny as f64 - 1.0) as i64;
        (c, r)
    }

    /// State of cell (column, row), both in range.
    #[inline]
    pub fn state(&self, c: u32, r: u32) -> CellState {
        let i = (r as usize) * (self.nx as usize) + c as usize;
        match (self.cells[i >> 5] >> ((i & 31) * 2)) & 3 {
            0 => CellState::Outside,
            2 => CellState::Inside,
            _ => CellState::Boundary,
        }
    }

    /// The items (flagged edge ids) of boundary cell (column, row); empty for other cells.
    #[inline]
    pub fn items(&self, c: u32, r: u32) -> &[u32] {
        let i = (r as usize) * (self.nx as usize) + c as usize;
        let (w, b) = (i >> 5, (i & 31) * 2);
        let word = self.cells[w];
        if (word >> b) & 1 == 0 {
            return &[];
        }
        let below = word & BOUNDARY_BITS & ((1u64 << b) - 1);
        let k = self.rank[w] as usize + below.count_ones() as usize;
        &self.items[self.starts[k] as usize..self.starts[k + 1] as usize]
    }

    /// Exact point-in-polygon for a point in boundary cell (`c`, `r`): points on an edge
    /// or vertex count as inside (a closed set).
    ///
    /// Crossing number along the ray to +x, cut where the ray enters the first
    /// non-boundary cell K to the right (whose state gives the parity of the rest of the
    /// ray: its closed rectangle touches no edge). Edges crossing the ray before K are
    /// listed in the boundary cells c..K-1 of the row; an edge listed in several of them
    /// is counted only in the leftmost (the `LEFT` flag). Half-open rule on y and exact
    /// orientation make the count exact, the same rule as `geo`'s `Contains`.
    pub fn boundary_contains(&self, edges: &Edges, c: u32, r: u32, px: f64, py: f64) -> bool {
        let mut odd = false;
        for &item in self.items(c, r) {
            let (ax, ay, bx, by) = edges.get(item & EDGE);
            let straddles = (ay <= py) != (by <= py);
            let in_box =
                px >= ax.min(bx) && px <= ax.max(bx) && py >= ay.min(by) && py <= ay.max(by);
            if !straddles && !in_box {
                continue;
            }
            let o = orient(ax, ay, bx, by, px, py);
            if o == 0.0 && in_box {
                return true;
            }
            if straddles && (o > 0.0) == (by > ay) {
                odd = !odd;
            }
        }
        let mut k = c + 1;
        while k < self.nx {
            match self.state(k, r) {
                CellState::Boundary => {}
                CellState::Inside => return !odd,
                CellState::Outside => return odd,
            }
            for &item in self.items(k, r) {
                if item & LEFT != 0 {
                    continue;
                }
                let (ax, ay, bx, by) = edges.get(item & EDGE);
                if (ay <= py) != (by <= py) {
                    let o = orient(ax, ay, bx, by, px, py);
                    if (o > 0.0) == (by > ay) {
                        odd = !odd;
                    }
                }
            }
            k += 1;
        }
        odd
    }

    /// Whether a point is inside (closed set), using the grid.
    #[inline]
    pub fn contains(&self, edges: &Edges, px: f64, py: f64) -> bool {
        // Branch-free on the common path: random points make "in the grid?" and
        // "inside?" unpredictable, and a mispredicted branch costs more than the lookup.
        // The saturating casts clamp the cell into the grid; `in_grid` masks the answer.
        let c = (px - self.x0) * self.inv;
        let r = (py - self.y0) * self.inv;
        let in_grid = (c >= 0.0) & (r >= 0.0) & (c < self.nxf) & (r < self.nyf);
        let (c, r) = ((c as u32).min(self.nx - 1), (r as u32).min(self.ny - 1));
        let i = (r as usize) * (self.nx as usize) + c as usize;
        let state = (self.cells[i >> 5] >> ((i & 31) * 2)) & 3;
        if state == 1 && in_grid {
            return self.boundary_contains(edges, c, r, px, py);
        }
        in_grid & (state == 2)
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.cells.capacity() * 8
            + (self.rank.capacity() + self.starts.capacity() + self.items.capacity()) * 4
    }

    /// Number of boundary cells and of listed items (for diagnostics and tests).
    pub fn counts(&self) -> (usize, usize) {
        (self.starts.len().saturating_sub(1), self.items.len())
    }

    /// West longitude of column `c` (may exceed the grid for ring searches).
    #[inline]
    pub fn col_x(&self, c: i64) -> f64 {
        self.x0 + c as f64 * self.cell
    }

    /// South latitude of row `r`.
    #[inline]
    pub fn row_y(&self, r: i64) -> f64 {
        self.y0 + r as f64 * self.cell
    }

    /// Assigns edges to cells, then classifies the other cells.
    fn fill(&mut self, edges: &Edges) {
        let (nx, ny) = (self.nx as i64, self.ny as i64);
        let ncells = (nx * ny) as usize;
        // (cell, item) pairs.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(edges.ids.len() * 3);
        for &(e, seam) in &edges.ids {
            let (ax, ay, bx, by) = edges.get(e);
            let flag = if seam { SEAM } else { 0 };
            let r0 = self
                .row_f(ay.min(by) - SLACK_DEG)
                .clamp(0.0, (ny - 1) as f64) as i64;
            let r1 = self
                .row_f(ay.max(by) + SLACK_DEG)
                .clamp(0.0, (ny - 1) as f64) as i64;
            for r in r0..=r1 {
                let (yb, yt) = (self.row_y(r) - SLACK_DEG, self.row_y(r + 1) + SLACK_DEG);
                // The part of the segment within the band yb..yt, as an x-range.
                let (mut xl, mut xr) = (ax.min(bx), ax.max(bx));
                if ay != by {
                    let at = |y: f64| ax + (bx - ax) * ((y - ay) / (by - ay));
                    let (ylo, yhi) = (ay.min(by).max(yb), ay.max(by).min(yt));
                    let (x1, x2) = (at(ylo), at(yhi));
                    xl = x1.min(x2).max(ax.min(bx));
                    xr = x1.max(x2).min(ax.max(bx));
                }
                let c0 = self.col_f(xl - SLACK_DEG).clamp(0.0, (nx - 1) as f64) as i64;
                let c1 = self.col_f(xr + SLACK_DEG).clamp(0.0, (nx - 1) as f64) as i64;
                for c in c0..=c1 {
                    let left = if c > c0 { LEFT } else { 0 };
                    pairs.push(((r * nx + c) as u32, e | flag | left));
                }
            }
        }
        pairs.sort_unstable_by_key(|&(cell, item)| (cell, item & EDGE));
        pairs.dedup_by_key(|p| (p.0, p.1 & EDGE));

        let words = ncells.div_ceil(32);
        self.cells = vec![0; words];
        self.rank = vec![0; words];
        self.items = Vec::with_capacity(pairs.len());
        self.starts = Vec::new();
        let mut last = u32::MAX;
        for &(cell, item) in &pairs {
            if cell != last {
                self.starts.push(self.items.len() as u32);
                self.cells[cell as usize >> 5] |= 1 << ((cell & 31) * 2);
                last = cell;
            }
            self.items.push(item);
        }
        self.starts.push(self.items.len() as u32);
        let mut run = 0u32;
        for w in 0..words {
            self.rank[w] = run;
            run += (self.cells[w] & BOUNDARY_BITS).count_ones();
        }

        // Classify the other cells by the parity at each row's centre line (no edge
        // touches a non-boundary cell, so its centre speaks for all of it).
        let mut row_edges: Vec<Vec<u32>> = vec![Vec::new(); ny as usize];
        for &(cell, item) in &pairs {
            if item & LEFT == 0 {
                row_edges[(cell as i64 / nx) as usize].push(item & EDGE);
            }
        }
        let mut xs: Vec<f64> = Vec::new();
        for r in 0..ny {
            let yc = self.row_y(r) + 0.5 * self.cell;
            xs.clear();
            for &e in &row_edges[r as usize] {
                let (ax, ay, bx, by) = edges.get(e);
                if (ay <= yc) != (by <= yc) {
                    xs.push(ax + (bx - ax) * ((yc - ay) / (by - ay)));
                }
            }
            xs.sort_unstable_by(f64::total_cmp);
            // Crossings to the right of the cell centre, scanning right to left.
            let mut k = xs.len();
            for c in (0..nx).rev() {
                let xc = self.col_x(c) + 0.5 * self.cell;
                while k > 0 && xs[k - 1] > xc {
                    k -= 1;
                }
                let right = xs.len() - k;
                let i = (r * nx + c) as usize;
                let bit = (i & 31) * 2;
                if right % 2 == 1 && (self.cells[i >> 5] >> bit) & 1 == 0 {
                    self.cells[i >> 5] |= 2 << bit;
                }
            }
        }
    }
}
