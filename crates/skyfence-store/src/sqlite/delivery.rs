//! Alert delivery state ("a durable outbox in the store"): the events table is
//! the outbox, `delivery_cursors` says how far each sink has delivered, and this file
//! keeps what a restart must not forget about the event a sink is trying now (attempt
//! count, first attempt, last error) and the dead letters an operator must see.
//!
//! A sink's loop: read [`IncidentStore::events_since`] its cursor; for an event it does
//! not want, advance the cursor; for one it wants, try it and call
//! [`DeliveryStore::record_failed_attempt`] after each failure, then either
//! [`DeliveryStore::delivered`] or [`DeliveryStore::dead_letter`] (each moves the cursor past
//! the event in the same transaction). Delivery is therefore at-least-once: a crash
//! between the receiver's acceptance and `delivered` repeats that one event.
//!
//! [`IncidentStore::events_since`]: crate::IncidentStore::events_since

use rusqlite::{OptionalExtension, params};
use skyfence_core::Timestamp;

use super::sql_err;
use crate::{DeadLetter, DeliveryAttempt, DeliveryStore, SqliteStore, StoreError};

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeliveryStore for SqliteStore {
    fn set_delivery_cursor(&mut self, sink: &str, seq: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO delivery_cursors (sink, seq) VALUES (?1, ?2)
                 ON CONFLICT (sink) DO UPDATE SET seq = max(seq, excluded.seq)",
            )
            .and_then(|mut st| st.execute(params![sink, to_i64(seq)]))
            .map_err(self.err("write delivery cursor"))?;
        Ok(())
    }

    /// The sink's delivery cursor, `None` when the sink has never run on this store (a
    /// new sink starts at the end of the log instead of replaying history).
    fn delivery_cursor_if_any(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM delivery_cursors WHERE sink = ?1")
            .and_then(|mut st| st.query_row([sink], |r| r.get(0)).optional())
            .map_err(self.err("read delivery cursor"))?;
        Ok(seq.map(to_u64))
    }

    /// The attempt in progress of `sink`, if any.
    fn delivery_attempt(&self, sink: &str) -> Result<Option<DeliveryAttempt>, StoreError> {
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
    fn record_failed_attempt(
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
    fn delivered(&mut self, sink: &str, seq: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| sql_err(&path, "record delivery", source);
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
    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| sql_err(&path, "store dead letter", source);
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
    fn dead_letters(&self, sink: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
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
    fn request_retry(&mut self, sink: &str, seq: u64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE dead_letters SET retry = 1 WHERE sink = ?1 AND seq = ?2")
            .and_then(|mut st| st.execute(params![sink, to_i64(seq)]))
            .map_err(self.err("request retry"))?;
        Ok(n > 0)
    }

    /// The oldest dead letter of `sink` an operator asked to retry, if any.
    fn next_retry(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT seq FROM dead_letters WHERE sink = ?1 AND retry = 1 ORDER BY seq LIMIT 1",
            )
            .and_then(|mut st| st.query_row([sink], |r| r.get(0)).optional())
            .map_err(self.err("read retry requests"))?;
        Ok(seq.map(to_u64))
    }
    fn retain_delivery_cursors(&mut self, sinks: &[&str]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = |source| sql_err(&path, "forget removed sinks", source);
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
