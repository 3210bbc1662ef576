//! The questions the detector asks about zones, as a trait so the state machine can be
//! checked against a brute-force reference (tests) as well as run on the real
//! [`AirspaceIndex`].

use crate::GeoPoint;
use crate::airspace::{AirspaceIndex, Crossing, Zone, ZoneId};

/// Zone queries (the contract of [`AirspaceIndex`]; see its documentation for the
/// geometric conventions: closed sets, edges straight in longitude/latitude).
pub trait ZoneQueries {
    /// The zones, in [`ZoneId`] order.
    fn zones(&self) -> &[Zone];
    /// Clears `out` and fills it with the zones whose lateral shape contains `p`
    /// (altitude ignored). Must not allocate once `out` has room.
    fn locate_lateral(&self, p: GeoPoint, out: &mut Vec<ZoneId>);
    /// Whether the zone's lateral shape contains `p`.
    fn contains(&self, zone: ZoneId, p: GeoPoint) -> bool;
    /// Metres from `p` to the zone's lateral boundary (holes included).
    fn distance_to_boundary_m(&self, zone: ZoneId, p: GeoPoint) -> f64;
    /// Where the step `from` → `to` first meets the zone's lateral boundary.
    fn first_crossing(&self, zone: ZoneId, from: GeoPoint, to: GeoPoint) -> Option<Crossing>;
    /// Whether `p` is outside the zone but within `buffer_m` of it.
    fn in_buffer(&self, zone: ZoneId, p: GeoPoint) -> bool;
}

impl ZoneQueries for AirspaceIndex {
    #[inline]
    fn zones(&self) -> &[Zone] {
        AirspaceIndex::zones(self)
    }
    #[inline]
    fn locate_lateral(&self, p: GeoPoint, out: &mut Vec<ZoneId>) {
        self.locate(p, None, out);
    }
    #[inline]
    fn contains(&self, zone: ZoneId, p: GeoPoint) -> bool {
        AirspaceIndex::contains(self, zone, p)
    }
    #[inline]
    fn distance_to_boundary_m(&self, zone: ZoneId, p: GeoPoint) -> f64 {
        AirspaceIndex::distance_to_boundary_m(self, zone, p)
    }
    #[inline]
    fn first_crossing(&self, zone: ZoneId, from: GeoPoint, to: GeoPoint) -> Option<Crossing> {
        AirspaceIndex::first_crossing(self, zone, from, to)
    }
    #[inline]
    fn in_buffer(&self, zone: ZoneId, p: GeoPoint) -> bool {
        AirspaceIndex::in_buffer(self, zone, p)
    }
}

impl<Q: ZoneQueries + ?Sized> ZoneQueries for std::sync::Arc<Q> {
    fn zones(&self) -> &[Zone] {
        (**self).zones()
    }
    fn locate_lateral(&self, p: GeoPoint, out: &mut Vec<ZoneId>) {
        (**self).locate_lateral(p, out)
    }
    fn contains(&self, zone: ZoneId, p: GeoPoint) -> bool {
        (**self).contains(zone, p)
    }
    fn distance_to_boundary_m(&self, zone: ZoneId, p: GeoPoint) -> f64 {
        (**self).distance_to_boundary_m(zone, p)
    }
    fn first_crossing(&self, zone: ZoneId, from: GeoPoint, to: GeoPoint) -> Option<Crossing> {
        (**self).first_crossing(zone, from, to)
    }
    fn in_buffer(&self, zone: ZoneId, p: GeoPoint) -> bool {
        (**self).in_buffer(zone, p)
    }
}

/// A zone with an approach band, with its bounding box widened by the band: the cheap
/// test that spares most positions the `in_buffer` query.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufferedZone {
    pub zone: ZoneId,
    /// (min lon, min lat, max lon, max lat), degrees; longitudes span everything when the
    /// widened box would cross the antimeridian or reach a pole.
    pub bbox: [f64; 4],
}

impl BufferedZone {
    /// The zones of `zones` that have a buffer band.
    pub fn of(zones: &[Zone]) -> Vec<BufferedZone> {
        zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.buffer_m > 0.0 && z.buffer_m.is_finite())
            .filter_map(|(i, z)| {
                let (x0, y0, x1, y1) = z.bounding_box()?;
                // 1 % margin over the smallest metres per degree of latitude (110.57 km).
                let dlat = z.buffer_m / 110_000.0 * 1.01;
                let (lat0, lat1) = (y0 - dlat, y1 + dlat);
                let cos = lat0.abs().max(lat1.abs()).to_radians().cos();
                let full = [-180.0, lat0, 180.0, lat1];
                let bbox = if lat0 <= -89.0 || lat1 >= 89.0 || cos < 0.02 {
                    full
                } else {
                    let dlon = dlat / cos;
                    if x0 - dlon < -180.0 || x1 + dlon > 180.0 {
                        full
                    } else {
                        [x0 - dlon, lat0, x1 + dlon, lat1]
                    }
                };
                Some(BufferedZone {
                    zone: ZoneId(i as u32),
                    bbox,
                })
            })
            .collect()
    }

    /// Whether `p` may lie in the band.
    #[inline]
    pub fn may_contain(&self, p: GeoPoint) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        p.lon >= x0 && p.lon <= x1 && p.lat >= y0 && p.lat <= y1
    }
}
