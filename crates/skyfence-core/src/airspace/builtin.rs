//! The built-in world borders: every country's sovereign airspace (land plus territorial
//! sea) from OpenStreetMap, via the npm package `@geo-maps/countries-maritime-10m`
//! 0.6.0, compiled into the binary.
//!
//! Data © OpenStreetMap contributors, available under the Open Database License (ODbL
//! 1.0); see `data/README.md`. Anyone showing these borders must show [`ATTRIBUTION`].
//!
//! # File format (`data/countries-maritime-10m.bin`, built by `tools/import-borders`)
//!
//! All integers little-endian. Coordinates are quantised to [`UNITS_PER_DEGREE`]
//! (1e-5°, about 1.1 m); the source GeoJSON is written with exactly five decimals, so
//! the quantisation is lossless: a decoded coordinate is the same `f64` as parsing the
//! source text.
//!
//! ```text
//! magic "SKYFBRD1"
//! u32  units per degree (100000)
//! u16 + UTF-8  dataset name        u16 + UTF-8  dataset version
//! u16  country count N
//! N × 31-byte index entries, sorted by alpha-3:
//!      [u8; 3] alpha-3   u32 blob offset   u32 blob length   u32 vertex count
//!      i32 × 4 bounding box (min lon, min lat, max lon, max lat) in units
//! blobs: varint polygon count; per polygon: varint ring count (exterior first);
//!      per ring: varint point count n (closing point omitted), then n points as
//!      zigzag-varint deltas (dlon, dlat) from the previous point of the country
//!      (the first from (0, 0)).
//! ```
//!
//! The per-country index means loading one country decodes only its own blob.
//! The importer turns the source's even-odd rings (the source stores enclaves such as
//! San Marino in Italy as nested outer rings) into polygons with holes, and validates
//! every country with [`super::validate::validate_shape`]; decoding therefore does not
//! re-validate.

use std::sync::OnceLock;

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::zone::{Provenance, Zone, ZoneKind, geometry_sha256};

/// The embedded borders file.
static BORDERS_FILE: &[u8] = include_bytes!("../../../../data/countries-maritime-10m.bin");

/// Name of the built-in dataset (provenance `source`).
pub const DATASET: &str = "@geo-maps/countries-maritime-10m";

/// Version of the built-in dataset (provenance `version`).
pub const DATASET_VERSION: &str = "0.6.0";

/// The attribution the ODbL requires wherever the built-in borders are shown.
pub const ATTRIBUTION: &str = "Country borders and territorial seas: © OpenStreetMap contributors, \
     Open Database License (ODbL 1.0), https://www.openstreetmap.org/copyright; \
     via the @geo-maps/countries-maritime-10m 0.6.0 package";

/// Quantisation of the borders file: units per degree.
pub const UNITS_PER_DEGREE: i32 = 100_000;

const MAGIC: &[u8; 8] = b"SKYFBRD1";
const ENTRY_LEN: usize = 31;

/// An ISO 3166-1 country (or territory) with its codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, upper case; the built-in zone's name.
    pub alpha2: &'static str,
    /// ISO 3166-1 alpha-3 code, upper case.
    pub alpha3: &'static str,
    /// English short name.
    pub name: &'static str,
}

/// The ISO 3166-1 table (all 249 officially assigned codes, plus Kosovo's user-assigned
/// `XK`/`XKX`, which the dataset uses), sorted by alpha-3.
pub fn countries() -> &'static [Country] {
    COUNTRIES
}

/// Looks a country up by ISO 3166-1 alpha-2 or alpha-3 code, ignoring case.
pub fn country(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    match code.len() {
        2 => COUNTRIES
            .iter()
            .find(|c| c.alpha2.eq_ignore_ascii_case(code)),
        3 => COUNTRIES
            .iter()
            .find(|c| c.alpha3.eq_ignore_ascii_case(code)),
        _ => None,
    }
}

/// Why a built-in country cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuiltinError {
    /// The code is not an ISO 3166-1 code.
    #[error(
        "unknown country code {0:?}, expected an ISO 3166-1 alpha-2 or alpha-3 code such as AF or AFG"
    )]
    UnknownCode(String),
    /// A valid code the dataset has no border for.
    #[error("no built-in border for {0}")]
    NotInDataset(String),
    /// The embedded file is damaged (a build defect, not a user error).
    #[error("built-in borders file is corrupt: {0}")]
    Corrupt(String),
}

