//! Alert delivery state in PostgreSQL: the same tables and loop as the SQLite backend's
//! (the events table is the outbox; per sink a cursor, the attempt in progress and the
//! dead letters).

use skyfence_core::Timestamp;

use super::{PgStore, pg_err, to_i64, to_u64, wait};
use crate::{DeadLetter, DeliveryAttempt, DeliveryStore, StoreError};

/// Moves a sink's cursor to `$2` unless it is already further.
const ADVANCE_CURSOR: &str = "INSERT INTO delivery_cursors (sink, seq) VALUES ($1, $2)
     ON CONFLICT (sink) DO UPDATE SET seq = greatest(delivery_cursors.seq, excluded.seq)";

impl DeliveryStore for PgStore {
    fn set_delivery_cursor(&mut self, sink: &str, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "write delivery cursor",
            ADVANCE_CURSOR,
            &[&sink, &to_i64(seq)],
        )?;
        Ok(())
    }

    fn delivery_cursor_if_any(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let rows = self.query(
            "read delivery cursor",
            "SELECT seq FROM delivery_cursors WHERE sink = $1",
            &[&sink],
        )?;
        Ok(rows.first().map(|r| to_u64(r.get(0))))
    }

    fn delivery_attempt(&self, sink: &str) -> Result<Option<DeliveryAttempt>, StoreError> {
        let rows = self.query(
            "read delivery attempt",
            "SELECT seq, attempts, first_attempt_at, last_attempt_at, last_error
             FROM delivery_attempts WHERE sink = $1",
            &[&sink],
        )?;
        Ok(rows.first().map(|r| DeliveryAttempt {
            seq: to_u64(r.get(0)),
            attempts: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
            first_attempt_at: Timestamp::from_micros(r.get(2)),
            last_attempt_at: Timestamp::from_micros(r.get(3)),
            last_error: r.get(4),
        }))
    }

    fn record_failed_attempt(
        &mut self,
        sink: &str,
        seq: u64,
        at: Timestamp,
        error: &str,
    ) -> Result<DeliveryAttempt, StoreError> {
        self.execute(
            "record delivery attempt",
            "INSERT INTO delivery_attempts AS a
                 (sink, seq, attempts, first_attempt_at, last_attempt_at, last_error)
             VALUES ($1, $2, 1, $3, $3, $4)
             ON CONFLICT (sink) DO UPDATE SET
                 attempts = CASE WHEN a.seq = excluded.seq THEN a.attempts + 1 ELSE 1 END,
                 first_attempt_at = CASE WHEN a.seq = excluded.seq
                                    THEN a.first_attempt_at ELSE excluded.first_attempt_at END,
                 seq = excluded.seq,
                 last_attempt_at = excluded.last_attempt_at,
                 last_error = excluded.last_error",
            &[&sink, &to_i64(seq), &at.as_micros(), &error],
        )?;
        self.delivery_attempt(sink)?
            .ok_or_else(|| self.corrupt("delivery_attempts", sink, "row vanished after upsert"))
    }

    fn delivered(&mut self, sink: &str, seq: u64) -> Result<(), StoreError> {
        let (client, _, location) = self.client_mut()?;
        let err = |e| pg_err(location, "record delivery", e);
        wait(async {
            let tx = client.transaction().await?;
            tx.execute(ADVANCE_CURSOR, &[&sink, &to_i64(seq)]).await?;
            tx.execute(
                "DELETE FROM delivery_attempts WHERE sink = $1 AND seq = $2",
                &[&sink, &to_i64(seq)],
            )
            .await?;
            tx.execute(
                "DELETE FROM dead_letters WHERE sink = $1 AND seq = $2",
                &[&sink, &to_i64(seq)],
            )
            .await?;
            tx.commit().await
        })
        .map_err(err)
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError> {
        let (client, _, location) = self.client_mut()?;
        let err = |e| pg_err(location, "store dead letter", e);
        let attempts = i32::try_from(letter.attempts).unwrap_or(i32::MAX);
        wait(async {
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO dead_letters
                     (sink, seq, incident_id, event, attempts, first_attempt_at, last_attempt_at,
                      last_error, retry)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)
                 ON CONFLICT (sink, seq) DO UPDATE SET
                     incident_id = excluded.incident_id, event = excluded.event,
                     attempts = excluded.attempts, first_attempt_at = excluded.first_attempt_at,
                     last_attempt_at = excluded.last_attempt_at,
                     last_error = excluded.last_error, retry = false",
                &[
                    &letter.sink,
                    &to_i64(letter.seq),
                    &letter.incident_id.map(|i| i.to_string()),
                    &letter.event,
                    &attempts,
                    &letter.first_attempt_at.as_micros(),
                    &letter.last_attempt_at.as_micros(),
                    &letter.last_error,
                ],
            )
            .await?;
            tx.execute(
                "DELETE FROM delivery_attempts WHERE sink = $1",
                &[&letter.sink],
            )
            .await?;
            tx.execute(ADVANCE_CURSOR, &[&letter.sink, &to_i64(letter.seq)])
                .await?;
            tx.commit().await
        })
        .map_err(err)
    }

    fn dead_letters(&self, sink: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = self.query(
            "read dead letters",
            "SELECT sink, seq, incident_id, event, attempts, first_attempt_at,
                    last_attempt_at, last_error, retry
             FROM dead_letters WHERE $1::text IS NULL OR sink = $1
             ORDER BY sink COLLATE \"C\", seq",
            &[&sink],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut letter = DeadLetter {
                sink: r.get(0),
                seq: to_u64(r.get(1)),
                incident_id: None,
                event: r.get(3),
                attempts: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
                first_attempt_at: Timestamp::from_micros(r.get(5)),
                last_attempt_at: Timestamp::from_micros(r.get(6)),
                last_error: r.get(7),
                retrying: r.get(8),
            };
            if let Some(id) = r.get::<_, Option<&str>>(2) {
                letter.incident_id = Some(id.parse().map_err(|e| {
                    self.corrupt("dead_letters", format!("{}/{}", letter.sink, letter.seq), e)
                })?);
            }
            out.push(letter);
        }
        Ok(out)
    }

    fn request_retry(&mut self, sink: &str, seq: u64) -> Result<bool, StoreError> {
        let n = self.execute(
            "request retry",
            "UPDATE dead_letters SET retry = true WHERE sink = $1 AND seq = $2",
            &[&sink, &to_i64(seq)],
        )?;
        Ok(n > 0)
    }

    fn next_retry(&self, sink: &str) -> Result<Option<u64>, StoreError> {
        let rows = self.query(
            "read retry requests",
            "SELECT seq FROM dead_letters WHERE sink = $1 AND retry ORDER BY seq LIMIT 1",
            &[&sink],
        )?;
        Ok(rows.first().map(|r| to_u64(r.get(0))))
    }

    fn retain_delivery_cursors(&mut self, sinks: &[&str]) -> Result<usize, StoreError> {
        let (client, _, location) = self.client_mut()?;
        let err = |e| pg_err(location, "forget removed sinks", e);
        let keep: Vec<&str> = sinks.to_vec();
        wait(async {
            let tx = client.transaction().await?;
            let removed = tx
                .execute(
                    "DELETE FROM delivery_cursors WHERE sink <> ALL($1)",
                    &[&keep],
                )
                .await?;
            tx.execute(
                "DELETE FROM delivery_attempts WHERE sink <> ALL($1)",
                &[&keep],
            )
            .await?;
            tx.commit().await?;
            Ok(removed as usize)
        })
        .map_err(err)
    }
}
