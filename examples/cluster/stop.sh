#!/bin/sh
# Stops what examples/cluster/start.sh DIR started: the nodes and NATS servers by the
# process ids it recorded, then PostgreSQL.
set -u
DIR=${1:?usage: stop.sh DIR}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -f "$DIR/pids" ]; then
    # Nodes first (they hand their leases back), then the NATS servers.
    tac "$DIR/pids" | while read -r pid; do kill "$pid" 2>/dev/null; done
    sleep 1
fi
AS=""
[ "$(id -u)" = 0 ] && AS="runuser -u postgres --"
[ -d "$DIR/pg/data" ] && $AS "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast stop >/dev/null 2>&1
exit 0