/// One country's entry in the borders file index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BorderEntry {
    /// The country.
    pub country: &'static Country,
    /// Vertices stored (closing points not counted).
    pub vertex_count: u32,
    /// Bounding box (min lon, min lat, max lon, max lat), degrees.
    pub bbox: (f64, f64, f64, f64),
    offset: u32,
    len: u32,
}

/// A decoded borders file header and index (the blobs stay in the borrowed bytes).
#[derive(Clone, Debug)]
pub struct BordersFile<'a> {
    /// Dataset name recorded by the importer.
    pub dataset: String,
    /// Dataset version recorded by the importer.
    pub version: String,
    /// Index entries, sorted by alpha-3.
    pub entries: Vec<BorderEntry>,
    blobs: &'a [u8],
}

/// The embedded borders file's index, parsed once.
pub fn borders() -> Result<&'static BordersFile<'static>, BuiltinError> {
    static PARSED: OnceLock<Result<BordersFile<'static>, BuiltinError>> = OnceLock::new();
    PARSED
        .get_or_init(|| BordersFile::parse(BORDERS_FILE))
        .as_ref()
        .map_err(Clone::clone)
}

/// Size in bytes of the embedded borders file.
pub fn embedded_size() -> usize {
    BORDERS_FILE.len()
}

/// Loads a built-in country's sovereign airspace as a zone named by its alpha-2 code
/// (`"AF"`), surface to unlimited, no buffer, provenance = dataset, version and the
/// geometry's SHA-256. `code` is alpha-2 or alpha-3, any case.
pub fn load_country(code: &str) -> Result<Zone, BuiltinError> {
    let country = country(code).ok_or_else(|| BuiltinError::UnknownCode(code.to_owned()))?;
    let file = borders()?;
    let entry = file.entry(country.alpha3).ok_or_else(|| {
        BuiltinError::NotInDataset(format!("{} ({})", country.alpha2, country.name))
    })?;
    let shape = file.decode(entry)?;
    Ok(Zone {
        name: country.alpha2.to_owned(),
        kind: ZoneKind::Country,
        provenance: Provenance {
            source: file.dataset.clone(),
            version: Some(file.version.clone()),
            sha256: geometry_sha256(&shape),
        },
        shape,
        floor_ft: None,
        ceiling_ft: None,
        buffer_m: 0.0,
    })
}

/// Loads every country in the built-in dataset (about 1.9 M vertices).
pub fn load_all() -> Result<Vec<Zone>, BuiltinError> {
    borders()?
        .entries
        .iter()
        .map(|e| load_country(e.country.alpha3))
        .collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BuiltinError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| BuiltinError::Corrupt(format!("truncated at byte {}", self.pos)))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BuiltinError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, BuiltinError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, BuiltinError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, BuiltinError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, BuiltinError> {
        let len = usize::from(self.u16()?);
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| BuiltinError::Corrupt("header string is not UTF-8".into()))
    }

    fn varint(&mut self) -> Result<u64, BuiltinError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BuiltinError::Corrupt(format!(
            "varint too long at byte {}",
            self.pos
        )))
    }

    fn count(&mut self) -> Result<usize, BuiltinError> {
        let v = self.varint()?;
        // Every counted item takes at least one byte: a larger count is corrupt and
        // must not drive a huge allocation.
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.pos)
            .ok_or_else(|| BuiltinError::Corrupt(format!("count {v} exceeds the data")))
    }

    fn zigzag(&mut self) -> Result<i64, BuiltinError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
}

