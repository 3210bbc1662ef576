//! Helpers shared by the text formats (raw, AVR, SBS): splitting a byte stream that
//! arrives in arbitrary chunks into lines, and reading hexadecimal.
//!
//! Hand-written rather than pulled from a crate: both are a few lines, and the line
//! splitter must keep at most one partial line between calls and never allocate per line.

/// Longest line a text decoder accepts, in bytes. A Mode S text record is at most
/// 45 bytes (`<` + 12 + 2 + 28 hex digits + `;`), an SBS line at most ~200; anything much
/// longer is junk and is counted as such without being buffered.
pub(crate) const MAX_LINE: usize = 512;

/// One line handed to a decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A line without its terminator (`\n` or `\r\n`).
    Text(&'a [u8]),
    /// A line longer than the splitter's limit ([`MAX_LINE`] by default); its content is dropped, only its length in bytes
    /// (without the terminator) is kept so that it can be counted as garbage.
    Overlong(usize),
}

/// Splits a chunked byte stream into lines. Complete lines inside a chunk are handed out
/// as borrowed slices; only a line split across chunks is copied, into a buffer of at
/// most `MAX_LINE + 1` bytes that is allocated once.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineSplitter {
    /// The start of a line whose end has not arrived yet (at most `MAX_LINE + 1` bytes).
    partial: Vec<u8>,
    /// The true length of that partial line (may exceed what `partial` holds).
    partial_len: usize,
    /// Its last byte, to strip a `\r` even when the stored copy was cut off.
    partial_last: u8,
    /// The longest line accepted; 0 for [`MAX_LINE`].
    max: usize,
}

impl LineSplitter {
    /// A splitter accepting lines up to `max` bytes (formats whose lines are longer than
    /// [`MAX_LINE`], such as receivers' JSON documents).
    pub(crate) fn with_max(max: usize) -> Self {
        LineSplitter {
            max,
            ..LineSplitter::default()
        }
    }

    fn max(&self) -> usize {
        if self.max == 0 { MAX_LINE } else { self.max }
    }

    /// Feeds `chunk`, calling `on_line` for every line it completes.
    pub(crate) fn feed(&mut self, chunk: &[u8], mut on_line: impl FnMut(Line<'_>)) {
        let mut rest = chunk;
        if self.partial_len > 0 {
            match find_byte(rest, b'\n') {
                None => {
                    self.push_partial(rest);
                    return;
                }
                Some(i) => {
                    self.push_partial(&rest[..i]);
                    self.emit_partial(&mut on_line);
                    rest = &rest[i + 1..];
                }
            }
        }
        while let Some(i) = find_byte(rest, b'\n') {
            on_line(classify(&rest[..i], self.max()));
            rest = &rest[i + 1..];
        }
        self.push_partial(rest);
    }

    /// Ends the stream: a last line without a terminator is handed out as it is (files
    /// often lack a final newline; the format decoder judges whether it is complete).
    pub(crate) fn finish(&mut self, mut on_line: impl FnMut(Line<'_>)) {
        if self.partial_len > 0 {
            self.emit_partial(&mut on_line);
        }
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        let room = (self.max() + 1).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.partial_len += bytes.len();
        self.partial_last = last;
    }

    fn emit_partial(&mut self, on_line: &mut impl FnMut(Line<'_>)) {
        let len = self.partial_len - usize::from(self.partial_last == b'\r');
        if len > self.max() {
            on_line(Line::Overlong(len));
        } else {
            on_line(Line::Text(&self.partial[..len]));
        }
        self.partial.clear();
        self.partial_len = 0;
        self.partial_last = 0;
    }
}

/// A complete line from inside one chunk: strips a trailing `\r`, checks the length.
fn classify(line: &[u8], max: usize) -> Line<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max {
        Line::Overlong(line.len())
    } else {
        Line::Text(line)
    }
}

/// Position of the first `needle` in `hay`, eight bytes at a time (the "word has a zero
/// byte" bit trick: `(x - 0x01..01) & !x & 0x80..80` is non-zero exactly when some byte of
/// `x` is zero). Hand-written instead of depending on `memchr`: it is the only search the
/// text decoders need, and `Iterator::position` going byte by byte was their hot spot.
#[inline]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        if x.wrapping_sub(LO) & !x & HI != 0 {
            return chunk.iter().position(|&b| b == needle).map(|i| offset + i);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == needle).map(|i| offset + i)
}

