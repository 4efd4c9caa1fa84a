#!/usr/bin/env bash
# TAXII 2.1 server under load: `mamori serve` with OBJECTS indicators in one collection.
#
#   bench/taxii.sh [sqlite|postgres]      (OBJECTS=1000000 CONCURRENCY=8 DURATION=20 by default)
#
# 1. POST: wrk posts new 100-object envelopes (bench/taxii/post.lua) to the community
#    collection until it holds OBJECTS objects; prints objects/s and latency percentiles of
#    each round. (Issue 4's bar: at least 20,000 objects/s.)
# 2. GET pages: wrk asks for pages of 100 at random positions of the collection
#    (bench/taxii/get.lua), then for /healthz at the same concurrency; prints both request
#    rates, their ratio and the latency percentiles. (The bar: pages at no less than a third
#    of /healthz's rate, p99 under 10 ms.)
#
# Needs wrk (Debian package wrk) and a release build (built here). PostgreSQL comes from
# Debian's postgresql package, started as the postgres user in a temp dir. The OASIS reference
# server medallion needs minutes for the first page of a 10,000-object collection (issue 4),
# so it is not run here.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-sqlite}
OBJECTS=${OBJECTS:-1000000}
CONCURRENCY=${CONCURRENCY:-8}
DURATION=${DURATION:-20}
MAMORI=${MAMORI_BIN:-$ROOT/target/release/mamori}
COMMUNITY=6d616d6f-7269-4c0a-8000-000000000002
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${PGDATA_DIR:-}" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -n "${MAMORI_BIN:-}" ] || (cd "$ROOT" && cargo build --release -j2 -p mamori-cli >/dev/null)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

case "$MODE" in
sqlite)
    DB="sqlite://$TMP/hub/mamori.db"
    count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM stix_objects').fetchone()[0])" "$TMP/hub/mamori.db"; }
    ;;
postgres)
    PGBIN=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    PGDATA_DIR="$TMP/pg"; mkdir -p "$PGDATA_DIR"; chown postgres "$PGDATA_DIR" "$TMP"
    runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust >/dev/null
    PG_PORT=$(free_port)
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$TMP/pg.log" \
        -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
    wait_port "$PG_PORT"
    psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -qc "CREATE DATABASE bench" >/dev/null
    DB="postgres://postgres@127.0.0.1:$PG_PORT/bench"
    count() { psql "$DB" -Atc "SELECT COUNT(*) FROM stix_objects"; }
    ;;
*) echo "usage: bench/taxii.sh sqlite|postgres" >&2; exit 2 ;;
esac

m() { "$MAMORI" --database "$DB" --data "$TMP/hub" "$@"; }
PORT=$(free_port)
MAMORI_LOG__LEVEL=warn "$MAMORI" --database "$DB" --data "$TMP/hub" serve --listen "127.0.0.1:$PORT" \
    >"$TMP/hub.out" 2>"$TMP/hub.err" &
HUB_PID=$!
PIDS+=($HUB_PID)
wait_port "$PORT"
m admin org create --slug bench --name-en Bench --kind csirt >/dev/null
m admin user create --org bench --username bench.analyst --role analyst >/dev/null
TOKEN=$(m admin token create --user bench.analyst --name taxii-bench --scope read,write | tail -n1 | tr -d '[:space:]')
export TOKEN COLLECTION=$COMMUNITY
URL="http://127.0.0.1:$PORT"
grep -m1 "model name" /proc/cpuinfo | sed 's/^.*: /cpu: /'
echo "store: $MODE; target: $OBJECTS objects; wrk -t2 -c$CONCURRENCY"

echo
echo "== POST 100-object envelopes until the collection holds $OBJECTS objects"
n=0
ROUND=0
while [ "$n" -lt "$OBJECTS" ]; do
    ROUND=$((ROUND + 1))
    export ROUND
    before=$n
    wrk -t2 -c"$CONCURRENCY" -d"$DURATION"s -s "$ROOT/bench/taxii/post.lua" \
        "$URL/taxii2/api/collections/$COMMUNITY/objects/" >"$TMP/post.out"
    n=$(count)
    echo "stored $n (+$((n - before)) new, $(awk -v a="$n" -v b="$before" -v d="$DURATION" 'BEGIN { printf "%.0f", (a - b) / d }') new objects/s): $(grep -E '^(objects/s|p50|p99|non-2xx)' "$TMP/post.out" | tr '\n' ' ')"
    grep -q '^non-2xx: 0' "$TMP/post.out" || { echo "posts were refused:" >&2; tail -n 5 "$TMP/hub.err" >&2; exit 1; }
done

export MAX_SEQ=$n LIMIT=100
echo
echo "== GET pages of 100 at random positions, then /healthz, $DURATION s each"
wrk -t2 -c"$CONCURRENCY" -d"$DURATION"s -s "$ROOT/bench/taxii/get.lua" "$URL" >"$TMP/get.out"
wrk -t2 -c"$CONCURRENCY" -d"$DURATION"s -s "$ROOT/bench/taxii/plain.lua" "$URL/healthz" >"$TMP/health.out"
echo "pages:   $(grep -E '^(requests/s|p50|p90|p99|non-2xx)' "$TMP/get.out" | tr '\n' ' ')"
echo "healthz: $(grep -E '^(requests/s|p50|p90|p99|non-2xx)' "$TMP/health.out" | tr '\n' ' ')"
awk '/^requests\/s/ { r[FILENAME] = $2 } END { for (f in r) if (f ~ /get/) g = r[f]; else h = r[f];
    printf "pages / healthz: %.2f (the bar: at least 0.33)\n", g / h }' "$TMP/get.out" "$TMP/health.out"
echo "hub peak RSS: $(awk '/VmHWM/{print $2, $3}' "/proc/$HUB_PID/status")"
if [ -n "${PERF_OUT:-}" ]; then
    echo "profiling the hub under the page load into $PERF_OUT"
    wrk -t2 -c"$CONCURRENCY" -d12s -s "$ROOT/bench/taxii/get.lua" "$URL" >/dev/null &
    WRK_PID=$!
    perf record -g -p "$HUB_PID" -o "$PERF_OUT" -- sleep 10 >/dev/null 2>&1
    wait "$WRK_PID"
fi