impl<'a> BordersFile<'a> {
    /// Parses a borders file's header and index.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BuiltinError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len())
            .map_err(|_| BuiltinError::Corrupt("file too short".into()))?
            != MAGIC
        {
            return Err(BuiltinError::Corrupt("bad magic, expected SKYFBRD1".into()));
        }
        let units = r.u32()?;
        if units != UNITS_PER_DEGREE as u32 {
            return Err(BuiltinError::Corrupt(format!(
                "{units} units per degree, expected {UNITS_PER_DEGREE}"
            )));
        }
        let dataset = r.string()?;
        let version = r.string()?;
        let n = usize::from(r.u16()?);
        if bytes.len() - r.pos < n * ENTRY_LEN {
            return Err(BuiltinError::Corrupt(format!(
                "index of {n} countries truncated"
            )));
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let code: [u8; 3] = r.array()?;
            let code = std::str::from_utf8(&code)
                .map_err(|_| BuiltinError::Corrupt("country code is not ASCII".into()))?;
            let country = country(code)
                .filter(|c| c.alpha3 == code)
                .ok_or_else(|| BuiltinError::Corrupt(format!("unknown alpha-3 code {code:?}")))?;
            let offset = r.u32()?;
            let len = r.u32()?;
            let vertex_count = r.u32()?;
            let mut b = [0f64; 4];
            for v in &mut b {
                *v = f64::from(r.i32()?) / f64::from(UNITS_PER_DEGREE);
            }
            entries.push(BorderEntry {
                country,
                vertex_count,
                bbox: (b[0], b[1], b[2], b[3]),
                offset,
                len,
            });
        }
        if !entries.is_sorted_by(|a, b| a.country.alpha3 < b.country.alpha3) {
            return Err(BuiltinError::Corrupt("index not sorted by alpha-3".into()));
        }
        let blobs = &bytes[r.pos..];
        for e in &entries {
            let end = u64::from(e.offset) + u64::from(e.len);
            if end > blobs.len() as u64 {
                return Err(BuiltinError::Corrupt(format!(
                    "{} blob beyond the end",
                    e.country.alpha3
                )));
            }
        }
        Ok(Self {
            dataset,
            version,
            entries,
            blobs,
        })
    }

    /// The entry for an alpha-3 code (binary search).
    pub fn entry(&self, alpha3: &str) -> Option<&BorderEntry> {
        self.entries
            .binary_search_by(|e| e.country.alpha3.cmp(alpha3))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Decodes one country's shape.
    pub fn decode(&self, entry: &BorderEntry) -> Result<MultiPolygon<f64>, BuiltinError> {
        let start = entry.offset as usize;
        let blob = self
            .blobs
            .get(start..start + entry.len as usize)
            .ok_or_else(|| {
                BuiltinError::Corrupt(format!("{} blob out of range", entry.country.alpha3))
            })?;
        let mut r = Reader {
            bytes: blob,
            pos: 0,
        };
        let scale = f64::from(UNITS_PER_DEGREE);
        let (mut x, mut y) = (0i64, 0i64);
        let n_polygons = r.count()?;
        let mut polygons = Vec::with_capacity(n_polygons);
        for _ in 0..n_polygons {
            let n_rings = r.count()?;
            let mut rings = Vec::with_capacity(n_rings);
            for _ in 0..n_rings {
                let n = r.count()?;
                let mut pts = Vec::with_capacity(n + 1);
                for _ in 0..n {
                    x = x.wrapping_add(r.zigzag()?);
                    y = y.wrapping_add(r.zigzag()?);
                    if x.abs() > 180 * i64::from(UNITS_PER_DEGREE)
                        || y.abs() > 90 * i64::from(UNITS_PER_DEGREE)
                    {
                        return Err(BuiltinError::Corrupt(format!(
                            "{} coordinate out of range",
                            entry.country.alpha3
                        )));
                    }
                    // |x|, |y| ≤ 18e6 (checked), exactly representable in f64.
                    pts.push(Coord {
                        x: x as f64 / scale,
                        y: y as f64 / scale,
                    });
                }
                if let Some(&first) = pts.first() {
                    pts.push(first);
                }
                rings.push(LineString(pts));
            }
            let mut rings = rings.into_iter();
            let exterior = rings.next().ok_or_else(|| {
                BuiltinError::Corrupt(format!("{} polygon without rings", entry.country.alpha3))
            })?;
            polygons.push(Polygon::new(exterior, rings.collect()));
        }
        Ok(MultiPolygon(polygons))
    }
}

/// A country's quantised shape for [`encode_borders`]: polygons of rings (exterior
/// first) of points in units of 1e-5°, each ring without its closing point.
pub type QuantisedShape = Vec<Vec<Vec<(i32, i32)>>>;

