//! `skyfence decode` of Mode S input decodes on one thread and writes on another: the
//! lines must be exactly those of the one-thread library path, in order, and a reader
//! that goes away must end the command cleanly.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skyfence_decode::decoder::DecoderConfig;
use skyfence_decode::json::LineWriter;
use skyfence_service::input::{self, ClockOptions, InputSpec};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn recording() -> String {
    format!(
        "raw:{}/../../testdata/long_flight.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The real recording's lines, byte for byte those of `read_messages` and the line
/// writer on one thread (172 432 frames: many batches, and a last partial one).
#[test]
fn decode_writes_every_message_in_order_as_the_library_renders_it() {
    let spec: InputSpec = recording().parse().unwrap();
    let config = DecoderConfig {
        pace_untimed: true,
        ..Default::default()
    };
    let mut expected = Vec::new();
    let mut writer = LineWriter::default();
    let stats = input::read_messages(&spec, ClockOptions::default(), config, |m| {
        writer.write(&mut expected, m);
        expected.push(b'\n');
        Ok(())
    })
    .unwrap();
    assert!(stats.messages > 100_000, "{} messages", stats.messages);

    let out = Command::new(BIN)
        .args(["decode", "--input", &recording()])
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = out.stdout.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(lines, stats.messages);
    // Compared as a whole, and the first difference named if any.
    if out.stdout != expected {
        let at = out
            .stdout
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(out.stdout.len().min(expected.len()));
        panic!(
            "decode output differs from the library rendering at byte {at} ({} vs {} bytes)",
            out.stdout.len(),
            expected.len()
        );
    }
}

/// `skyfence decode ... | head`: when the reader closes the pipe, the command stops
/// (it does not decode the rest into nowhere) and exits 0 without an error message.
#[test]
fn decode_ends_cleanly_when_its_reader_goes_away() {
    let mut child = Command::new(BIN)
        .args(["decode", "--input", &recording()])
        .env("SKYFENCE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    stdout.read_exact(&mut first).unwrap();
    assert!(
        first.starts_with(b"{"),
        "{}",
        String::from_utf8_lossy(&first)
    );
    drop(stdout);
    // A guard against a hang, not a speed check.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "decode did not stop after its reader left"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status}: {err}");
    assert!(!err.contains("rror"), "{err}");
}
