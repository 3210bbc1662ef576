//! The relay's on-disk spool: what could not be published while NATS was unreachable,
//! kept in arrival order and published from the head when it returns.
//!
//! One append-only file `spool.bin` of records, and `spool.pos`, the offset of the first
//! record not yet acknowledged by JetStream (written through a temporary file and a
//! rename after each acknowledgement, so a crash repeats at most the record in flight,
//! which the message id makes a duplicate JetStream drops). When the head reaches the end
//! the file is emptied. The spool is full when the file reaches its bound: the relay then
//! stops reading its sources and raises the alarm, and nothing is dropped; the bound
//! counts the whole file until it empties (simple, and never more than the bound on disk).
//!
//! A record: `u32` length of the rest (big-endian), then the message id, the source name
//! and the format name (each a `u16` length and UTF-8), the connection number (`u64`), the
//! receive time (`i64` µs) and the payload. A record a crash cut short (the relay died
//! while writing it) is removed from the end of the file at open and logged with its size:
//! those bytes are lost, and the log says so.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One message to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// JetStream message id (`Nats-Msg-Id`): `SITE/RUN/SEQ`.
    pub id: String,
    /// `[[source]] name`.
    pub source: String,
    /// The registry format of the bytes.
    pub format: String,
    /// Which connection of the source (a listen source has one byte stream per receiver).
    pub connection: u64,
    /// Receive time, µs since the epoch.
    pub received_us: i64,
    /// The bytes as read.
    pub payload: Vec<u8>,
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.payload.len() + 64);
        for s in [&self.id, &self.source, &self.format] {
            let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
        }
        body.extend_from_slice(&self.connection.to_be_bytes());
        body.extend_from_slice(&self.received_us.to_be_bytes());
        body.extend_from_slice(&self.payload);
        let mut out = Vec::with_capacity(body.len() + 4);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn decode(body: &[u8]) -> Option<Record> {
        let mut at = 0;
        let mut text = || -> Option<String> {
            let len = usize::from(u16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?));
            let s = std::str::from_utf8(body.get(at + 2..at + 2 + len)?)
                .ok()?
                .to_string();
            at += 2 + len;
            Some(s)
        };
        let (id, source, format) = (text()?, text()?, text()?);
        let connection = u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?);
        let received_us = i64::from_be_bytes(body.get(at + 8..at + 16)?.try_into().ok()?);
        Some(Record {
            id,
            source,
            format,
            connection,
            received_us,
            payload: body.get(at + 16..)?.to_vec(),
        })
    }
}

/// Why the spool failed (the disk).
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Reading or writing a spool file.
    #[error("spool {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A record that does not decode (the file was edited, or the disk is damaged).
    #[error("spool {path}: the record at offset {offset} is damaged")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
    },
}

