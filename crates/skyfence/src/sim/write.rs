//! The recordings: the same receptions as raw CSV, Beast, AVR and SBS, streamed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use skyfence_core::{RawFrame, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::{avr, beast, raw, sbs};

use super::surveillance::Reception;

/// Writes every reception to the four recordings.
pub struct Recordings {
    start: Timestamp,
    raw: BufWriter<File>,
    beast: BufWriter<File>,
    avr: BufWriter<File>,
    sbs: BufWriter<File>,
    text: String,
    bytes: Vec<u8>,
    /// Frames written (each recording holds the same frames; SBS omits corrupted ones).
    pub frames: u64,
}

fn create(dir: &Path, name: &str) -> anyhow::Result<BufWriter<File>> {
    let path = dir.join(name);
    let f = File::create(&path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

impl Recordings {
    /// Creates `raw.csv`, `beast.bin`, `avr.txt` and `sbs.csv` in `dir`; the Beast and
    /// AVR 12 MHz counters read 0 at `start`.
    pub fn create(dir: &Path, start: Timestamp) -> anyhow::Result<Self> {
        let mut raw = create(dir, "raw.csv")?;
        raw.write_all(b"timestamp,rawmsg\n")?;
        Ok(Recordings {
            start,
            raw,
            beast: create(dir, "beast.bin")?,
            avr: create(dir, "avr.txt")?,
            sbs: create(dir, "sbs.csv")?,
            text: String::with_capacity(1 << 16),
            bytes: Vec::with_capacity(1 << 16),
            frames: 0,
        })
    }

    /// Appends a batch of receptions (already in time order).
    pub fn write(&mut self, batch: &[Reception]) -> anyhow::Result<()> {
        self.text.clear();
        for r in batch {
            let frame = self.frame(r);
            raw::encode_raw_line(&frame, &mut self.text);
        }
        self.raw.write_all(self.text.as_bytes())?;
        self.text.clear();
        self.bytes.clear();
        for r in batch {
            let frame = self.frame(r);
            beast::encode_beast(&frame, &mut self.bytes);
            avr::encode_avr(&frame, &mut self.text);
        }
        self.beast.write_all(&self.bytes)?;
        self.avr.write_all(self.text.as_bytes())?;
        self.text.clear();
        for r in batch {
            if let Some(m) = &r.message {
                sbs::encode_sbs(m, &mut self.text);
            }
        }
        self.sbs.write_all(self.text.as_bytes())?;
        self.frames += batch.len() as u64;
        Ok(())
    }

    fn frame(&self, r: &Reception) -> Frame {
        Frame {
            at: r.at,
            counter: Some(beast::counter_12mhz(r.at, self.start)),
            raw: RawFrame {
                bytes: r.bytes,
                len: r.len,
                signal: Some(r.signal),
                mlat: false,
            },
        }
    }

    /// Flushes every file.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        for w in [&mut self.raw, &mut self.beast, &mut self.avr, &mut self.sbs] {
            w.flush()?;
        }
        Ok(self.frames)
    }
}
