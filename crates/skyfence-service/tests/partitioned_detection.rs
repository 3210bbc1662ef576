//! Partitioned detection gives the single machine's incidents: the af-pk-border
//! scenario fed, frame for frame, to one detector task and to two tasks owning
//! complementary halves of 32 partitions (as two detector nodes of a cluster split them
//! by fair share): the two nodes' events together are exactly the one task's events,
//! each on one node only. This is what lets a cluster cut the traffic by target.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::detect::{Detector, Event};
use skyfence_core::{TargetId, Timestamp};
use skyfence_decode::codec::Item;
use skyfence_service::config::Config;
use skyfence_service::leases::{Held, Ownership, PartitionFilter, fair_share, partition_of};
use skyfence_service::metrics::Metrics;
use skyfence_service::pipeline::DetectorTask;
use skyfence_service::source::SourceBatch;
use skyfence_sim::Simulator;
use tokio::sync::watch;

const PARTITIONS: u32 = 32;

fn task(config: &Config, filter: Option<PartitionFilter>) -> DetectorTask {
    let zones = config.load_zones(&[], &[]).expect("zones");
    let detector = Detector::new(
        AirspaceIndex::new(zones),
        config.detection,
        config.permits.clone(),
    );
    let (tracks, _) = watch::channel(Arc::new(Vec::new()));
    let t = DetectorTask::new(
        detector,
        vec![Arc::from("sim")],
        Arc::new(Metrics::new(["sim".to_owned()])),
        tracks,
    );
    match filter {
        Some(f) => t.with_partitions(f),
        None => t,
    }
}

/// A node owning `parts` (its leases fresh for the whole test).
fn owning(parts: std::ops::Range<u32>) -> PartitionFilter {
    let now = Instant::now();
    let held = parts
        .map(|p| {
            (
                p,
                Held {
                    revision: 1,
                    renewed: now,
                },
            )
        })
        .collect();
    let (_tx, rx) = watch::channel(Ownership {
        held,
        live: vec!["n1".into(), "n2".into()],
    });
    PartitionFilter::new(PARTITIONS, rx, Duration::from_secs(3600))
}

/// Each event as JSON, with its target.
fn collect(task: &mut DetectorTask, out: &mut Vec<(String, TargetId)>) {
    for e in task.take_job().batch.events {
        out.push((serde_json::to_string(&e).unwrap(), target_of(&e)));
    }
}

fn target_of(e: &Event) -> TargetId {
    match e {
        Event::Approach { target, .. } => target.id,
        Event::Confirmed { incident, .. }
        | Event::Closed { incident, .. }
        | Event::Lost { incident, .. } => incident.target.id,
    }
}

#[test]
fn two_nodes_owning_half_the_partitions_each_detect_exactly_what_one_machine_does() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = skyfence_sim::builtin::af_pk_border().expect("af-pk-border");
    std::fs::write(
        dir.path().join("zones.geojson"),
        skyfence_sim::borders::to_geojson(&scenario.zones),
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, skyfence_sim::config_toml(&scenario)).unwrap();
    let config = Config::load(&config_path).expect("config");

    let split = fair_share(PARTITIONS, 2, 0);
    let mut tasks = [
        task(&config, None),
        task(&config, Some(owning(0..split))),
        task(&config, Some(owning(split..PARTITIONS))),
    ];
    let mut events: [Vec<(String, TargetId)>; 3] = Default::default();
    let mut sim = Simulator::new(&scenario, 7);
    let mut batch = Vec::new();
    let mut next_tick = scenario.start.add_micros(1_000_000);
    let mut last = scenario.start;
    let mut frames = 0u64;
    loop {
        let more = sim.step(&mut batch).expect("simulate");
        if !batch.is_empty() {
            frames += batch.len() as u64;
            last = batch.last().map_or(last, |r| r.at);
            let items: Vec<Item> = batch
                .drain(..)
                .map(|r| Item::Frame(r.frame(scenario.start)))
                .collect();
            for t in &mut tasks {
                t.process(SourceBatch {
                    source: skyfence_core::SourceId(0),
                    received: Instant::now(),
                    items: items.clone(),
                });
            }
        }
        while next_tick <= last {
            for (t, e) in tasks.iter_mut().zip(events.iter_mut()) {
                t.tick(next_tick);
                collect(t, e);
            }
            next_tick = next_tick.add_micros(1_000_000);
        }
        if !more {
            break;
        }
    }
    for (t, e) in tasks.iter_mut().zip(events.iter_mut()) {
        t.tick(last.add_micros(600_000_000));
        collect(t, e);
    }
    let [single, n1, n2] = events;
    eprintln!(
        "{frames} frames: one machine {} events, node 1 {}, node 2 {}",
        single.len(),
        n1.len(),
        n2.len()
    );
    assert!(frames > 1000, "{frames} frames");
    let confirmed = single
        .iter()
        .filter(|(e, _)| e.contains("\"confirmed\""))
        .count();
    assert!(confirmed >= 2, "too few incidents to compare: {single:#?}");
    assert!(
        !n1.is_empty() && !n2.is_empty(),
        "one node saw nothing: n1 {} events, n2 {}",
        n1.len(),
        n2.len()
    );
    // Every observation went to exactly one node.
    assert!(tasks[1].not_owned() > 0 && tasks[2].not_owned() > 0);
    // The union, as a multiset, is the single machine's events.
    let count = |v: &[(String, TargetId)]| {
        let mut m = BTreeMap::<String, usize>::new();
        for (e, _) in v {
            *m.entry(e.clone()).or_default() += 1;
        }
        m
    };
    let mut both = n1.clone();
    both.extend(n2.iter().cloned());
    assert_eq!(count(&both), count(&single));
    // And each node's events are only of targets of its own partitions.
    for (events, range) in [(&n1, 0..split), (&n2, split..PARTITIONS)] {
        for (e, target) in events {
            assert!(range.contains(&partition_of(target, PARTITIONS)), "{e}");
        }
    }
}

