//! The alert routes of the HTTP API (under `/api`, behind the bearer token like the
//! rest):
//!
//! - `GET /api/alerts` → `{"sinks": [{"name", "type", "target", "delivered_seq",
//!   "pending", "dead_letters": [{"seq", "incident_id", "event", "attempts",
//!   "first_attempt_at", "last_attempt_at", "last_error", "retrying"}]}]}`: what each
//!   sink has delivered, how many stored events are after its cursor, and what it gave
//!   up on. The live map shows the dead letters from here.
//! - `POST /api/alerts/dead/{sink}/{seq}/retry` → 202 `{"retrying": true}`: the sink
//!   tries that dead letter again before its next new event (404 when there is no such
//!   dead letter).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use skyfence_store::DeadLetter;

use crate::api::{ApiError, AppState};

/// One sink in `GET /api/alerts`.
#[derive(Debug, Serialize)]
pub struct SinkStatus {
    /// `[[alert]] name`.
    pub name: String,
    /// `webhook` or `cot`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where it delivers (URL without query, or CoT address).
    pub target: String,
    /// The sink's delivery cursor: every event up to it is delivered, skipped or
    /// dead-lettered.
    pub delivered_seq: u64,
    /// Stored events after the cursor (not all of them match the sink's rule).
    pub pending: u64,
    /// What the sink gave up on.
    pub dead_letters: Vec<DeadLetter>,
}

/// The body of `GET /api/alerts`.
#[derive(Debug, Serialize)]
pub struct AlertsStatus {
    /// The configured sinks, in config order.
    pub sinks: Vec<SinkStatus>,
}

/// The alert routes, to merge into the `/api` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(status))
        .route("/alerts/dead/{sink}/{seq}/retry", post(retry))
}

async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sinks: Vec<(String, &'static str, String)> = state
        .metrics
        .alert_sinks
        .iter()
        .map(|s| (s.name.clone(), s.kind, s.target.clone()))
        .collect();
    let body = state
        .readers
        .with(move |store| {
            let mut out = Vec::with_capacity(sinks.len());
            for (name, kind, target) in sinks {
                let delivered_seq = store.delivery_cursor(&name)?;
                out.push(SinkStatus {
                    pending: store.events_after(delivered_seq)?,
                    dead_letters: store.dead_letters(Some(&name))?,
                    name,
                    kind,
                    target,
                    delivered_seq,
                });
            }
            Ok(AlertsStatus { sinks: out })
        })
        .await?;
    Ok(Json(body).into_response())
}

async fn retry(
    State(state): State<AppState>,
    Path((sink, seq)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let seq: u64 = seq.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "seq {seq:?} is not an event sequence number (expected a positive integer)"
        ))
    })?;
    if !state.metrics.alert_sinks.iter().any(|s| s.name == sink) {
        return Err(ApiError::not_found(format!(
            "no alert sink {sink:?} (see GET /api/alerts)"
        )));
    }
    let key = sink.clone();
    let found = state
        .readers
        .with(move |reader| {
            // The API's connections are read-only: this rare write opens its own.
            let mut writer = reader.writer()?;
            writer.request_retry(&key, seq)
        })
        .await?;
    if !found {
        return Err(ApiError::not_found(format!(
            "sink {sink:?} has no dead letter {seq}"
        )));
    }
    tracing::info!(sink = %sink, seq, "dead letter retry requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "retrying": true })),
    )
        .into_response())
}
