//! The webhook sink (`[[alert]] type = "webhook"`): one JSON POST per alert.
//!
//! Body: `{"event", "level", "rule", "seq", "at", "incident", "sent_at"}` (docs/INTERFACES.md
//! "Incident" for `incident`); an `approach` carries `zone`, `target` and `position`
//! instead of `incident`. Headers: `X-Skyfence-Signature: sha256=<hex HMAC-SHA256 of
//! the body>` (RFC 2104 with SHA-256, keyed with `secret`; only when a secret is set),
//! `Idempotency-Key` ([`Alert::idempotency_key`]: the same on every redelivery of one
//! event), `X-Skyfence-Event` (the kind), `User-Agent: skyfence/<version>`.
//!
//! Outcome of an attempt: a 2xx is delivered. A connection error, a timeout, 408, 429
//! and 5xx are retried (honouring `Retry-After` in seconds). Anything else (3xx, as
//! redirects are not followed: a POST must not silently become a GET elsewhere; 4xx
//! but 408 and 429) means the receiver refuses this request as it is: retrying the same
//! bytes cannot help, dropping them silently would lose an alert, so the dispatcher
//! dead-letters it at once, with the status and the start of the response body, where
//! the operator sees it (`GET /api/alerts`, the map, the log, `/metrics`).

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use sha2::Sha256;
use skyfence_core::Timestamp;
use skyfence_core::detect::{Event, Fix, Incident, TargetInfo};

use super::{Alert, AlertLevel, AlertSpec, DeliveryError, Sink};
use crate::config::{SinkConfig, WebhookConfig};
use skyfence_core::time::wall_clock;

/// Bytes of a refusing response's body kept in the error (enough for a JSON error).
const ERROR_BODY_BYTES: usize = 300;
/// The longest connection attempt (shorter still when `timeout_s` is).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The JSON body of one alert.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// `approach`, `confirmed`, `closed` or `lost`.
    pub event: &'static str,
    /// The rule's level.
    pub level: AlertLevel,
    /// The rule's name.
    pub rule: &'a str,
    /// The event's sequence number in the store.
    pub seq: u64,
    /// When the event happened (the deciding report's time).
    pub at: Timestamp,
    /// The incident as of the event (not for `approach`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<&'a Incident>,
    /// `approach` only: the zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<&'a str>,
    /// `approach` only: the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a TargetInfo>,
    /// `approach` only: where it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<&'a Fix>,
    /// When this attempt was sent (differs between redeliveries; the idempotency key
    /// does not).
    pub sent_at: Timestamp,
}

impl<'a> Payload<'a> {
    /// The body of `alert` sent at `sent_at`.
    pub fn new(alert: &'a Alert, sent_at: Timestamp) -> Self {
        let (zone, target, position) = match &alert.event {
            Event::Approach {
                zone,
                target,
                position,
                ..
            } => (Some(zone.as_str()), Some(target), Some(position)),
            _ => (None, None, None),
        };
        Payload {
            event: alert.event.kind(),
            level: alert.level,
            rule: &alert.rule,
            seq: alert.seq,
            at: alert.event.at(),
            incident: alert.event.incident(),
            zone,
            target,
            position,
            sent_at,
        }
    }
}

/// `sha256=<hex>`: the `X-Skyfence-Signature` of `body` under `secret` (HMAC-SHA256,
/// RFC 2104 / RFC 4231).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length (RFC 2104 §2: longer keys are hashed first).
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable_key_length(),
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// `Hmac::new_from_slice` fails only for MACs with a fixed key length, never HMAC.
#[cold]
fn unreachable_key_length() -> ! {
    unreachable!("HMAC takes keys of any length (RFC 2104 section 2)")
}

/// A webhook receiver.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL without its query, for messages (the query may carry a token).
    target: String,
    secret: Option<Vec<u8>>,
}

impl WebhookSink {
    /// The sink of `spec` (a `type = "webhook"` entry, validated by the config).
    pub fn new(spec: &AlertSpec) -> anyhow::Result<Self> {
        let SinkConfig::Webhook(WebhookConfig { url, secret }) = &spec.config.sink else {
            anyhow::bail!("alert {:?} is not a webhook", &*spec.name);
        };
        let url = reqwest::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("alert {:?}: url {url:?}: {e}", &*spec.name))?;
        // reqwest is built without a TLS crypto provider of its own: install ring's for
        // the process (a no-op when one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(spec.policy.timeout)
            .connect_timeout(spec.policy.timeout.min(CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("skyfence/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                anyhow::anyhow!("alert {:?}: cannot build the HTTP client: {e}", &*spec.name)
            })?;
        Ok(WebhookSink {
            client,
            url,
            target: spec.target(),
            secret: secret.as_ref().map(|s| s.as_bytes().to_vec()),
        })
    }
}

