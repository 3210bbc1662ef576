//! Walking one record: its FSPEC, then each announced item's extent, with the lengths
//! taken from the category's [`Uap`] (ASTERIX Part 1, §4.3). Nothing is interpreted
//! here; the category modules read the items they need from [`Fields`].

use super::uap::{Fmt, Uap};
use crate::DropReason;

/// The most FRNs a record can announce (8 FSPEC octets; CAT021 uses 49).
pub const MAX_FRN: usize = 56;

/// Where each present item of a record lies: byte ranges into the record, by FRN.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    record: &'a [u8],
    present: u64,
    spans: [(u16, u16); MAX_FRN],
}

impl<'a> Fields<'a> {
    /// The bytes of the item with this FRN (from 1), when present.
    #[inline]
    pub fn get(&self, frn: usize) -> Option<&'a [u8]> {
        if frn == 0 || frn > MAX_FRN || self.present & (1 << (frn - 1)) == 0 {
            return None;
        }
        let (start, end) = self.spans[frn - 1];
        self.record.get(usize::from(start)..usize::from(end))
    }

    /// The item with this FRN as exactly `N` bytes (fixed-length items).
    #[inline]
    pub fn fixed<const N: usize>(&self, frn: usize) -> Option<[u8; N]> {
        self.get(frn)
            .and_then(|b| b.get(..N))
            .and_then(|b| b.try_into().ok())
    }

    /// The record's bytes (FSPEC and items).
    pub fn record(&self) -> &'a [u8] {
        self.record
    }

    /// Whether the item with this FRN is present.
    pub fn has(&self, frn: usize) -> bool {
        self.get(frn).is_some()
    }
}

/// The length of an item of format `fmt` at the start of `data`.
fn item_len(fmt: Fmt, data: &[u8]) -> Result<usize, DropReason> {
    match fmt {
        Fmt::Fixed(n) => {
            let n = usize::from(n);
            if data.len() < n {
                Err(DropReason::Truncated)
            } else {
                Ok(n)
            }
        }
        Fmt::Extended { first, part } => {
            let mut len = usize::from(first);
            loop {
                let last = *data.get(len - 1).ok_or(DropReason::Truncated)?;
                if last & 1 == 0 {
                    return Ok(len);
                }
                len += usize::from(part);
            }
        }
        Fmt::Repetitive(n) => {
            let rep = usize::from(*data.first().ok_or(DropReason::Truncated)?);
            let len = 1 + rep * usize::from(n);
            if data.len() < len {
                Err(DropReason::Truncated)
            } else {
                Ok(len)
            }
        }
        Fmt::Explicit => {
            let len = usize::from(*data.first().ok_or(DropReason::Truncated)?);
            if len == 0 {
                Err(DropReason::BadLength)
            } else if data.len() < len {
                Err(DropReason::Truncated)
            } else {
                Ok(len)
            }
        }
        Fmt::Compound(subfields) => {
            // The primary subfield: presence bits 8..2 of each octet, FX in bit 1.
            let mut primary = 0usize;
            loop {
                let b = *data.get(primary).ok_or(DropReason::Truncated)?;
                primary += 1;
                if b & 1 == 0 {
                    break;
                }
            }
            let mut len = primary;
            for (octet, &b) in data[..primary].iter().enumerate() {
                for bit in 0..7 {
                    if b & (0x80 >> bit) == 0 {
                        continue;
                    }
                    let Some(Some(sub)) = subfields.get(octet * 7 + bit) else {
                        return Err(DropReason::UnknownItem);
                    };
                    len += item_len(*sub, &data[len..])?;
                }
            }
            Ok(len)
        }
    }
}

/// Walks the record at the start of `data` (which may hold further records after it):
/// its fields and its length.
///
/// # Errors
/// `Truncated` when the FSPEC or an item runs past `data`; `UnknownItem` when the FSPEC
/// or a compound item announces something `uap` does not define; `BadLength` for an
/// explicit item of length 0; `Garbage` for an FSPEC announcing no item at all.
pub fn walk<'a>(uap: &Uap, data: &'a [u8]) -> Result<Fields<'a>, DropReason> {
    let mut fspec_len = 0;
    loop {
        let b = *data.get(fspec_len).ok_or(DropReason::Truncated)?;
        fspec_len += 1;
        if b & 1 == 0 {
            break;
        }
        if fspec_len * 7 >= MAX_FRN {
            // More FSPEC octets than any supported UAP has FRNs.
            return Err(DropReason::UnknownItem);
        }
    }
    let mut fields = Fields {
        record: data,
        present: 0,
        spans: [(0, 0); MAX_FRN],
    };
    let mut pos = fspec_len;
    for (octet, &b) in data[..fspec_len].iter().enumerate() {
        for bit in 0..7 {
            if b & (0x80 >> bit) == 0 {
                continue;
            }
            let frn = octet * 7 + bit + 1;
            let Some(Some(def)) = uap.items.get(frn - 1) else {
                return Err(DropReason::UnknownItem);
            };
            let len = item_len(def.fmt, &data[pos..])?;
            let end = pos + len;
            // Records live in data blocks of at most 65 535 octets.
            let (Ok(s), Ok(e)) = (u16::try_from(pos), u16::try_from(end)) else {
                return Err(DropReason::BadLength);
            };
            fields.spans[frn - 1] = (s, e);
            fields.present |= 1 << (frn - 1);
            pos = end;
        }
    }
    if fields.present == 0 {
        return Err(DropReason::Garbage);
    }
    fields.record = &data[..pos];
    Ok(fields)
}

