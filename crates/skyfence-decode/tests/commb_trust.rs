//! Comm-B trust by repetition (`DecoderConfig::commb_trust_replies`): DF20/21 replies
//! from an address never heard in DF11/17/18 stay refused by default; with the option, an
//! address is trusted after N replies within the address expiry whose MB the content
//! checks place in one register and which agree with one another, and that is counted.

#[path = "common/long_flight.rs"]
mod long_flight;

use std::collections::HashSet;

use skyfence_core::{Icao24, Squawk, Timestamp};
use skyfence_decode::decoder::{CommBTrustCounts, Decoder, DecoderConfig};
use skyfence_decode::modes;
use skyfence_decode::{DropReason, Frame, Message};

const ADDR: u32 = 0x3C6586;

fn t(secs: f64) -> Timestamp {
    Timestamp::from_secs(1_700_000_000).add_micros((secs * 1e6) as i64)
}

fn icao() -> Icao24 {
    Icao24::new(ADDR).unwrap()
}

/// The MB field of a BDS 2,0 aircraft identification.
fn bds20(callsign: &[u8; 8]) -> [u8; 7] {
    let mut mb: u64 = 0x20;
    for &c in callsign {
        // The 6-bit ICAO character set (Annex 10 Vol IV, Table 3-9): A-Z 1-26, space 32,
        // digits 48-57.
        let i = match c {
            b'A'..=b'Z' => u64::from(c - b'A' + 1),
            b' ' => 32,
            b'0'..=b'9' => u64::from(c),
            _ => panic!("{c}"),
        };
        mb = (mb << 6) | i;
    }
    mb.to_be_bytes()[1..].try_into().unwrap()
}

fn df20(at: f64, alt_ft: i32, callsign: &[u8; 8]) -> Frame {
    let f = modes::encode_commb_altitude_reply(icao(), 0, alt_ft, bds20(callsign)).unwrap();
    Frame::new(t(at), &f).unwrap()
}

fn df21(at: f64, squawk: u16, callsign: &[u8; 8]) -> Frame {
    let sq = Squawk::new(squawk).unwrap();
    let f = modes::encode_commb_identity_reply(icao(), 0, sq, bds20(callsign)).unwrap();
    Frame::new(t(at), &f).unwrap()
}

fn decoder(n: u32) -> Decoder {
    Decoder::new(DecoderConfig {
        commb_trust_replies: n,
        ..DecoderConfig::default()
    })
}

fn accepted(d: &mut Decoder, frames: &[Frame]) -> Vec<Option<Message>> {
    frames.iter().map(|f| d.decode(f)).collect()
}

#[test]
fn refused_by_default_however_often_heard() {
    let mut d = decoder(0);
    let frames: Vec<Frame> = (0..20)
        .map(|i| df20(f64::from(i), 35_000, b"PAF1234 "))
        .collect();
    assert!(accepted(&mut d, &frames).iter().all(Option::is_none));
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 20);
    assert_eq!(*d.commb_trust(), CommBTrustCounts::default());
}

#[test]
fn trusted_after_n_consistent_replies_and_counted() {
    let mut d = decoder(3);
    let frames = [
        df20(0.0, 35_000, b"PAF1234 "),
        df21(2.0, 0o4521, b"PAF1234 "),
        df20(4.0, 35_100, b"PAF1234 "),
        df21(6.0, 0o4521, b"PAF1234 "),
        df20(8.0, 35_100, b"PAF1234 "),
    ];
    let out = accepted(&mut d, &frames);
    assert!(out[0].is_none() && out[1].is_none(), "{out:?}");
    // The third consistent reply earns the trust and is itself accepted.
    let m = out[2].expect("trusted");
    assert_eq!(m.callsign.unwrap().as_str(), "PAF1234");
    assert_eq!(m.alt_ft, Some(35_100));
    assert_eq!(out[3].unwrap().squawk.unwrap().to_string(), "4521");
    assert!(out[4].is_some());
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 2);
    assert_eq!(
        *d.commb_trust(),
        CommBTrustCounts {
            addresses: 1,
            replies: 3,
            inconsistent: 0
        }
    );
    // The trust lasts the address expiry (60 s) from the reply that earned it.
    assert!(d.decode(&df20(63.9, 35_000, b"PAF1234 ")).is_some());
    assert!(d.decode(&df20(125.0, 35_000, b"PAF1234 ")).is_none());
}

