#!/bin/sh
# Starts a cluster on loopback: three nats-server -js processes routed into one
# JetStream cluster, a PostgreSQL server with PostGIS, and two skyfence detector nodes
# (n1, n2) sharing it. Everything lives in DIR; examples/cluster/stop.sh DIR stops it.
# The tests run this same script (crates/skyfence/tests/cluster_example.rs).
#
#   examples/cluster/start.sh DIR
#
# Environment: SKYFENCE (the binary; default: skyfence on PATH), BASE_PORT (default
# 14220: NATS clients BASE..BASE+2, routes BASE+10..BASE+12, PostgreSQL BASE+20, the
# nodes' APIs BASE+30 and BASE+31), PG_BIN (default /usr/lib/postgresql/15/bin),
# PARTITIONS (default 32). Run as root, PostgreSQL runs as the user postgres.
set -eu

DIR=${1:?usage: start.sh DIR}
SKYFENCE=${SKYFENCE:-skyfence}
BASE=${BASE_PORT:-14220}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PARTITIONS=${PARTITIONS:-32}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
: >"$DIR/pids"

# NATS: three servers, each routed to the other two.
ROUTES=""
for i in 0 1 2; do
    ROUTES="${ROUTES:+$ROUTES,}nats://127.0.0.1:$((BASE + 10 + i))"
done
URLS=""
for i in 0 1 2; do
    nats-server -js -a 127.0.0.1 -p $((BASE + i)) -n "nats-$i" -sd "$DIR/nats-$i" \
        --cluster_name skyfence --cluster "nats://127.0.0.1:$((BASE + 10 + i))" \
        --routes "$ROUTES" >"$DIR/nats-$i.log" 2>&1 &
    echo $! >>"$DIR/pids"
    URLS="${URLS:+$URLS, }\"nats://127.0.0.1:$((BASE + i))\""
done

# PostgreSQL with PostGIS, on its own port, its socket in DIR.
PGPORT=$((BASE + 20))
mkdir -p "$DIR/pg"
AS=""
if [ "$(id -u)" = 0 ]; then
    chmod a+x "$DIR"
    chown postgres "$DIR/pg"
    AS="runuser -u postgres --"
fi
$AS "$PG_BIN/initdb" -D "$DIR/pg/data" -U skyfence --auth=trust >"$DIR/pg/initdb.log" 2>&1
$AS "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/log" -w start \
    -o "-p $PGPORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null
$AS "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U skyfence skyfence
$AS "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U skyfence -d skyfence \
    -c 'CREATE EXTENSION IF NOT EXISTS postgis'

# Two detector nodes.
for n in 1 2; do
    cat >"$DIR/n$n.toml" <<TOML
[cluster]
nats = [$URLS]
node = "n$n"
partitions = $PARTITIONS

[store]
url = "postgres://skyfence@127.0.0.1:$PGPORT/skyfence"

[evidence]
key = "log.key"

[server]
listen = "127.0.0.1:$((BASE + 29 + n))"

[[zones]]
country = "AF"
TOML
    "$SKYFENCE" run --config "$DIR/n$n.toml" >"$DIR/n$n.log" 2>&1 &
    echo $! >>"$DIR/pids"
    # The first node makes the log key before the second reads it.
    waited=0
    while [ "$n" = 1 ] && ! grep -q 'skyfence run: http' "$DIR/n1.log" 2>/dev/null; do
        waited=$((waited + 1))
        [ "$waited" -le 300 ] || { echo "node n1 did not start: see $DIR/n1.log" >&2; exit 1; }
        sleep 0.2
    done
done
echo "nats:     $URLS"
echo "postgres: postgres://skyfence@127.0.0.1:$PGPORT/skyfence"
echo "nodes:    http://127.0.0.1:$((BASE + 30))/api/cluster http://127.0.0.1:$((BASE + 31))/api/cluster"
