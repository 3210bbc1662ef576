//! A dossier's inputs on arbitrary bytes: `dossier.json` parsing never panics and what
//! parses writes back to the same manifest; a bundle whose `incident.json`,
//! `track.geojson` and `zone.geojson` are the input is read for the dossier, and every
//! rendering (CSV, GeoJSON, KML, HTML, PDF) of what was read runs without panicking.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use skyfence_bundle::archive::Bundle;
use skyfence_bundle::files;
use skyfence_dossier::model::{self, Manifest, Meta, Model, Row};
use skyfence_dossier::{HashWriter, html, pdf, tables};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let back: Manifest = serde_json::from_slice(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        // The manifest's own facts render (an empty dossier of that period).
        let meta = Meta::of(&m);
        let zones = BTreeMap::new();
        let model = Model { meta: &meta, rows: &[], zones: &zones };
        let _ = html::index_html(&model);
        let _ = pdf::dossier_pdf(&model);
    }
    let mut bundle = Bundle::default();
    for name in [files::INCIDENT, files::GEOJSON, files::ZONE] {
        bundle.files.insert(name.to_owned(), data.to_vec());
    }
    let Ok(facts) = model::bundle_facts(&bundle) else {
        return;
    };
    let mut t = tables::Tables::new(
        HashWriter::default(),
        HashWriter::default(),
        HashWriter::default(),
    )
    .unwrap();
    t.add(&facts.incident, "incidents/x.zip", "00", &facts.track).unwrap();
    let _ = t.finish().unwrap();
    let rows = vec![Row {
        map_track: model::thin(&facts.track, model::MAP_POINTS),
        incident: facts.incident,
        bundle: "incidents/x.zip".into(),
        sha256: "00".into(),
    }];
    let mut zones = BTreeMap::new();
    if let Some(z) = model::bundle_zone(&bundle) {
        zones.insert(z.name.clone(), z);
    }
    let meta = Meta {
        created_at: String::new(),
        period: model::Period { from: String::new(), to: String::new() },
        zones: Vec::new(),
        unauthorised_only: false,
        log: model::LogInfo {
            origin: String::new(),
            key: String::new(),
            checkpoint_size: 0,
            checkpoint_root: String::new(),
        },
        checkpoint: String::new(),
    };
    let model = Model { meta: &meta, rows: &rows, zones: &zones };
    let _ = html::index_html(&model);
    let _ = pdf::dossier_pdf(&model);
});
