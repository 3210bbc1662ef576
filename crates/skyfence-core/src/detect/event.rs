//! What the detector tells its sinks (store, alerts, SSE, `--events FILE`).
//!
//! JSON: one object tagged by `event`, e.g.
//! `{"event":"confirmed","at":"2023-11-14T22:21:08.120Z","incident":{..}}` and
//! `{"event":"approach","at":..,"zone":"AF","target":{..},"position":{..}}`.

use super::incident::{Fix, Incident, IncidentStatus, TargetInfo};
use crate::Timestamp;

/// A change in the state of a (target, zone) pair.
///
/// `at` is the time the rule fired, from the data: the report that confirmed or closed,
/// or for `lost` the last report inside plus `track_timeout_s` (so a replay and a live run
/// agree whatever the tick rate). For one (target, zone) pair event times never decrease.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The target entered the zone's buffer band (`buffer_m`) at an altitude the zone
    /// covers. Emitted once per approach: not again while the target stays near.
    Approach {
        /// The report's time.
        at: Timestamp,
        /// Zone name.
        zone: String,
        /// The target.
        target: TargetInfo,
        /// The report's position.
        position: Fix,
    },
    /// An incursion was confirmed (`confirm_s` inside with ≥ 2 reports); status `open`.
    Confirmed {
        /// The confirming report's time.
        at: Timestamp,
        /// The incident as of then.
        incident: Incident,
    },
    /// A confirmed incursion left the zone; status `closed`.
    Closed {
        /// The first report outside.
        at: Timestamp,
        /// The final incident.
        incident: Incident,
    },
    /// A confirmed incursion went silent for `track_timeout_s`; status `lost`.
    Lost {
        /// Last report inside + `track_timeout_s`.
        at: Timestamp,
        /// The final incident.
        incident: Incident,
    },
}

impl Event {
    /// When the rule fired.
    pub fn at(&self) -> Timestamp {
        match self {
            Event::Approach { at, .. }
            | Event::Confirmed { at, .. }
            | Event::Closed { at, .. }
            | Event::Lost { at, .. } => *at,
        }
    }

    /// The incident, for every kind but `approach`.
    pub fn incident(&self) -> Option<&Incident> {
        match self {
            Event::Approach { .. } => None,
            Event::Confirmed { incident, .. }
            | Event::Closed { incident, .. }
            | Event::Lost { incident, .. } => Some(incident),
        }
    }

    /// The kind as written in JSON and SSE (`approach`, `confirmed`, `closed`, `lost`).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Approach { .. } => "approach",
            Event::Confirmed { .. } => "confirmed",
            Event::Closed { .. } => "closed",
            Event::Lost { .. } => "lost",
        }
    }

    /// The zone name.
    pub fn zone(&self) -> &str {
        match self {
            Event::Approach { zone, .. } => zone,
            Event::Confirmed { incident, .. }
            | Event::Closed { incident, .. }
            | Event::Lost { incident, .. } => &incident.zone,
        }
    }
}

/// Collects the final state of every incident from an event stream, for the offline
/// analyzer: the last version of each incident wins (`confirmed` is replaced by `closed`
/// or `lost`); [`IncidentLog::finish`] adds the still-open ones.
#[derive(Debug, Default)]
pub struct IncidentLog {
    incidents: Vec<Incident>,
    /// Position of each incident in `incidents`, by id.
    by_id: std::collections::HashMap<super::incident::IncidentId, usize>,
}

impl IncidentLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an event's incident (approach events carry none).
    pub fn record(&mut self, event: &Event) {
        if let Some(i) = event.incident() {
            self.upsert(i.clone());
        }
    }

    fn upsert(&mut self, incident: Incident) {
        match self.by_id.get(&incident.id) {
            Some(&k) => self.incidents[k] = incident,
            None => {
                self.by_id.insert(incident.id, self.incidents.len());
                self.incidents.push(incident);
            }
        }
    }

    /// The incidents with `open_at_end` (from [`super::Detector::finish`]) merged in,
    /// ordered by entry time, then zone, then id: a stable order for golden files.
    pub fn finish(mut self, open_at_end: Vec<Incident>) -> Vec<Incident> {
        for i in open_at_end {
            debug_assert_eq!(i.status, IncidentStatus::Open);
            self.upsert(i);
        }
        let mut v = self.incidents;
        v.sort_by(|a, b| (a.entered_at, &a.zone, a.id).cmp(&(b.entered_at, &b.zone, b.id)));
        v
    }
}
