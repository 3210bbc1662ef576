//! Alert delivery state ("a durable outbox in the store"): the events table is
//! the outbox, `delivery_cursors` says how far each sink has delivered, and this file
//! keeps what a restart must not forget about the event a sink is trying now (attempt
//! count, first attempt, last error) and the dead letters an operator must see.
//!
//! A sink's loop: read [`IncidentStore::events_since`] its cursor; for an event it does
//! not want, advance the cursor; for one it wants, try it and call
//! [`SqliteStore::record_failed_attempt`] after each failure, then either
//! [`SqliteStore::delivered`] or [`SqliteStore::dead_letter`] (each moves the cursor past
//! the event in the same transaction). Delivery is therefore at-least-once: a crash
//! between the receiver's acceptance and `delivered` repeats that one event.
//!
//! [`IncidentStore::events_since`]: crate::IncidentStore::events_since

use rusqlite::{OptionalExtension, params};
use skyfence_core::Timestamp;
use skyfence_core::detect::IncidentId;

use crate::model::EventRepr;
use crate::{SqliteStore, StoreError, StoredEvent};

/// The event a sink is trying to deliver now, and how that has gone so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The event's sequence number.
    pub seq: u64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the first attempt was made (the age that decides dead-lettering counts from
    /// here, across restarts).
    pub first_attempt_at: Timestamp,
    /// When the latest attempt was made.
    pub last_attempt_at: Timestamp,
    /// Why the latest attempt failed.
    pub last_error: String,
}

