//! Operators acknowledge incidents: `POST /api/incidents/{id}/ack` with
//! `{"operator": "...", "note": "..."}`.
//!
//! Semantics: the first entry of an incident is its *acknowledgement*; every later one
//! is a *note* (an operator adds what they learnt: "pilot contacted", "handed to the
//! air force"). Entries are append-only and kept in order (the store's `acks` table, a
//! leaf of the evidence log each); `GET /api/incidents` and `GET /api/incidents/{id}`
//! carry them as the extension fields `acknowledged` (true once any entry exists) and
//! `acks` (oldest first). Each entry is also written to the log (tracing target
//! `skyfence::audit`) and pushed to `GET /api/events` clients as an SSE `ack` event
//! (the body of the POST's answer; no SSE id, as acknowledgements are not in the
//! event log that ids number: a client that was away re-reads the incident).
//!
//! The operator is the name the client gives: the API's bearer token says the caller
//! may act, not who they are (a deployment that needs identities puts an
//! authenticating proxy in front and has it fill `operator`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_core::time::wall_clock;
use skyfence_store::{Ack, IncidentDetail, IncidentStore, Store, StoreError};
use tokio::sync::broadcast;

/// Longest `operator`, in characters.
pub const MAX_OPERATOR_CHARS: usize = 64;
/// Longest `note`, in characters (the request body is capped at 16 KiB anyway).
pub const MAX_NOTE_CHARS: usize = 2000;
/// Attempts of one acknowledgement when the store is busy (the store writer commits a
/// batch at least every 100 ms; SQLite refuses a write transaction whose snapshot a
/// concurrent commit made stale).
const ATTEMPTS: u32 = 5;

/// The write connection acknowledgements go through (its own connection to the store
/// file: the store writer's stays with the detector's batches; SQLite serialises the
/// two writers).
#[derive(Clone)]
pub struct AckState {
    writer: Arc<Mutex<Box<dyn Store>>>,
    notices: broadcast::Sender<Arc<str>>,
}

/// Acknowledgements buffered for SSE clients (a client further behind skips them).
const NOTICE_BUFFER: usize = 256;

impl AckState {
    /// From a write connection to the service's store.
    pub fn new(writer: Box<dyn Store>) -> Self {
        AckState {
            writer: Arc::new(Mutex::new(writer)),
            notices: broadcast::channel(NOTICE_BUFFER).0,
        }
    }

    /// Each stored entry as JSON (the POST's answer), for the SSE `ack` event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.notices.subscribe()
    }
}

/// The body of `POST /api/incidents/{id}/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// Who acknowledges: 1 to 64 characters, no control characters.
    pub operator: String,
    /// Optional note, up to 2000 characters.
    #[serde(default)]
    pub note: String,
}

impl AckRequest {
    /// The trimmed operator and note; the error names the bad field and what was
    /// expected.
    pub fn validate(&self) -> Result<(String, String), String> {
        let operator = self.operator.trim();
        let n = operator.chars().count();
        if n == 0 || n > MAX_OPERATOR_CHARS {
            return Err(format!(
                "operator {:?} has {n} characters (expected 1 to {MAX_OPERATOR_CHARS})",
                truncate(operator, 80)
            ));
        }
        if operator.chars().any(char::is_control) {
            return Err(format!(
                "operator {operator:?} contains a control character (expected a name)"
            ));
        }
        let note = self.note.trim();
        let n = note.chars().count();
        if n > MAX_NOTE_CHARS {
            return Err(format!(
                "note has {n} characters (expected at most {MAX_NOTE_CHARS})"
            ));
        }
        if note
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(
                "note contains a control character (expected text; line breaks and tabs are fine)"
                    .into(),
            );
        }
        Ok((operator.to_owned(), note.to_owned()))
    }
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

/// One stored entry as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct AckView {
    /// Position in the store's acknowledgement log (increasing).
    pub seq: u64,
    /// `acknowledgement` for an incident's first entry, `note` for later ones.
    pub kind: &'static str,
    /// When it was posted (RFC 3339).
    pub at: skyfence_core::Timestamp,
    /// Who posted it.
    pub operator: String,
    /// What they wrote.
    pub note: String,
}

/// An incident's entries for the API, oldest first, the first one marked as the
/// acknowledgement.
pub fn views(acks: Vec<Ack>) -> Vec<AckView> {
    acks.into_iter()
        .enumerate()
        .map(|(i, a)| AckView {
            seq: a.seq,
            kind: if i == 0 { "acknowledgement" } else { "note" },
            at: a.at,
            operator: a.operator,
            note: a.note,
        })
        .collect()
}

/// An incident (or incident detail) with the extension fields `acknowledged` and
/// `acks`; every field of the docs/INTERFACES.md shape stays as it is.
#[derive(Debug, Serialize)]
pub struct WithAcks<T> {
    /// The incident's own fields.
    #[serde(flatten)]
    pub inner: T,
    /// True once anyone acknowledged it.
    pub acknowledged: bool,
    /// Acknowledgement and notes, oldest first.
    pub acks: Vec<AckView>,
}

