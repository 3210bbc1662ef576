//! The whole evidence path as the export and verify commands will use it: the service logs
//! entries and signs a checkpoint, a foreign witness cosigns it, and a verifier holding only
//! text (the leaf bytes, the proof, the signed note and the two vkeys) checks everything.

use proptest::prelude::*;
use skyfence_evidence::{
    Checkpoint, DatasetContent, DatasetKind, EvidenceLeaf, MerkleLog, Note, Signer, VerifierKey,
    Witness, leaf_hash, open_checkpoint, verify_inclusion,
};

const LOG: &str = "skyfence.example/kabul-1";
const WITNESS: &str = "witness.neighbour.example/w1";

fn entries() -> Vec<EvidenceLeaf> {
    vec![
        EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: "borders.geojson".into(),
            loaded_at_us: 1_700_000_000_000_000,
            provenance_sha256: [0x11; 32],
            content: DatasetContent::Bytes(b"{\"type\":\"FeatureCollection\"}".to_vec()),
        },
        EvidenceLeaf::ConfigChanged {
            at_us: 1_700_000_000_000_001,
            source: "/etc/skyfence.toml".into(),
            config: b"[detect]\nmin_depth_m = 50\n".to_vec(),
        },
        EvidenceLeaf::RawFrame {
            sensor: "kbl1".into(),
            received_at_us: 1_700_000_100_000_000,
            signal: Some(0xA0),
            mlat: false,
            frame: vec![
                0x8D, 0x48, 0x40, 0xD6, 0x20, 0x2C, 0xC3, 0x71, 0xC3, 0x2C, 0xE0, 0x57, 0x60, 0x98,
            ],
        },
        EvidenceLeaf::IncidentStateChanged {
            incident_id: [0xab; 8],
            at_us: 1_700_000_100_000_500,
            event: "opened".into(),
            incident_json: "{\"id\":\"abababababababab\"}".into(),
        },
        EvidenceLeaf::OperatorAck {
            incident_id: [0xab; 8],
            operator: "duty-officer".into(),
            note: "seen".into(),
            at_us: 1_700_000_200_000_000,
        },
    ]
}

#[test]
fn a_second_party_verifies_an_entry_from_text_alone() {
    // Service side.
    let log_signer = Signer::from_seed(LOG, [21; 32]).unwrap();
    let mut log = MerkleLog::in_memory();
    let leaves: Vec<Vec<u8>> = entries().iter().map(|e| e.encode().unwrap()).collect();
    for l in &leaves {
        log.append(l).unwrap();
    }
    let size = log.size();
    let note = Checkpoint::new(LOG, size, log.root(size).unwrap())
        .unwrap()
        .sign(&log_signer)
        .unwrap();

    // The neighbour's witness.
    let mut witness = Witness::new(Signer::from_seed(WITNESS, [22; 32]).unwrap());
    witness.add_log(LOG, log_signer.verifier_key());
    let cosigned = witness.cosign(note.as_bytes(), &[], 1_700_000_300).unwrap();

    // What goes in the bundle: text only.
    let log_vkey = log_signer.verifier_key().to_string();
    let witness_vkey = witness.verifier_key().to_string();
    let frame_index = 2;
    let frame_bytes = leaves[frame_index as usize].clone();
    let proof = log.inclusion_proof(frame_index, size).unwrap();

    // Verifier side, from the text.
    let log_key = VerifierKey::parse(&log_vkey).unwrap();
    let witness_key = VerifierKey::parse(&witness_vkey).unwrap();
    let opened = open_checkpoint(cosigned.note.as_bytes(), &log_key, &[witness_key]).unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    assert_eq!(opened.cosignatures[0].timestamp, Some(1_700_000_300));
    let cp = &opened.checkpoint;
    assert_eq!(cp.size, 5);
    verify_inclusion(
        &leaf_hash(&frame_bytes),
        frame_index,
        cp.size,
        &proof,
        &cp.root,
    )
    .unwrap();
    assert!(matches!(
        EvidenceLeaf::decode(&frame_bytes).unwrap(),
        EvidenceLeaf::RawFrame { ref sensor, .. } if sensor == "kbl1"
    ));

    // One changed byte of the frame (its signal level): the proof no longer holds.
    let mut tampered = frame_bytes.clone();
    let signal_at = 2 + 4 + 4 + 8 + 1;
    tampered[signal_at] ^= 1;
    assert!(
        verify_inclusion(
            &leaf_hash(&tampered),
            frame_index,
            cp.size,
            &proof,
            &cp.root
        )
        .is_err()
    );
    // The proof presented for another entry's position: rejected.
    assert!(verify_inclusion(&leaf_hash(&frame_bytes), 3, cp.size, &proof, &cp.root).is_err());
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in "(?s).{0,200}", b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Note::parse(s.as_bytes());
        let _ = Note::parse(&b);
        let _ = Checkpoint::parse_body(&s);
        let _ = VerifierKey::parse(&s);
        let _ = Signer::from_private_key_text(&s);
        let _ = EvidenceLeaf::decode(&b);
    }

    #[test]
    fn parsers_never_panic_on_near_valid_notes(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
        let signer = Signer::from_seed(LOG, [23; 32]).unwrap();
        let note = Checkpoint::new(LOG, 42, [7; 32]).unwrap().sign(&signer).unwrap();
        let mut bytes = note.into_bytes();
        let i = flip % bytes.len();
        bytes[i] ^= 1 << bit;
        bytes.truncate(cut.max(1).min(bytes.len()));
        let _ = open_checkpoint(&bytes, &signer.verifier_key(), &[]);
    }
}