/// Confirmed, closed and lost events by incident id.
fn incident_events(events: &[(String, TargetId)]) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for (e, _) in events {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        let kind = v["event"].as_str().or(v["type"].as_str()).unwrap_or("");
        if let Some(id) = v.pointer("/incident/id").and_then(|x| x.as_str()) {
            *m.entry((id.to_owned(), kind.to_owned())).or_default() += 1;
        }
    }
    m
}

#[test]
fn a_partition_handed_over_mid_flight_continues_its_open_incidents_on_the_new_node() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = skyfence_sim::builtin::af_pk_border().expect("af-pk-border");
    std::fs::write(
        dir.path().join("zones.geojson"),
        skyfence_sim::borders::to_geojson(&scenario.zones),
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, skyfence_sim::config_toml(&scenario)).unwrap();
    let config = Config::load(&config_path).expect("config");

    // The whole recording, one batch per simulator step.
    let mut sim = Simulator::new(&scenario, 7);
    let mut records = Vec::new();
    let mut batches: Vec<Vec<Item>> = Vec::new();
    loop {
        let more = sim.step(&mut records).expect("simulate");
        if !records.is_empty() {
            batches.push(
                records
                    .drain(..)
                    .map(|r| Item::Frame(r.frame(scenario.start)))
                    .collect(),
            );
        }
        if !more {
            break;
        }
    }
    let end = batches.last().unwrap().last().unwrap().at();
    let handover = Timestamp::from_micros((scenario.start.as_micros() + end.as_micros()) / 2);

    // Node A owns every partition until the hand-over, node B from then on; both write
    // to one store, B resumes what A left open from it.
    let store_url = skyfence_store::StoreUrl::Sqlite(dir.path().join("shared.db"));
    let options = skyfence_store::StoreOptions {
        pre_entry: skyfence_service::pipeline::PRE_ENTRY,
        ..Default::default()
    };
    let mut store = skyfence_store::open(&store_url, options).unwrap();
    let reader = std::sync::Mutex::new(store.reader().unwrap());
    let (a_tx, a_rx) = watch::channel(Ownership::default());
    let (b_tx, b_rx) = watch::channel(Ownership::default());
    let all = |now: Instant| Ownership {
        held: (0..PARTITIONS)
            .map(|p| {
                (
                    p,
                    Held {
                        revision: 1,
                        renewed: now,
                    },
                )
            })
            .collect(),
        live: vec!["a".into(), "b".into()],
    };
    a_tx.send_replace(all(Instant::now()));
    let margin = Duration::from_secs(3600);
    let mut a = task(
        &config,
        Some(PartitionFilter::new(PARTITIONS, a_rx, margin)),
    );
    let mut b = task(
        &config,
        Some(PartitionFilter::new(PARTITIONS, b_rx, margin)),
    )
    .with_resume_source(Box::new(move |gained: &[u32]| {
        let r = reader.lock().unwrap();
        Ok(r.open_incidents()?
            .into_iter()
            .filter(|p| gained.contains(&partition_of(&p.incident.target.id, PARTITIONS)))
            .map(|p| {
                let last = p.last_or_entry();
                (p.incident, last)
            })
            .collect())
    }));
    let mut single = task(&config, None);
    let (mut ev_single, mut ev_nodes) = (Vec::new(), Vec::new());
    let mut next_tick = scenario.start.add_micros(1_000_000);
    let mut handed = false;
    let mut open_at_handover = 0;
    for items in batches {
        let last = items.last().unwrap().at();
        for t in [&mut single, &mut a, &mut b] {
            t.process(SourceBatch {
                source: skyfence_core::SourceId(0),
                received: Instant::now(),
                items: items.clone(),
            });
        }
        while next_tick <= last {
            single.tick(next_tick);
            collect(&mut single, &mut ev_single);
            for t in [&mut a, &mut b] {
                t.tick(next_tick);
                let job = t.take_job();
                store.apply(&job.batch).unwrap();
                for e in &job.batch.events {
                    ev_nodes.push((serde_json::to_string(e).unwrap(), target_of(e)));
                }
            }
            if !handed && next_tick >= handover {
                handed = true;
                open_at_handover = store.open_incidents().unwrap().len();
                // A loses every lease, then B takes them (as the keepers would).
                a_tx.send_replace(Ownership::default());
                a.tick(next_tick);
                b_tx.send_replace(all(Instant::now()));
            }
            next_tick = next_tick.add_micros(1_000_000);
        }
    }
    single.tick(end.add_micros(600_000_000));
    collect(&mut single, &mut ev_single);
    b.tick(end.add_micros(600_000_000));
    let job = b.take_job();
    for e in &job.batch.events {
        ev_nodes.push((serde_json::to_string(e).unwrap(), target_of(e)));
    }
    assert!(handed);
    assert!(
        open_at_handover >= 1,
        "no incident open at the hand-over: nothing tested"
    );
    eprintln!("{open_at_handover} incidents open at the hand-over");
    // Every incident is confirmed once and ends once, under the same id, as on one machine.
    assert!(incident_events(&ev_single).len() >= 4);
    assert_eq!(incident_events(&ev_nodes), incident_events(&ev_single));
}