/// The spool (see the module documentation).
#[derive(Debug)]
pub struct Spool {
    data: PathBuf,
    pos_path: PathBuf,
    file: File,
    /// Offset of the first unacknowledged record.
    head: u64,
    /// Length of the file (the end of the last complete record).
    len: u64,
    max_bytes: u64,
    /// The head record, read ahead.
    next: Option<(Record, u64)>,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, bounded to `max_bytes`. Returns it with the
    /// number of bytes of a record a crash cut short (dropped from the end).
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, u64), SpoolError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let data = dir.join("spool.bin");
        let pos_path = dir.join("spool.pos");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&data)
            .map_err(io(&data))?;
        let head = match std::fs::read_to_string(&pos_path) {
            Ok(s) => s.trim().parse().unwrap_or(0),
            Err(_) => 0,
        };
        // Find the end of the last complete record from the head on.
        let file_len = file.metadata().map_err(io(&data))?.len();
        let mut end = head.min(file_len);
        let mut len_buf = [0u8; 4];
        loop {
            if end + 4 > file_len {
                break;
            }
            file.seek(SeekFrom::Start(end)).map_err(io(&data))?;
            file.read_exact(&mut len_buf).map_err(io(&data))?;
            let next = end + 4 + u64::from(u32::from_be_bytes(len_buf));
            if next > file_len {
                break;
            }
            end = next;
        }
        let cut = file_len - end;
        if cut > 0 {
            file.set_len(end).map_err(io(&data))?;
        }
        let mut spool = Spool {
            data,
            pos_path,
            file,
            head: head.min(end),
            len: end,
            max_bytes,
            next: None,
        };
        if spool.head == spool.len && spool.len > 0 {
            spool.reset()?;
        }
        Ok((spool, cut))
    }

    fn io(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.data.clone(),
            source,
        }
    }

    /// Whether records wait to be published.
    pub fn pending(&self) -> bool {
        self.head < self.len
    }

    /// Bytes waiting (the metric `skyfence_relay_spool_bytes`).
    pub fn depth(&self) -> u64 {
        self.len - self.head
    }

    /// Whether the spool takes no more records.
    pub fn is_full(&self) -> bool {
        self.len >= self.max_bytes
    }

    /// Appends `r` at the end.
    pub fn push(&mut self, r: &Record) -> Result<(), SpoolError> {
        let bytes = r.encode();
        self.file.write_all(&bytes).map_err(|e| self.io(e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// The oldest record not yet acknowledged.
    pub fn peek(&mut self) -> Result<Option<&Record>, SpoolError> {
        if self.next.is_none() && self.pending() {
            let mut len_buf = [0u8; 4];
            self.file
                .seek(SeekFrom::Start(self.head))
                .map_err(|e| self.io(e))?;
            self.file.read_exact(&mut len_buf).map_err(|e| self.io(e))?;
            let mut body = vec![0u8; u32::from_be_bytes(len_buf) as usize];
            self.file.read_exact(&mut body).map_err(|e| self.io(e))?;
            let record = Record::decode(&body).ok_or(SpoolError::Damaged {
                path: self.data.clone(),
                offset: self.head,
            })?;
            self.next = Some((record, 4 + body.len() as u64));
        }
        Ok(self.next.as_ref().map(|(r, _)| r))
    }

    /// The head record was acknowledged: move past it (durably), and empty the file when
    /// nothing is left.
    pub fn pop(&mut self) -> Result<(), SpoolError> {
        let Some((_, size)) = self.next.take() else {
            return Ok(());
        };
        self.head += size;
        if self.head >= self.len {
            return self.reset();
        }
        self.write_pos()
    }

    fn write_pos(&self) -> Result<(), SpoolError> {
        let tmp = self.pos_path.with_extension("pos.tmp");
        std::fs::write(&tmp, self.head.to_string())
            .and_then(|()| std::fs::rename(&tmp, &self.pos_path))
            .map_err(|source| SpoolError::Io {
                path: self.pos_path.clone(),
                source,
            })
    }

    fn reset(&mut self) -> Result<(), SpoolError> {
        self.file.set_len(0).map_err(|e| self.io(e))?;
        self.head = 0;
        self.len = 0;
        self.next = None;
        self.write_pos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64, bytes: usize) -> Record {
        Record {
            id: format!("kabul/1/{n}"),
            source: "rx".into(),
            format: "beast".into(),
            connection: n % 3,
            received_us: 1_700_000_000_000_000 + n as i64,
            payload: vec![n as u8; bytes],
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// A damaged spool (any bytes, any head offset) never panics: it opens, and
        /// reading it either gives records or says which offset is damaged.
        #[test]
        fn any_spool_file_opens_and_reads_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            head in 0u64..700,
        ) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("spool.bin"), &bytes).unwrap();
            std::fs::write(dir.path().join("spool.pos"), head.to_string()).unwrap();
            let (mut s, cut) = Spool::open(dir.path(), 1 << 20).unwrap();
            proptest::prop_assert!(cut <= bytes.len() as u64);
            // Each record read is at least 4 bytes: bounded.
            for _ in 0..=bytes.len() {
                match s.peek() {
                    Ok(Some(_)) => s.pop().unwrap(),
                    Ok(None) | Err(SpoolError::Damaged { .. }) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }

    /// Records come back in order across a reopen, the head survives a restart, the
    /// bound is the file's size, and a record a crash cut short is dropped at open.
    #[test]
    fn records_come_back_in_order_across_reopen_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, cut) = Spool::open(dir.path(), 1000).unwrap();
        assert_eq!(cut, 0);
        for n in 0..4 {
            s.push(&record(n, 40)).unwrap();
        }
        assert_eq!(s.peek().unwrap(), Some(&record(0, 40)));
        s.pop().unwrap();
        assert!(!s.is_full());
        drop(s);
        // A torn record at the end.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("spool.bin"))
            .unwrap();
        f.write_all(&[0, 0, 0, 90, 1, 2, 3]).unwrap();
        drop(f);
        let (mut s, cut) = Spool::open(dir.path(), 1000).unwrap();
        assert_eq!(cut, 7);
        let mut back = Vec::new();
        while let Some(r) = s.peek().unwrap() {
            back.push(r.clone());
            s.pop().unwrap();
        }
        assert_eq!(back, vec![record(1, 40), record(2, 40), record(3, 40)]);
        assert!(!s.pending());
        assert_eq!(
            std::fs::metadata(dir.path().join("spool.bin"))
                .unwrap()
                .len(),
            0
        );
        // Full at the bound.
        for n in 0..9 {
            s.push(&record(n, 60)).unwrap();
        }
        assert!(!s.is_full(), "{} bytes", s.depth());
        s.push(&record(9, 60)).unwrap();
        assert!(s.is_full(), "{} bytes", s.depth());
    }
}