/// An event a sink gave up on: shown in `GET /api/alerts` (the shape of each entry of
/// `dead_letters`) and retried on an operator's request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    /// The sink's name (`[[alert]] name`).
    #[serde(skip)]
    pub sink: String,
    /// The event's sequence number.
    pub seq: u64,
    /// The incident, `null` for an approach event.
    pub incident_id: Option<IncidentId>,
    /// The event kind (`confirmed`, `closed`, `lost`, `approach`).
    pub event: String,
    /// Attempts made.
    pub attempts: u32,
    /// First attempt.
    pub first_attempt_at: Timestamp,
    /// Last attempt.
    pub last_attempt_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: String,
    /// True when an operator asked for another try that has not finished yet.
    pub retrying: bool,
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// The sink's delivery cursor, `None` when the sink has never run on this store (a
    /// new sink starts at the end of the log instead of replaying history).
    pub fn delivery_cursor_if_any(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM delivery_cursors WHERE sink = ?1")
            .and_then(|mut st| st.query_row([sink], |r| r.get(0)).optional())
            .map_err(self.err("read delivery cursor"))?;
        Ok(seq.map(to_u64))
    }

    /// The stored event `seq`, `None` when there is none (never stored, or purged).
    pub fn event(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM events WHERE seq = ?1")
            .and_then(|mut st| st.query_row([to_i64(seq)], |r| r.get(0)).optional())
            .map_err(self.err("read event"))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let repr: EventRepr =
            serde_json::from_str(&json).map_err(|e| self.corrupt("events", seq, e))?;
        Ok(Some(StoredEvent {
            seq,
            event: repr.into(),
        }))
    }

    /// How many stored events have a sequence number above `seq` (a sink's backlog).
    pub fn events_after(&self, seq: u64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM events WHERE seq > ?1")
            .and_then(|mut st| st.query_row([to_i64(seq)], |r| r.get(0)))
            .map_err(self.err("count events"))?;
        Ok(to_u64(n))
    }

    /// The attempt in progress of `sink`, if any.
    pub fn delivery_attempt(&self, sink: &str) -> Result<Option<DeliveryAttempt>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT seq, attempts, first_attempt_at, last_attempt_at, last_error
                 FROM delivery_attempts WHERE sink = ?1",
            )
            .and_then(|mut st| {
                st.query_row([sink], |r| {
                    Ok(DeliveryAttempt {
                        seq: to_u64(r.get(0)?),
                        attempts: r.get(1)?,
                        first_attempt_at: Timestamp::from_micros(r.get(2)?),
                        last_attempt_at: Timestamp::from_micros(r.get(3)?),
                        last_error: r.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(self.err("read delivery attempt"))
    }

    /// Records a failed attempt of `sink` to deliver event `seq` at `at`; returns the
    /// attempt state with it counted. An attempt row for another event (left by a crash)
    /// is replaced: counting starts again for `seq`.
    pub fn record_failed_attempt(
        &mut self,
        sink: &str,
        seq: u64,
        at: Timestamp,
        error: &str,
    ) -> Result<DeliveryAttempt, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO delivery_attempts
                     (sink, seq, attempts, first_attempt_at, last_attempt_at, last_error)
                 VALUES (?1, ?2, 1, ?3, ?3, ?4)
                 ON CONFLICT (sink) DO UPDATE SET
                     attempts = CASE WHEN seq = excluded.seq THEN attempts + 1 ELSE 1 END,
                     first_attempt_at = CASE WHEN seq = excluded.seq
                                        THEN first_attempt_at ELSE excluded.first_attempt_at END,
                     seq = excluded.seq,
                     last_attempt_at = excluded.last_attempt_at,
                     last_error = excluded.last_error",
            )
            .and_then(|mut st| st.execute(params![sink, to_i64(seq), at.as_micros(), error]))
            .map_err(self.err("record delivery attempt"))?;
        self.delivery_attempt(sink)?
            .ok_or_else(|| self.corrupt("delivery_attempts", sink, "row vanished after upsert"))
    }

    /// `sink` delivered event `seq`: in one transaction, its cursor moves to `seq` (never
    /// back), its attempt row goes, and a dead letter for `seq` (an operator's retry)
    /// goes.
    pub fn delivered(&mut self, sink: &str, seq: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op: "record delivery",
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        advance_cursor(&tx, sink, seq).map_err(err)?;
        tx.execute(
            "DELETE FROM delivery_attempts WHERE sink = ?1 AND seq = ?2",
            params![sink, to_i64(seq)],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM dead_letters WHERE sink = ?1 AND seq = ?2",
            params![sink, to_i64(seq)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// `sink` gives up on `letter.seq`: in one transaction the dead letter is stored
    /// (replacing an earlier one for the same event, with its retry request cleared), the
    /// attempt row goes and the cursor moves past the event.
    pub fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op: "store dead letter",
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT OR REPLACE INTO dead_letters
                 (sink, seq, incident_id, event, attempts, first_attempt_at, last_attempt_at,
                  last_error, retry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
            params![
                letter.sink,
                to_i64(letter.seq),
                letter.incident_id.map(|i| i.to_string()),
                letter.event,
                letter.attempts,
                letter.first_attempt_at.as_micros(),
                letter.last_attempt_at.as_micros(),
                letter.last_error,
            ],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM delivery_attempts WHERE sink = ?1",
            params![letter.sink],
        )
        .map_err(err)?;
        advance_cursor(&tx, &letter.sink, letter.seq).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// The dead letters of `sink` (every sink's when `None`), by sink and sequence
    /// number.
    pub fn dead_letters(&self, sink: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let err = self.err("read dead letters");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT sink, seq, incident_id, event, attempts, first_attempt_at,
                        last_attempt_at, last_error, retry
                 FROM dead_letters WHERE ?1 IS NULL OR sink = ?1 ORDER BY sink, seq",
            )
            .map_err(&err)?;
        let rows = st
            .query_map([sink], |r| {
                Ok((
                    DeadLetter {
                        sink: r.get(0)?,
                        seq: to_u64(r.get(1)?),
                        incident_id: None,
                        event: r.get(3)?,
                        attempts: r.get(4)?,
                        first_attempt_at: Timestamp::from_micros(r.get(5)?),
                        last_attempt_at: Timestamp::from_micros(r.get(6)?),
                        last_error: r.get(7)?,
                        retrying: r.get(8)?,
                    },
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut letter, id) = row.map_err(&err)?;
            if let Some(id) = id {
                letter.incident_id = Some(id.parse().map_err(|e| {
                    self.corrupt("dead_letters", format!("{}/{}", letter.sink, letter.seq), e)
                })?);
            }
            out.push(letter);
        }
        Ok(out)
    }

    /// Asks `sink` to try dead letter `seq` again; false when there is no such dead
    /// letter.
    pub fn request_retry(&mut self, sink: &str, seq: u64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE dead_letters SET retry = 1 WHERE sink = ?1 AND seq = ?2")
            .and_then(|mut st| st.execute(params![sink, to_i64(seq)]))
            .map_err(self.err("request retry"))?;
        Ok(n > 0)
    }

    /// The oldest dead letter of `sink` an operator asked to retry, if any.
    pub fn next_retry(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT seq FROM dead_letters WHERE sink = ?1 AND retry = 1 ORDER BY seq LIMIT 1",
            )
            .and_then(|mut st| st.query_row([sink], |r| r.get(0)).optional())
            .map_err(self.err("read retry requests"))?;
        Ok(seq.map(to_u64))
    }
}

impl SqliteStore {
    /// Forgets the delivery cursors and in-progress attempts of every sink not in
    /// `sinks` (a sink removed from the config). Retention keeps every event some
    /// cursor has not passed ([`IncidentStore::purge_older_than`]), so a cursor nobody
    /// advances any more would hold retention back for ever. A sink added again later
    /// starts at the end of the log, like any new sink. Dead letters are kept: they are
    /// the record of what was never delivered. Returns how many cursors were removed.
    ///
    /// [`IncidentStore::purge_older_than`]: crate::IncidentStore::purge_older_than
    pub fn retain_delivery_cursors(&mut self, sinks: &[&str]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op: "forget removed sinks",
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let mut removed = 0;
        {
            let names: Vec<String> = tx
                .prepare("SELECT sink FROM delivery_cursors")
                .and_then(|mut st| {
                    st.query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .map_err(err)?;
            for name in names.iter().filter(|n| !sinks.contains(&n.as_str())) {
                removed += tx
                    .execute("DELETE FROM delivery_cursors WHERE sink = ?1", [name])
                    .map_err(err)?;
                tx.execute("DELETE FROM delivery_attempts WHERE sink = ?1", [name])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(removed)
    }
}

/// Moves `sink`'s cursor to `seq` unless it is already further.
fn advance_cursor(tx: &rusqlite::Transaction<'_>, sink: &str, seq: u64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO delivery_cursors (sink, seq) VALUES (?1, ?2)
         ON CONFLICT (sink) DO UPDATE SET seq = max(seq, excluded.seq)",
    )?
    .execute(params![sink, to_i64(seq)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IncidentStore, StoreBatch};
    use skyfence_core::detect::{Event, Fix, TargetInfo};
    use skyfence_core::{Icao24, TargetId};

    fn approach(at_s: i64) -> Event {
        Event::Approach {
            at: Timestamp::from_secs(at_s),
            zone: "PK".into(),
            target: TargetInfo {
                id: TargetId::Icao(Icao24::from_u32_masked(0x700c02)),
                callsign: None,
                category: None,
            },
            position: Fix {
                lat: 33.0,
                lon: 70.0,
                alt_ft: Some(1200),
            },
        }
    }

    fn store_with_events(n: i64) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path().join("s.db")).unwrap();
        let batch = StoreBatch {
            events: (0..n).map(|i| approach(1_700_000_000 + i)).collect(),
            ..StoreBatch::default()
        };
        s.apply(&batch).unwrap();
        (dir, s)
    }

    #[test]
    fn failed_attempts_count_per_event_and_survive_reopen() {
        let (dir, mut s) = store_with_events(3);
        assert_eq!(s.delivery_cursor_if_any("hook").unwrap(), None);
        let t0 = Timestamp::from_secs(1_700_000_100);
        let t1 = Timestamp::from_secs(1_700_000_101);
        s.record_failed_attempt("hook", 1, t0, "http 503").unwrap();
        let a = s
            .record_failed_attempt("hook", 1, t1, "connection refused")
            .unwrap();
        assert_eq!(a.attempts, 2);
        assert_eq!(a.first_attempt_at, t0);
        assert_eq!(a.last_attempt_at, t1);
        assert_eq!(a.last_error, "connection refused");
        drop(s);
        let mut s = SqliteStore::open(dir.path().join("s.db")).unwrap();
        assert_eq!(s.delivery_attempt("hook").unwrap(), Some(a));
        // Another event starts counting again.
        let b = s.record_failed_attempt("hook", 2, t1, "http 500").unwrap();
        assert_eq!((b.seq, b.attempts, b.first_attempt_at), (2, 1, t1));
        s.delivered("hook", 2).unwrap();
        assert_eq!(s.delivery_attempt("hook").unwrap(), None);
        assert_eq!(s.delivery_cursor("hook").unwrap(), 2);
        assert_eq!(s.events_after(2).unwrap(), 1);
    }

    #[test]
    fn dead_letters_move_the_cursor_and_retry_on_request() {
        let (_dir, mut s) = store_with_events(3);
        let t0 = Timestamp::from_secs(1_700_000_100);
        let a = s.record_failed_attempt("hook", 2, t0, "http 404").unwrap();
        let letter = DeadLetter {
            sink: "hook".into(),
            seq: 2,
            incident_id: Some("0123456789abcdef".parse().unwrap()),
            event: "confirmed".into(),
            attempts: a.attempts,
            first_attempt_at: a.first_attempt_at,
            last_attempt_at: a.last_attempt_at,
            last_error: a.last_error.clone(),
            retrying: false,
        };
        s.dead_letter(&letter).unwrap();
        assert_eq!(s.delivery_cursor("hook").unwrap(), 2);
        assert_eq!(s.delivery_attempt("hook").unwrap(), None);
        assert_eq!(s.dead_letters(Some("hook")).unwrap(), vec![letter.clone()]);
        assert_eq!(s.dead_letters(Some("other")).unwrap(), vec![]);
        assert_eq!(s.next_retry("hook").unwrap(), None);
        assert!(!s.request_retry("hook", 3).unwrap());
        assert!(s.request_retry("hook", 2).unwrap());
        assert_eq!(s.next_retry("hook").unwrap(), Some(2));
        assert!(s.dead_letters(None).unwrap()[0].retrying);
        // The retry works: the dead letter goes, the cursor stays where it was.
        s.set_delivery_cursor("hook", 3).unwrap();
        s.delivered("hook", 2).unwrap();
        assert_eq!(s.dead_letters(None).unwrap(), vec![]);
        assert_eq!(s.delivery_cursor("hook").unwrap(), 3);
        let e = s.event(2).unwrap().unwrap();
        assert_eq!(e.seq, 2);
        assert_eq!(e.event, approach(1_700_000_001));
        assert_eq!(s.event(9).unwrap(), None);
    }
}