/// A reqwest error with its causes, without the URL (it may carry a token).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `Retry-After` in seconds (RFC 9110 §10.2.3; the HTTP-date form is ignored).
fn retry_after(v: Option<&HeaderValue>) -> Option<Duration> {
    let secs: u64 = v?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

impl Sink for WebhookSink {
    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&Payload::new(alert, wall_clock()))
            .map_err(|e| DeliveryError::permanent(format!("cannot encode the alert: {e}")))?;
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", alert.idempotency_key())
            .header("X-Skyfence-Event", alert.event.kind());
        if let Some(secret) = &self.secret {
            request = request.header("X-Skyfence-Signature", signature(secret, &body));
        }
        let mut response = request.body(body).send().await.map_err(|e| {
            DeliveryError::retryable(format!("POST {}: {}", self.target, describe(e)))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = retry_after(response.headers().get(RETRY_AFTER));
        let mut excerpt = Vec::new();
        while excerpt.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(c)) => excerpt.extend_from_slice(&c),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(ERROR_BODY_BYTES);
        let text = String::from_utf8_lossy(&excerpt);
        let message = format!(
            "POST {}: http {status}{}{}",
            self.target,
            if text.trim().is_empty() { "" } else { ": " },
            text.trim()
        );
        let code = status.as_u16();
        if code == 408 || code == 429 || status.is_server_error() {
            Err(DeliveryError {
                message,
                retryable: true,
                retry_after: wait,
            })
        } else {
            Err(DeliveryError::permanent(format!(
                "{message} (the receiver refuses this request; check url and secret, then retry it)"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::detect::{Classification, IncidentStatus};
    use skyfence_core::{Icao24, TargetId};
    use std::sync::Arc;

    /// RFC 4231 §4.2 (test case 1) and §4.3 (test case 2), HMAC-SHA-256.
    #[test]
    fn signature_matches_rfc_4231() {
        assert_eq!(
            signature(&[0x0b; 20], b"Hi There"),
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // §4.7 (test case 6): a 131-byte key, longer than the block, is hashed first.
        assert_eq!(
            signature(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn alert(event: Event) -> Alert {
        Alert {
            seq: 42,
            event,
            rule: Arc::from("ops"),
            level: AlertLevel::Caution,
        }
    }

    #[test]
    fn payload_carries_the_incident_or_the_approaching_target() {
        let at = Timestamp::parse_rfc3339("2023-11-14T22:21:08Z").unwrap();
        let incident = Incident {
            id: "0123456789abcdef".parse().unwrap(),
            zone: "PK".into(),
            target: TargetInfo {
                id: TargetId::Icao(Icao24::from_u32_masked(0x700c02)),
                callsign: None,
                category: None,
            },
            classification: Classification::Unknown,
            authorised: false,
            permit: None,
            status: IncidentStatus::Open,
            entry_observed: true,
            entered_at: at,
            exited_at: None,
            last_seen_at: at,
            entry: Fix {
                lat: 33.0,
                lon: 70.0,
                alt_ft: Some(900),
            },
            exit: None,
            duration_s: 5.0,
            max_depth_m: 120.0,
            max_alt_ft: Some(900),
            reports: 3,
            cooperative: None,
            sensors: Vec::new(),
            operator: None,
            remoteid: None,
            verification: None,
        };
        let a = alert(Event::Confirmed {
            at,
            incident: incident.clone(),
        });
        assert_eq!(a.idempotency_key(), "0123456789abcdef/confirmed");
        let sent = Timestamp::parse_rfc3339("2023-11-14T22:21:09Z").unwrap();
        let v = serde_json::to_value(Payload::new(&a, sent)).unwrap();
        assert_eq!(v["event"], "confirmed");
        assert_eq!(v["level"], "caution");
        assert_eq!(v["rule"], "ops");
        assert_eq!(v["seq"], 42);
        assert_eq!(v["incident"], serde_json::to_value(&incident).unwrap());
        assert_eq!(v["incident"]["id"], "0123456789abcdef");
        assert_eq!(v["at"], serde_json::to_value(at).unwrap());
        assert_eq!(v["sent_at"], serde_json::to_value(sent).unwrap());
        assert!(v.get("target").is_none() && v.get("zone").is_none());

        let a = alert(Event::Approach {
            at,
            zone: "PK".into(),
            target: incident.target,
            position: incident.entry,
        });
        assert_eq!(a.idempotency_key(), "approach/PK/700c02/1700000468000000");
        let v = serde_json::to_value(Payload::new(&a, sent)).unwrap();
        assert_eq!(v["event"], "approach");
        assert_eq!(v["zone"], "PK");
        assert_eq!(v["target"]["icao24"], "700c02");
        assert_eq!(v["target"]["kind"], "icao");
        assert_eq!(v["target"]["id"], "700c02");
        assert_eq!(v["position"]["alt_ft"], 900);
        assert!(v.get("incident").is_none());
    }

    /// An https receiver that hangs up during the TLS handshake: the client (rustls
    /// with the ring provider installed by `WebhookSink::new`) reports a retryable
    /// error instead of panicking for want of a crypto provider.
    #[tokio::test]
    async fn a_failed_tls_handshake_is_retryable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 5];
            let _ = tokio::io::AsyncReadExt::read_exact(&mut conn, &mut hello).await;
            // TLS record header: handshake (22), version 3.x.
            (hello[0], hello[1])
        });
        let c = crate::config::Config::parse(&format!(
            "[[alert]]\ntype = \"webhook\"\nurl = \"https://{addr}/h\"\ntimeout_s = 5\n"
        ))
        .unwrap();
        let spec = &crate::alerts::specs_from_config(&c.alerts, &[]).unwrap()[0];
        let sink = WebhookSink::new(spec).unwrap();
        let at = Timestamp::from_secs(1_700_000_000);
        let e = sink
            .deliver(&alert(Event::Approach {
                at,
                zone: "PK".into(),
                target: TargetInfo {
                    id: TargetId::Icao(Icao24::from_u32_masked(0x700c02)),
                    callsign: None,
                    category: None,
                },
                position: Fix {
                    lat: 33.0,
                    lon: 70.0,
                    alt_ft: None,
                },
            }))
            .await
            .unwrap_err();
        assert!(e.retryable, "{e}");
        assert!(
            e.message.starts_with(&format!("POST https://{addr}/h: ")),
            "{e}"
        );
        assert_eq!(server.await.unwrap(), (22, 3), "a TLS ClientHello was sent");
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("120"))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static(
                "Wed, 21 Oct 2015 07:28:00 GMT"
            ))),
            None
        );
        assert_eq!(retry_after(None), None);
    }
}