/// Adds the acks to each incident of a list (one indexed query per incident).
pub fn annotate_list(
    store: &dyn IncidentStore,
    list: Vec<Incident>,
) -> Result<Vec<WithAcks<Incident>>, StoreError> {
    list.into_iter()
        .map(|i| {
            let acks = views(store.acks(i.id)?);
            Ok(WithAcks {
                acknowledged: !acks.is_empty(),
                acks,
                inner: i,
            })
        })
        .collect()
}

/// Adds the acks to one incident with its track.
pub fn annotate_detail(
    store: &dyn IncidentStore,
    detail: IncidentDetail,
) -> Result<WithAcks<IncidentDetail>, StoreError> {
    let acks = views(store.acks(detail.incident.id)?);
    Ok(WithAcks {
        acknowledged: !acks.is_empty(),
        acks,
        inner: detail,
    })
}

/// `POST /incidents/{id}/ack`, to be nested under `/api` (behind the bearer token).
pub fn routes<S>(state: AckState) -> Router<S> {
    Router::new()
        .route("/incidents/{id}/ack", post(acknowledge))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn acknowledge(
    State(state): State<AckState>,
    Path(id): Path<String>,
    body: Result<Json<AckRequest>, JsonRejection>,
) -> Response {
    let Ok(parsed) = id.parse::<IncidentId>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("incident id {id:?} is not an incident id (expected 16 hex digits)"),
        );
    };
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{} (expected {{\"operator\": \"NAME\", \"note\": \"TEXT\"}})",
                    e.body_text()
                ),
            );
        }
    };
    let (operator, note) = match request.validate() {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let at = wall_clock();
    let writer = state.writer.clone();
    let (op, nt) = (operator.clone(), note.clone());
    let stored = tokio::task::spawn_blocking(move || {
        let mut store = writer
            .lock()
            .map_err(|_| "acknowledgement writer lock poisoned".to_string())?;
        let mut attempt = 0;
        let ack = loop {
            attempt += 1;
            match store.acknowledge(parsed, at, &op, &nt) {
                Ok(a) => break a,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!("acknowledgement attempt {attempt} failed, retrying: {e}");
                    std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
                }
                Err(e) => return Err(format!("cannot store the acknowledgement: {e}")),
            }
        };
        let Some(ack) = ack else { return Ok(None) };
        let first = store
            .acks(parsed)
            .map(|all| all.first().is_none_or(|f| f.seq == ack.seq))
            .unwrap_or(false);
        Ok(Some((ack, first)))
    })
    .await;
    match stored {
        Ok(Ok(Some((ack, first)))) => {
            let kind = if first { "acknowledgement" } else { "note" };
            tracing::info!(
                target: "skyfence::audit",
                id = %parsed,
                seq = ack.seq,
                operator = %ack.operator,
                note = %ack.note,
                "incident {kind}"
            );
            let view = AckView {
                seq: ack.seq,
                kind,
                at: ack.at,
                operator: ack.operator,
                note: ack.note,
            };
            let mut body = serde_json::to_value(&view).unwrap_or_default();
            if let Some(o) = body.as_object_mut() {
                o.insert("incident_id".into(), serde_json::json!(parsed.to_string()));
            }
            // No SSE client is not an error.
            let _ = state.notices.send(Arc::from(body.to_string()));
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, format!("no incident {id}")),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, e)
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("acknowledgement task failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(operator: &str, note: &str) -> AckRequest {
        AckRequest {
            operator: operator.into(),
            note: note.into(),
        }
    }

    #[test]
    fn operator_and_note_are_bounded_and_trimmed() {
        assert_eq!(
            req("  duty officer 2 ", " pilot contacted\n").validate(),
            Ok(("duty officer 2".into(), "pilot contacted".into()))
        );
        let e = req("   ", "").validate().unwrap_err();
        assert!(e.contains("0 characters") && e.contains("1 to 64"), "{e}");
        let e = req(&"x".repeat(65), "").validate().unwrap_err();
        assert!(e.contains("65 characters"), "{e}");
        let e = req("a\u{7}b", "").validate().unwrap_err();
        assert!(e.contains("control character"), "{e}");
        assert!(req("ops", &"n".repeat(2000)).validate().is_ok());
        let e = req("ops", &"n".repeat(2001)).validate().unwrap_err();
        assert!(e.contains("2001 characters"), "{e}");
        assert!(req("ops", "line 1\n\tline 2").validate().is_ok());
        assert!(req("ops", "bell\u{7}").validate().is_err());
    }

    #[test]
    fn first_entry_is_the_acknowledgement() {
        let id: IncidentId = "5e1f0c2d3b4a6978".parse().unwrap();
        let ack = |seq, op: &str| Ack {
            seq,
            incident_id: id,
            at: skyfence_core::Timestamp::from_secs(1_700_000_000 + seq as i64),
            operator: op.into(),
            note: String::new(),
        };
        let v = views(vec![ack(3, "a"), ack(7, "b"), ack(9, "a")]);
        let kinds: Vec<_> = v.iter().map(|a| (a.seq, a.kind)).collect();
        assert_eq!(kinds, [(3, "acknowledgement"), (7, "note"), (9, "note")]);
    }
}