/// Writes a borders file (the importer's output; the inverse of [`BordersFile::parse`]
/// and [`BordersFile::decode`]). Countries must be known ISO alpha-3 codes; they are
/// sorted here.
pub fn encode_borders(
    dataset: &str,
    version: &str,
    countries: &[(String, QuantisedShape)],
) -> Result<Vec<u8>, BuiltinError> {
    let mut sorted: Vec<&(String, QuantisedShape)> = countries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = Vec::new();
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&(UNITS_PER_DEGREE as u32).to_le_bytes());
    for s in [dataset, version] {
        let len = u16::try_from(s.len())
            .map_err(|_| BuiltinError::Corrupt("header string too long".into()))?;
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(s.as_bytes());
    }
    let n = u16::try_from(sorted.len())
        .map_err(|_| BuiltinError::Corrupt("too many countries".into()))?;
    header.extend_from_slice(&n.to_le_bytes());
    let mut blobs = Vec::new();
    for (code, shape) in sorted {
        let c = country(code)
            .filter(|c| c.alpha3 == code)
            .ok_or_else(|| BuiltinError::UnknownCode(code.clone()))?;
        let offset = blobs.len();
        let (mut px, mut py) = (0i64, 0i64);
        let mut vertices = 0u32;
        let mut bbox = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        put_varint(&mut blobs, shape.len() as u64);
        for polygon in shape {
            put_varint(&mut blobs, polygon.len() as u64);
            for ring in polygon {
                put_varint(&mut blobs, ring.len() as u64);
                for &(x, y) in ring {
                    put_varint(&mut blobs, zigzag(i64::from(x) - px));
                    put_varint(&mut blobs, zigzag(i64::from(y) - py));
                    (px, py) = (i64::from(x), i64::from(y));
                    vertices += 1;
                    bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
                }
            }
        }
        let too_big = || BuiltinError::Corrupt("file larger than 4 GiB".into());
        header.extend_from_slice(c.alpha3.as_bytes());
        header.extend_from_slice(&u32::try_from(offset).map_err(|_| too_big())?.to_le_bytes());
        header.extend_from_slice(
            &u32::try_from(blobs.len() - offset)
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        header.extend_from_slice(&vertices.to_le_bytes());
        for v in [bbox.0, bbox.1, bbox.2, bbox.3] {
            header.extend_from_slice(&v.to_le_bytes());
        }
    }
    header.extend_from_slice(&blobs);
    Ok(header)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Shorthand for the table below.
const fn c(alpha2: &'static str, alpha3: &'static str, name: &'static str) -> Country {
    Country {
        alpha2,
        alpha3,
        name,
    }
}

/// ISO 3166-1 codes and English short names (common names where ISO gives a long
/// formal one, e.g. "Bolivia", "Iran"), plus Kosovo (`XK`/`XKX`, user-assigned).
#[rustfmt::skip]
const COUNTRIES: &[Country] = &[
    c("AW", "ABW", "Aruba"),
    c("AF", "AFG", "Afghanistan"),
    c("AO", "AGO", "Angola"),
    c("AI", "AIA", "Anguilla"),
    c("AX", "ALA", "Åland Islands"),
    c("AL", "ALB", "Albania"),
    c("AD", "AND", "Andorra"),
    c("AE", "ARE", "United Arab Emirates"),
    c("AR", "ARG", "Argentina"),
    c("AM", "ARM", "Armenia"),
    c("AS", "ASM", "American Samoa"),
    c("AQ", "ATA", "Antarctica"),
    c("TF", "ATF", "French Southern Territories"),
    c("AG", "ATG", "Antigua and Barbuda"),
    c("AU", "AUS", "Australia"),
    c("AT", "AUT", "Austria"),
    c("AZ", "AZE", "Azerbaijan"),
    c("BI", "BDI", "Burundi"),
    c("BE", "BEL", "Belgium"),
    c("BJ", "BEN", "Benin"),
    c("BQ", "BES", "Bonaire, Sint Eustatius and Saba"),
    c("BF", "BFA", "Burkina Faso"),
    c("BD", "BGD", "Bangladesh"),
    c("BG", "BGR", "Bulgaria"),
    c("BH", "BHR", "Bahrain"),
    c("BS", "BHS", "Bahamas"),
    c("BA", "BIH", "Bosnia and Herzegovina"),
    c("BL", "BLM", "Saint Barthélemy"),
    c("BY", "BLR", "Belarus"),
    c("BZ", "BLZ", "Belize"),
    c("BM", "BMU", "Bermuda"),
    c("BO", "BOL", "Bolivia"),
    c("BR", "BRA", "Brazil"),
    c("BB", "BRB", "Barbados"),
    c("BN", "BRN", "Brunei Darussalam"),
    c("BT", "BTN", "Bhutan"),
    c("BV", "BVT", "Bouvet Island"),
    c("BW", "BWA", "Botswana"),
    c("CF", "CAF", "Central African Republic"),
    c("CA", "CAN", "Canada"),
    c("CC", "CCK", "Cocos (Keeling) Islands"),
    c("CH", "CHE", "Switzerland"),
    c("CL", "CHL", "Chile"),
    c("CN", "CHN", "China"),
    c("CI", "CIV", "Côte d'Ivoire"),
    c("CM", "CMR", "Cameroon"),
    c("CD", "COD", "Congo, The Democratic Republic of the"),
    c("CG", "COG", "Congo"),
    c("CK", "COK", "Cook Islands"),
    c("CO", "COL", "Colombia"),
    c("KM", "COM", "Comoros"),
    c("CV", "CPV", "Cabo Verde"),
    c("CR", "CRI", "Costa Rica"),
    c("CU", "CUB", "Cuba"),
    c("CW", "CUW", "Curaçao"),
    c("CX", "CXR", "Christmas Island"),
    c("KY", "CYM", "Cayman Islands"),
    c("CY", "CYP", "Cyprus"),
    c("CZ", "CZE", "Czechia"),
    c("DE", "DEU", "Germany"),
    c("DJ", "DJI", "Djibouti"),
    c("DM", "DMA", "Dominica"),
    c("DK", "DNK", "Denmark"),
    c("DO", "DOM", "Dominican Republic"),
    c("DZ", "DZA", "Algeria"),
    c("EC", "ECU", "Ecuador"),
    c("EG", "EGY", "Egypt"),
    c("ER", "ERI", "Eritrea"),
    c("EH", "ESH", "Western Sahara"),
    c("ES", "ESP", "Spain"),
    c("EE", "EST", "Estonia"),
    c("ET", "ETH", "Ethiopia"),
    c("FI", "FIN", "Finland"),
    c("FJ", "FJI", "Fiji"),
    c("FK", "FLK", "Falkland Islands (Malvinas)"),
    c("FR", "FRA", "France"),
    c("FO", "FRO", "Faroe Islands"),
    c("FM", "FSM", "Micronesia, Federated States of"),
    c("GA", "GAB", "Gabon"),
    c("GB", "GBR", "United Kingdom"),
    c("GE", "GEO", "Georgia"),
    c("GG", "GGY", "Guernsey"),
    c("GH", "GHA", "Ghana"),
    c("GI", "GIB", "Gibraltar"),
    c("GN", "GIN", "Guinea"),
    c("GP", "GLP", "Guadeloupe"),
    c("GM", "GMB", "Gambia"),
    c("GW", "GNB", "Guinea-Bissau"),
    c("GQ", "GNQ", "Equatorial Guinea"),
    c("GR", "GRC", "Greece"),
    c("GD", "GRD", "Grenada"),
    c("GL", "GRL", "Greenland"),
    c("GT", "GTM", "Guatemala"),
    c("GF", "GUF", "French Guiana"),
    c("GU", "GUM", "Guam"),
    c("GY", "GUY", "Guyana"),
    c("HK", "HKG", "Hong Kong"),
    c("HM", "HMD", "Heard Island and McDonald Islands"),
    c("HN", "HND", "Honduras"),
    c("HR", "HRV", "Croatia"),
    c("HT", "HTI", "Haiti"),
    c("HU", "HUN", "Hungary"),
    c("ID", "IDN", "Indonesia"),
    c("IM", "IMN", "Isle of Man"),
    c("IN", "IND", "India"),
    c("IO", "IOT", "British Indian Ocean Territory"),
    c("IE", "IRL", "Ireland"),
    c("IR", "IRN", "Iran"),
    c("IQ", "IRQ", "Iraq"),
    c("IS", "ISL", "Iceland"),
    c("IL", "ISR", "Israel"),
    c("IT", "ITA", "Italy"),
    c("JM", "JAM", "Jamaica"),
    c("JE", "JEY", "Jersey"),
    c("JO", "JOR", "Jordan"),
    c("JP", "JPN", "Japan"),
    c("KZ", "KAZ", "Kazakhstan"),
    c("KE", "KEN", "Kenya"),
    c("KG", "KGZ", "Kyrgyzstan"),
    c("KH", "KHM", "Cambodia"),
    c("KI", "KIR", "Kiribati"),
    c("KN", "KNA", "Saint Kitts and Nevis"),
    c("KR", "KOR", "South Korea"),
    c("KW", "KWT", "Kuwait"),
    c("LA", "LAO", "Laos"),
    c("LB", "LBN", "Lebanon"),
    c("LR", "LBR", "Liberia"),
    c("LY", "LBY", "Libya"),
    c("LC", "LCA", "Saint Lucia"),
    c("LI", "LIE", "Liechtenstein"),
    c("LK", "LKA", "Sri Lanka"),
    c("LS", "LSO", "Lesotho"),
    c("LT", "LTU", "Lithuania"),
    c("LU", "LUX", "Luxembourg"),
    c("LV", "LVA", "Latvia"),
    c("MO", "MAC", "Macao"),
    c("MF", "MAF", "Saint Martin (French part)"),
    c("MA", "MAR", "Morocco"),
    c("MC", "MCO", "Monaco"),
    c("MD", "MDA", "Moldova"),
    c("MG", "MDG", "Madagascar"),
    c("MV", "MDV", "Maldives"),
    c("MX", "MEX", "Mexico"),
    c("MH", "MHL", "Marshall Islands"),
    c("MK", "MKD", "North Macedonia"),
    c("ML", "MLI", "Mali"),
    c("MT", "MLT", "Malta"),
    c("MM", "MMR", "Myanmar"),
    c("ME", "MNE", "Montenegro"),
    c("MN", "MNG", "Mongolia"),
    c("MP", "MNP", "Northern Mariana Islands"),
    c("MZ", "MOZ", "Mozambique"),
    c("MR", "MRT", "Mauritania"),
    c("MS", "MSR", "Montserrat"),
    c("MQ", "MTQ", "Martinique"),
    c("MU", "MUS", "Mauritius"),
    c("MW", "MWI", "Malawi"),
    c("MY", "MYS", "Malaysia"),
    c("YT", "MYT", "Mayotte"),
    c("NA", "NAM", "Namibia"),
    c("NC", "NCL", "New Caledonia"),
    c("NE", "NER", "Niger"),
    c("NF", "NFK", "Norfolk Island"),
    c("NG", "NGA", "Nigeria"),
    c("NI", "NIC", "Nicaragua"),
    c("NU", "NIU", "Niue"),
    c("NL", "NLD", "Netherlands"),
    c("NO", "NOR", "Norway"),
    c("NP", "NPL", "Nepal"),
    c("NR", "NRU", "Nauru"),
    c("NZ", "NZL", "New Zealand"),
    c("OM", "OMN", "Oman"),
    c("PK", "PAK", "Pakistan"),
    c("PA", "PAN", "Panama"),
    c("PN", "PCN", "Pitcairn"),
    c("PE", "PER", "Peru"),
    c("PH", "PHL", "Philippines"),
    c("PW", "PLW", "Palau"),
    c("PG", "PNG", "Papua New Guinea"),
    c("PL", "POL", "Poland"),
    c("PR", "PRI", "Puerto Rico"),
    c("KP", "PRK", "North Korea"),
    c("PT", "PRT", "Portugal"),
    c("PY", "PRY", "Paraguay"),
    c("PS", "PSE", "Palestine, State of"),
    c("PF", "PYF", "French Polynesia"),
    c("QA", "QAT", "Qatar"),
    c("RE", "REU", "Réunion"),
    c("RO", "ROU", "Romania"),
    c("RU", "RUS", "Russian Federation"),
    c("RW", "RWA", "Rwanda"),
    c("SA", "SAU", "Saudi Arabia"),
    c("SD", "SDN", "Sudan"),
    c("SN", "SEN", "Senegal"),
    c("SG", "SGP", "Singapore"),
    c("GS", "SGS", "South Georgia and the South Sandwich Islands"),
    c("SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha"),
    c("SJ", "SJM", "Svalbard and Jan Mayen"),
    c("SB", "SLB", "Solomon Islands"),
    c("SL", "SLE", "Sierra Leone"),
    c("SV", "SLV", "El Salvador"),
    c("SM", "SMR", "San Marino"),
    c("SO", "SOM", "Somalia"),
    c("PM", "SPM", "Saint Pierre and Miquelon"),
    c("RS", "SRB", "Serbia"),
    c("SS", "SSD", "South Sudan"),
    c("ST", "STP", "Sao Tome and Principe"),
    c("SR", "SUR", "Suriname"),
    c("SK", "SVK", "Slovakia"),
    c("SI", "SVN", "Slovenia"),
    c("SE", "SWE", "Sweden"),
    c("SZ", "SWZ", "Eswatini"),
    c("SX", "SXM", "Sint Maarten (Dutch part)"),
    c("SC", "SYC", "Seychelles"),
    c("SY", "SYR", "Syria"),
    c("TC", "TCA", "Turks and Caicos Islands"),
    c("TD", "TCD", "Chad"),
    c("TG", "TGO", "Togo"),
    c("TH", "THA", "Thailand"),
    c("TJ", "TJK", "Tajikistan"),
    c("TK", "TKL", "Tokelau"),
    c("TM", "TKM", "Turkmenistan"),
    c("TL", "TLS", "Timor-Leste"),
    c("TO", "TON", "Tonga"),
    c("TT", "TTO", "Trinidad and Tobago"),
    c("TN", "TUN", "Tunisia"),
    c("TR", "TUR", "Türkiye"),
    c("TV", "TUV", "Tuvalu"),
    c("TW", "TWN", "Taiwan"),
    c("TZ", "TZA", "Tanzania"),
    c("UG", "UGA", "Uganda"),
    c("UA", "UKR", "Ukraine"),
    c("UM", "UMI", "United States Minor Outlying Islands"),
    c("UY", "URY", "Uruguay"),
    c("US", "USA", "United States"),
    c("UZ", "UZB", "Uzbekistan"),
    c("VA", "VAT", "Holy See (Vatican City State)"),
    c("VC", "VCT", "Saint Vincent and the Grenadines"),
    c("VE", "VEN", "Venezuela"),
    c("VG", "VGB", "Virgin Islands, British"),
    c("VI", "VIR", "Virgin Islands, U.S."),
    c("VN", "VNM", "Vietnam"),
    c("VU", "VUT", "Vanuatu"),
    c("WF", "WLF", "Wallis and Futuna"),
    c("WS", "WSM", "Samoa"),
    c("XK", "XKX", "Kosovo"),
    c("YE", "YEM", "Yemen"),
    c("ZA", "ZAF", "South Africa"),
    c("ZM", "ZMB", "Zambia"),
    c("ZW", "ZWE", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iso_codes_both_ways() {
        let af = country("AF").expect("AF");
        assert_eq!(
            (af.alpha2, af.alpha3, af.name),
            ("AF", "AFG", "Afghanistan")
        );
        assert_eq!(country("afg"), Some(af));
        assert_eq!(country("PK").map(|c| c.alpha3), Some("PAK"));
        assert_eq!(country("PAK").map(|c| c.alpha2), Some("PK"));
        assert_eq!(country("FJI").map(|c| c.alpha2), Some("FJ"));
        assert_eq!(country("XK").map(|c| c.alpha3), Some("XKX"));
        assert_eq!(country("GB").map(|c| c.name), Some("United Kingdom"));
        assert_eq!(country("ZZ"), None);
        assert_eq!(country("AFGH"), None);
        assert_eq!(countries().len(), 250);
        // Unique codes, table sorted by alpha-3.
        assert!(countries().is_sorted_by(|a, b| a.alpha3 < b.alpha3));
        let mut a2: Vec<_> = countries().iter().map(|c| c.alpha2).collect();
        a2.sort_unstable();
        a2.dedup();
        assert_eq!(a2.len(), 250);
    }

    fn sample() -> Vec<(String, QuantisedShape)> {
        vec![
            (
                "PAK".into(),
                vec![vec![vec![
                    (6_000_000, 2_300_000),
                    (7_700_000, 2_300_000),
                    (7_700_000, 3_700_000),
                ]]],
            ),
            (
                "FJI".into(),
                vec![
                    vec![
                        vec![
                            (17_700_000, -1_900_000),
                            (18_000_000, -1_900_000),
                            (18_000_000, -1_600_000),
                            (17_700_000, -1_600_000),
                        ],
                        vec![
                            (17_800_000, -1_800_000),
                            (17_800_001, -1_700_000),
                            (17_900_000, -1_700_000),
                        ],
                    ],
                    vec![vec![
                        (-18_000_000, -1_900_000),
                        (-17_900_000, -1_900_000),
                        (-18_000_000, -1_600_000),
                    ]],
                ],
            ),
        ]
    }

    #[test]
    fn encode_decode_roundtrip_is_exact() {
        let bytes = encode_borders("test-set", "1.2.3", &sample()).expect("encodes");
        let file = BordersFile::parse(&bytes).expect("parses");
        assert_eq!(
            (file.dataset.as_str(), file.version.as_str()),
            ("test-set", "1.2.3")
        );
        let codes: Vec<_> = file.entries.iter().map(|e| e.country.alpha3).collect();
        assert_eq!(codes, ["FJI", "PAK"]);
        let fiji = file.entry("FJI").expect("FJI");
        assert_eq!(fiji.vertex_count, 10);
        assert_eq!(fiji.bbox, (-180.0, -19.0, 180.0, -16.0));
        let shape = file.decode(fiji).expect("decodes");
        assert_eq!(shape.0.len(), 2);
        assert_eq!(shape.0[0].interiors().len(), 1);
        let hole = &shape.0[0].interiors()[0].0;
        assert_eq!(
            hole[1],
            Coord {
                x: 178.00001,
                y: -17.0
            }
        );
        assert_eq!(hole.first(), hole.last());
        assert_eq!(
            shape.0[1].exterior().0[0],
            Coord {
                x: -180.0,
                y: -19.0
            }
        );
        let pak = file
            .decode(file.entry("PAK").expect("PAK"))
            .expect("decodes");
        assert_eq!(pak.0[0].exterior().0.len(), 4);
        assert_eq!(file.entry("AFG"), None);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let bytes = encode_borders("t", "1", &sample()).expect("encodes");
        assert!(matches!(
            BordersFile::parse(&bytes[..5]),
            Err(BuiltinError::Corrupt(_))
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(
            BordersFile::parse(&bad).map(|_| ()),
            Err(BuiltinError::Corrupt("bad magic, expected SKYFBRD1".into()))
        );
        assert!(BordersFile::parse(&bytes[..bytes.len() - 3]).is_err());
    }

    proptest! {
        /// Any damage to the file yields an error or some shape, never a panic.
        #[test]
        fn damaged_files_never_panic(pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
            let mut bytes = encode_borders("t", "1", &sample()).expect("encodes");
            let pos = pos % bytes.len();
            bytes[pos] = byte;
            bytes.truncate(bytes.len() - cut % bytes.len());
            if let Ok(file) = BordersFile::parse(&bytes) {
                for e in &file.entries {
                    let _ = file.decode(e);
                }
            }
        }

        /// The varint/zigzag delta coding is lossless for any coordinates in range.
        #[test]
        fn any_ring_roundtrips(points in proptest::collection::vec(
            (-18_000_000i32..=18_000_000, -9_000_000i32..=9_000_000), 3..50)) {
            let shape: QuantisedShape = vec![vec![points.clone()]];
            let bytes = encode_borders("t", "1", &[("AFG".into(), shape)]).expect("encodes");
            let file = BordersFile::parse(&bytes).expect("parses");
            let decoded = file.decode(&file.entries[0]).expect("decodes");
            let ring = &decoded.0[0].exterior().0;
            prop_assert_eq!(ring.len(), points.len() + 1);
            for (c, (x, y)) in ring.iter().zip(&points) {
                prop_assert_eq!(c.x, f64::from(*x) / 1e5);
                prop_assert_eq!(c.y, f64::from(*y) / 1e5);
            }
        }
    }
}
