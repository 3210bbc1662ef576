//! CAT034, monoradar service messages (EUROCONTROL ASTERIX Part 2b, editions 1.27–1.29):
//! north markers, sector crossings and the radar's status, which say the radar is
//! turning and looking.

use super::record::{Fields, subfield};
use super::uap::{CAT034, Fmt};
use super::{Report, Service, ServiceKind, be_u16, be_u24};

pub(super) const I010: usize = 1;
pub(super) const I000: usize = 2;
pub(super) const I030: usize = 3;
pub(super) const I020: usize = 4;
pub(super) const I041: usize = 5;
pub(super) const I050: usize = 6;

/// Reads a walked CAT034 record into `r`.
pub(super) fn read(f: &Fields<'_>, r: &mut Report) {
    r.time_of_day = f.fixed::<3>(I030).map(be_u24);
    let Some([kind]) = f.fixed::<1>(I000) else {
        return;
    };
    let mut s = Service {
        kind: ServiceKind::from_code(kind),
        sector_deg: None,
        rotation_period_s: None,
        nogo: None,
    };
    if let Some([sector]) = f.fixed::<1>(I020) {
        // LSB 360/2^8 degrees.
        s.sector_deg = Some(f32::from(sector) * 360.0 / 256.0);
    }
    if let Some(b) = f.fixed::<2>(I041) {
        // LSB 1/128 s.
        s.rotation_period_s = Some(f32::from(be_u16(b)) / 128.0);
    }
    if let Some(item) = f.get(I050)
        && let Some(Some(Fmt::Compound(subs))) =
            CAT034.items.get(I050 - 1).map(|d| d.map(|d| d.fmt))
        && let Some(com) = subfield(subs, item, 0)
    {
        // COM subfield, bit 8 NOGO: the system is inhibited.
        s.nogo = Some(com[0] & 0x80 != 0);
    }
    r.service = Some(s);
}