#[test]
fn disagreeing_replies_start_the_count_again() {
    // A different callsign.
    let mut d = decoder(2);
    let out = accepted(
        &mut d,
        &[
            df20(0.0, 35_000, b"PAF1234 "),
            df20(1.0, 35_000, b"PIA301  "),
            df20(2.0, 35_000, b"PIA301  "),
        ],
    );
    assert!(out[0].is_none() && out[1].is_none());
    assert_eq!(out[2].unwrap().callsign.unwrap().as_str(), "PIA301");
    assert_eq!(d.commb_trust().inconsistent, 1);

    // A different squawk.
    let mut d = decoder(2);
    let out = accepted(
        &mut d,
        &[
            df21(0.0, 0o4521, b"PAF1234 "),
            df21(1.0, 0o7000, b"PAF1234 "),
        ],
    );
    assert!(out.iter().all(Option::is_none));
    assert_eq!(d.commb_trust().inconsistent, 1);

    // An altitude 20,000 ft away one second later (12,000 ft/min + 500 ft allowed).
    let mut d = decoder(2);
    let out = accepted(
        &mut d,
        &[
            df20(0.0, 35_000, b"PAF1234 "),
            df20(1.0, 15_000, b"PAF1234 "),
        ],
    );
    assert!(out.iter().all(Option::is_none));
    assert_eq!(d.commb_trust().inconsistent, 1);
    assert_eq!(d.commb_trust().addresses, 0);
}

#[test]
fn replies_too_far_apart_or_without_a_register_never_earn_trust() {
    // Two replies 61 s apart: each starts the count again (address expiry 60 s).
    let mut d = decoder(2);
    let out = accepted(
        &mut d,
        &[
            df20(0.0, 35_000, b"PAF1234 "),
            df20(61.0, 35_000, b"PAF1234 "),
        ],
    );
    assert!(out.iter().all(Option::is_none));
    assert_eq!(*d.commb_trust(), CommBTrustCounts::default());

    // An MB the content checks cannot place (all zero) is no evidence at all.
    let mut d = decoder(2);
    let zero = |at: f64| {
        let f = modes::encode_commb_altitude_reply(icao(), 0, 35_000, [0; 7]).unwrap();
        Frame::new(t(at), &f).unwrap()
    };
    let out = accepted(&mut d, &[zero(0.0), zero(1.0), zero(2.0), zero(3.0)]);
    assert!(out.iter().all(Option::is_none));
    assert_eq!(d.commb_trust().addresses, 0);
}

/// Short replies (DF4/5) are not Comm-B: the option leaves them refused.
#[test]
fn surveillance_replies_are_not_trusted_by_repetition() {
    let mut d = decoder(2);
    for i in 0..5 {
        let f = modes::encode_altitude_reply(icao(), 0, 35_000).unwrap();
        assert!(
            d.decode(&Frame::new(t(f64::from(i)), &f).unwrap())
                .is_none()
        );
    }
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 5);
}

/// On a real recording (`testdata/long_flight.csv`): trust by repetition accepts replies
/// the default refuses, and every address it trusted is a real aircraft, one the same
/// recording also holds announced in a DF11/17/18 (so not an address made up by a
/// corrupted frame); nothing the default accepts is lost.
#[test]
fn on_a_real_recording_only_real_aircraft_are_trusted() {
    let frames = long_flight::recording();
    let run = |n: u32| {
        let mut d = decoder(n);
        let messages: Vec<Message> = frames.iter().filter_map(|f| d.decode(f)).collect();
        (
            messages,
            *d.commb_trust(),
            d.drops().get(DropReason::UnknownAddress),
        )
    };
    let (plain, none, refused) = run(0);
    let (trusting, trust, refused_trusting) = run(3);
    assert_eq!(none, CommBTrustCounts::default());
    let announced: HashSet<Icao24> = plain
        .iter()
        .filter(|m| matches!(m.df, Some(11 | 17 | 18)))
        .map(|m| m.icao24)
        .collect();
    assert!(trust.addresses >= 1 && trust.replies >= 1, "{trust:?}");
    assert_eq!(trusting.len() as u64, plain.len() as u64 + trust.replies);
    assert_eq!(refused_trusting + trust.replies, refused);
    let before: HashSet<(Timestamp, Icao24)> = plain.iter().map(|m| (m.at, m.icao24)).collect();
    let extra: Vec<&Message> = trusting
        .iter()
        .filter(|m| !before.contains(&(m.at, m.icao24)))
        .collect();
    assert_eq!(extra.len() as u64, trust.replies);
    for m in extra {
        assert!(matches!(m.df, Some(20 | 21)), "{m:?}");
        assert!(announced.contains(&m.icao24), "{m:?}");
    }
    eprintln!("long_flight: {refused} refused by default; trust after 3: {trust:?}");
}
