//! The recordings: the same receptions in every format of the registry that has a
//! simulator [`Writer`] (raw CSV, Beast, AVR, SBS), streamed.
//!
//! Each format is written by its own thread from shared batches, so formatting runs in
//! parallel with the simulation; each file still receives the batches in order, so the
//! bytes do not depend on scheduling.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use skyfence_core::Timestamp;
use skyfence_decode::format::{self, Encode, Writer};

use super::surveillance::Reception;

/// Batches in flight per format before the simulation waits for the writers.
const QUEUE: usize = 8;

/// A recording format: an entry of the format registry that has a [`Writer`].
pub type Format = &'static format::Format;

/// The format called `name` if the simulator can write it (`--formats`).
pub fn from_name(name: &str) -> Option<Format> {
    format::lookup(name).filter(|f| f.writer.is_some())
}

/// The names of the formats the simulator can write, as "a, b or c".
pub fn names() -> String {
    format::names_where(|f| f.writer.is_some())
}

type Batch = Arc<Vec<Reception>>;

/// Writes every reception to the recordings.
pub struct Recordings {
    senders: Vec<SyncSender<Batch>>,
    writers: Vec<(PathBuf, JoinHandle<std::io::Result<()>>)>,
    frames: u64,
}

/// One writer thread's loop.
fn write_format(
    writer: Writer,
    mut out: BufWriter<File>,
    start: Timestamp,
    batches: Receiver<Batch>,
) -> std::io::Result<()> {
    let mut text = String::with_capacity(1 << 20);
    let mut bytes = Vec::with_capacity(1 << 20);
    out.write_all(writer.header.as_bytes())?;
    for batch in batches {
        text.clear();
        bytes.clear();
        for r in batch.iter() {
            match writer.encode {
                Encode::FrameBytes(encode) => encode(&r.frame(start), &mut bytes),
                Encode::FrameText(encode) => encode(&r.frame(start), &mut text),
                Encode::MessageText(encode) => {
                    if let Some(m) = &r.message {
                        encode(m, &mut text);
                    }
                }
            }
        }
        out.write_all(text.as_bytes())?;
        out.write_all(&bytes)?;
    }
    out.flush()
}

impl Recordings {
    /// Creates the files of `formats` (each its registry [`Writer`]'s file name:
    /// `raw.csv`, `beast.bin`, `avr.txt`, `sbs.csv`) in `dir` and their writer threads;
    /// the Beast and AVR 12 MHz counters read 0 at `start`.
    pub fn create(dir: &Path, start: Timestamp, formats: &[Format]) -> anyhow::Result<Self> {
        let mut senders = Vec::new();
        let mut writers = Vec::new();
        for &format in formats {
            let writer = format
                .writer
                .ok_or_else(|| anyhow::anyhow!("the simulator cannot write {}", format.name))?;
            let path = dir.join(writer.file_name);
            let f = File::create(&path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
            let out = BufWriter::with_capacity(1 << 20, f);
            let (tx, rx) = sync_channel::<Batch>(QUEUE);
            let handle = std::thread::Builder::new()
                .name(format!("sim-{}", writer.file_name))
                .spawn(move || write_format(writer, out, start, rx))?;
            senders.push(tx);
            writers.push((path, handle));
        }
        Ok(Recordings {
            senders,
            writers,
            frames: 0,
        })
    }

    /// Appends a batch of receptions (already in time order).
    pub fn write(&mut self, batch: Vec<Reception>) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.frames += batch.len() as u64;
        let batch = Arc::new(batch);
        for tx in &self.senders {
            if tx.send(Arc::clone(&batch)).is_err() {
                // The writer stopped on an error; `finish` reports it.
                break;
            }
        }
        Ok(())
    }

    /// Waits for every writer; returns the number of frames written to each recording.
    pub fn finish(self) -> anyhow::Result<u64> {
        drop(self.senders);
        for (path, handle) in self.writers {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => anyhow::bail!("cannot write {}: {e}", path.display()),
                Err(_) => anyhow::bail!("writer of {} panicked", path.display()),
            }
        }
        Ok(self.frames)
    }
}