/// Hex digit values by byte; 0xff for bytes that are not hex digits.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The value of one hexadecimal digit (either case).
#[inline]
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    let v = HEX_VALUE[usize::from(b)];
    (v != 0xff).then_some(v)
}

/// True when every byte is a hexadecimal digit.
pub(crate) fn is_hex(text: &[u8]) -> bool {
    text.iter().all(|&b| HEX_VALUE[usize::from(b)] != 0xff)
}

/// Decodes an even number of hex digits into `out` (which must be half as long).
/// Returns `None` on a non-hex byte or a length mismatch. Branch-free per digit: invalid
/// digits are collected in `bad` and checked once at the end.
#[inline]
pub(crate) fn decode_hex(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let hi = HEX_VALUE[usize::from(pair[0])];
        let lo = HEX_VALUE[usize::from(pair[1])];
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(())
}

/// Reads up to 16 hex digits as a big-endian integer.
pub(crate) fn hex_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    text.iter()
        .try_fold(0u64, |acc, &b| Some((acc << 4) | u64::from(hex_digit(b)?)))
}

/// Appends `bytes` as uppercase hex (the case dump1090 and readsb write).
pub(crate) fn push_hex_upper(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil), or `None` for a date that does not exist (e.g. 2023/02/30).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_len {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut got = Vec::new();
        let mut push = |l: Line<'_>| {
            got.push(match l {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::Overlong(n) => format!("<overlong {n}>"),
            })
        };
        for c in chunks {
            s.feed(c, &mut push);
        }
        s.finish(&mut push);
        got
    }

    #[test]
    fn splits_lf_and_crlf_lines_across_chunks() {
        assert_eq!(split_all(&[b"ab\r\ncd\nef"]), ["ab", "cd", "ef"]);
        assert_eq!(split_all(&[b"ab\r", b"\ncd", b"", b"\n"]), ["ab", "cd"]);
        assert_eq!(split_all(&[b"\n\n"]), ["", ""]);
    }

    #[test]
    fn overlong_lines_are_reported_by_length_whatever_the_chunking() {
        let long = vec![b'x'; MAX_LINE + 10];
        let mut whole = long.clone();
        whole.extend_from_slice(b"\r\nok\n");
        let expect = [format!("<overlong {}>", MAX_LINE + 10), "ok".to_string()];
        assert_eq!(split_all(&[&whole]), expect);
        let (a, b) = whole.split_at(MAX_LINE + 10);
        assert_eq!(split_all(&[&a[..3], &a[3..], b]), expect);
        assert_eq!(
            split_all(&[&whole[..MAX_LINE + 11], &whole[MAX_LINE + 11..]]),
            expect
        );
    }

    #[test]
    fn find_byte_matches_position_for_every_offset() {
        let hay: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for needle in [0u8, 0x0a, 0x80, 0xff, 37, 74] {
            for start in 0..hay.len() {
                let h = &hay[start..];
                assert_eq!(find_byte(h, needle), h.iter().position(|&b| b == needle));
            }
        }
    }

    #[test]
    fn hex_helpers() {
        let mut b = [0u8; 3];
        assert_eq!(decode_hex(b"8d4Ca5", &mut b), Some(()));
        assert_eq!(b, [0x8d, 0x4c, 0xa5]);
        assert_eq!(decode_hex(b"8d4ca", &mut b), None);
        assert_eq!(decode_hex(b"8d4cg5", &mut b), None);
        assert_eq!(hex_u64(b"FF004D4C4154"), Some(0xFF00_4D4C_4154));
        let mut s = String::new();
        push_hex_upper(&mut s, &[0x8d, 0x0a]);
        assert_eq!(s, "8D0A");
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        // 2023-11-14 is Unix day 19675 (1700000000 s / 86400 = 19675.9).
        assert_eq!(days_from_civil(2023, 11, 14), Some(19_675));
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(2023, 2, 29), None);
        assert_eq!(days_from_civil(2023, 13, 1), None);
    }
}
