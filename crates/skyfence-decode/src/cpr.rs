//! Compact Position Reporting (DO-260B §A.1.7; ICAO Doc 9871 §C.2.6).
//!
//! (in progress: decoding and encoding arithmetic)

/// An encoded CPR position as carried in an airborne (TC 9–18, 20–22) or surface
/// (TC 5–8) position message: 17-bit latitude and longitude and the even/odd format bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CprPosition {
    /// Format bit F: `false` = even, `true` = odd.
    pub odd: bool,
    /// 17-bit encoded latitude (YZ).
    pub lat: u32,
    /// 17-bit encoded longitude (XZ).
    pub lon: u32,
    /// Surface encoding (90° zones) rather than airborne (360°).
    pub surface: bool,
}