/// Subfield `index` (from 0, in primary-bit order) of compound item `data` laid out by
/// `subfields`, when present.
pub fn subfield<'a>(subfields: &[Option<Fmt>], data: &'a [u8], index: usize) -> Option<&'a [u8]> {
    let mut primary = 0usize;
    loop {
        let b = *data.get(primary)?;
        primary += 1;
        if b & 1 == 0 {
            break;
        }
    }
    let mut pos = primary;
    for (octet, &b) in data[..primary].iter().enumerate() {
        for bit in 0..7 {
            if b & (0x80 >> bit) == 0 {
                continue;
            }
            let i = octet * 7 + bit;
            let sub = (*subfields.get(i)?)?;
            let len = item_len(sub, data.get(pos..)?).ok()?;
            if i == index {
                return data.get(pos..pos + len);
            }
            pos += len;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asterix::uap::{CAT021, CAT034, CAT048, CAT062};

    #[test]
    fn lengths_of_each_item_format() {
        assert_eq!(item_len(Fmt::Fixed(3), &[1, 2, 3, 4]), Ok(3));
        assert_eq!(item_len(Fmt::Fixed(3), &[1, 2]), Err(DropReason::Truncated));
        let ext = Fmt::Extended { first: 1, part: 1 };
        assert_eq!(item_len(ext, &[0x01, 0x01, 0x00, 0xff]), Ok(3));
        assert_eq!(item_len(ext, &[0x01, 0x01]), Err(DropReason::Truncated));
        let ext3 = Fmt::Extended { first: 3, part: 3 };
        assert_eq!(item_len(ext3, &[0, 0, 1, 0, 0, 0]), Ok(6));
        assert_eq!(item_len(Fmt::Repetitive(2), &[2, 1, 2, 3, 4]), Ok(5));
        assert_eq!(
            item_len(Fmt::Repetitive(2), &[2, 1, 2, 3]),
            Err(DropReason::Truncated)
        );
        assert_eq!(item_len(Fmt::Explicit, &[3, 9, 9]), Ok(3));
        assert_eq!(item_len(Fmt::Explicit, &[0]), Err(DropReason::BadLength));
        // CAT034 I034/050: COM and MDS present (bits 8 and 3).
        let c = CAT034.items[5].unwrap().fmt;
        assert_eq!(item_len(c, &[0x84, 0xaa, 0xbb, 0xcc]), Ok(4));
        // A spare subfield (bit 7) is unknown: its length cannot be known.
        assert_eq!(item_len(c, &[0x40, 0]), Err(DropReason::UnknownItem));
    }

    #[test]
    fn fspec_selects_items_by_frn() {
        // FSPEC 0xE0: FRN 1 (I048/010), 2 (I048/140), 3 (I048/020).
        let rec = [0xe0, 0x01, 0x02, 0x00, 0x10, 0x00, 0x41, 0x01, 0x20, 0xff];
        let f = walk(&CAT048, &rec).unwrap();
        assert_eq!(f.get(1), Some(&[0x01, 0x02][..]));
        assert_eq!(f.get(2), Some(&[0x00, 0x10, 0x00][..]));
        assert_eq!(f.get(3), Some(&[0x41, 0x01, 0x20][..]));
        assert_eq!(f.get(4), None);
        assert_eq!(f.record().len(), 9);
        // An FSPEC that never ends, or runs past the data.
        assert_eq!(
            walk(&CAT048, &[0x01, 0x01]).err(),
            Some(DropReason::Truncated)
        );
        assert_eq!(
            walk(&CAT048, &[0xff; 8]).err(),
            Some(DropReason::UnknownItem)
        );
        // CAT062 FRN 2 is spare.
        assert_eq!(
            walk(&CAT062, &[0x40, 0, 0]).err(),
            Some(DropReason::UnknownItem)
        );
        // Beyond the UAP (CAT034 has 14 FRNs).
        assert_eq!(
            walk(&CAT034, &[0x01, 0x01, 0x40]).err(),
            Some(DropReason::UnknownItem)
        );
        assert_eq!(walk(&CAT048, &[0x00]).err(), Some(DropReason::Garbage));
    }

    #[test]
    fn tables_have_the_spec_frn_counts() {
        // FRN counts of the UAP tables (including spare FRNs), from the specifications.
        assert_eq!(CAT048.items.len(), 28);
        assert_eq!(CAT034.items.len(), 14);
        assert_eq!(CAT062.items.len(), 35);
        assert_eq!(CAT021.items.len(), 49);
        for uap in [&CAT048, &CAT034, &CAT062, &CAT021] {
            for def in uap.items.iter().flatten() {
                let prefix = format!("I{:03}/", uap.category);
                assert!(def.id.starts_with(&prefix), "{}", def.id);
            }
        }
    }
}
