#!/usr/bin/env bash
# Compares two builds of skyfence on this machine, alternating old → new so both see
# the same load: the decode, index and detect criterion benches and `analyze` end to end.
#
#   OLD=/path/to/old/checkout NEW=/path/to/new/checkout SCALE=/dir/of/simulate-scale \
#       bash benches/compare-builds.sh
#
# Each checkout must have run `cargo bench --no-run -p skyfence-decode --bench decode`,
# `cargo bench --no-run -p skyfence-core --bench detect --bench index` and
# `cargo build --release --bin skyfence`. SCALE holds `skyfence simulate --scenario scale
# --targets 1000 --duration 300 --formats beast`. A build older than the Comm-B inference
# has no `skyfence/frames-commb-off` row: its `skyfence/frames` did that same work.
set -u
: "${OLD:?old checkout}" "${NEW:?new checkout}" "${SCALE:?scale recording dir}"
pick() { ls -t "$1"/target/release/deps/"$2"-* | grep -v '\.d$' | head -1; }  # the newest build
for round in 1 2; do
    for side in old new; do
        W=$OLD; [ "$side" = new ] && W=$NEW
        echo "=== round $round $side decode (load $(cut -d' ' -f1-3 /proc/loadavg))"
        (cd "$W/crates/skyfence-decode" && "$(pick "$W" decode)" --bench skyfence --warm-up-time 1 --measurement-time 4 --noplot 2>&1 | grep -E "^decode/|time:")
        echo "=== round $round $side index"
        (cd "$W/crates/skyfence-core" && "$(pick "$W" index)" --bench 'af_locate_1m|af_distance_within|af_crossing' --warm-up-time 1 --measurement-time 4 --noplot 2>&1 | grep -E "^af_|time:")
        echo "=== round $round $side detect"
        (cd "$W/crates/skyfence-core" && "$(pick "$W" detect)" --bench --warm-up-time 1 --measurement-time 4 --noplot 2>&1 | grep -E "^detect|time:")
    done
done
out=$(mktemp -d)
for round in 1 2 3; do
    for side in old new; do
        W=$OLD; [ "$side" = new ] && W=$NEW
        /usr/bin/time -f "analyze $side round $round: user %U s, max RSS %M kB" \
            "$W/target/release/skyfence" analyze --input "beast:$SCALE/beast.bin" \
            --config "$SCALE/config.toml" --start 2023-11-14T22:00:00.000Z --out "$out/$side.jsonl" 2>&1 |
            grep '^analyze'
    done
done
wc -l "$out"/old.jsonl "$out"/new.jsonl
rm -rf "$out"
