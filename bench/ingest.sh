#!/usr/bin/env bash
# End-to-end ingestion benchmark: a hub with the SigmaHQ Windows rules loaded receives events
# from `mamori loadgen` (EVTX sample records plus generated network/DNS/proxy events, zstd
# NDJSON batches over HTTP), detects, routes and stores them; prints events/s, batch latency
# and the alert latency of a canary event.
#
# Usage: bench/ingest.sh embedded            # one hub, SQLite, batches processed inline
#        bench/ingest.sh nats                # one hub, SQLite, batches from NATS JetStream
#                                             # (`serve --intake-nats`, sealed as sensors do)
#        bench/ingest.sh bus WORKERS...       # PostgreSQL + a NATS JetStream node and one hub
#                                             # with N bus workers, one run per value given
#                                             # (e.g. `bus 1 2`); prints each part's CPU
#                                             # and the workers' own rate
# Environment:
#   EVENTS       events per run (default 400000)
#   BATCH        events per batch (default 5000)
#   CONCURRENCY  loadgen connections (default 4)
#   SIGMA_DIR    default ../shared/corpora/sigma (rules/windows is loaded)
#   EVTX_DIR     default ../shared/corpora/evtx/hayabusa-sample-evtx
#   MAMORI_BIN   default target/release/mamori (built with cargo -j2 if missing)
#   PATTERNS     a file of STIX patterns, one per line: posted as a TLP:GREEN report of the
#                hub's organisation before the load (embedded mode), so that per-event and
#                cross-event pattern matching is part of the measurement (bench/patterns/)
#   IOCS         a file of "kind value" lines: posted as a TLP:GREEN report of the hub's
#                organisation before the load (embedded mode), so that indicator matches,
#                sightings and IOC alerts are part of the measurement (bench/iocs/)
#   RETRO        a file of "kind value" lines (embedded mode): after the load they are shared
#                as a TLP:GREEN report and the retro-hunt of the stored events is timed
#                (bench/retro/)
# Nothing is downloaded. PostgreSQL comes from Debian's postgresql package (started as the
# postgres user in a temp dir); nats-server from .venv/bin (`.ci/setup` installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-embedded}
shift || true
EVENTS=${EVENTS:-400000}
BATCH=${BATCH:-5000}
CONCURRENCY=${CONCURRENCY:-4}
SIGMA=${SIGMA_DIR:-$ROOT/../shared/corpora/sigma}
EVTX=${EVTX_DIR:-$ROOT/../shared/corpora/evtx/hayabusa-sample-evtx}
MAMORI=${MAMORI_BIN:-$ROOT/target/release/mamori}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${PGDATA_DIR:-}" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

[ -d "$SIGMA/rules/windows" ] || { echo "no Sigma rules at $SIGMA/rules/windows" >&2; exit 2; }
[ -d "$EVTX" ] || { echo "no EVTX samples at $EVTX" >&2; exit 2; }
[ -x "$MAMORI" ] || (cd "$ROOT" && cargo build --release -j2 -p mamori-cli)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

start_hub() { # DB BUS WORKERS -> HUB_PORT
    local db=$1 bus=$2 workers=$3
    HUB_PORT=$(free_port)
    local args=(--database "$db" --data "$TMP/hub" serve --listen "127.0.0.1:$HUB_PORT"
        --rules "$SIGMA/rules/windows" --ingest-rate 0)
    if [ -n "$bus" ]; then args+=(--bus "$bus" --workers "$workers"); fi
    if [ -n "${INTAKE_NATS:-}" ]; then args+=(--intake-nats "$INTAKE_NATS"); fi
    MAMORI_LOG__LEVEL=${HUB_LOG:-warn} ${HUB_WRAP:-} "$MAMORI" "${args[@]}" >"$TMP/hub.out" 2>"$TMP/hub.err" &
    PIDS+=($!)
    HUB_PID=$!
    wait_port "$HUB_PORT"
    grep -E "rules loaded" "$TMP/hub.out" || true
}

tokens() { # DB
    SENSOR=$("$MAMORI" --database "$1" admin sensor add --org hub "bench-$RANDOM" | awk '/token/{print $NF}')
    READ=$("$MAMORI" --database "$1" admin token create --user admin --name "bench-$RANDOM" --scope read | grep -o 'mmr_[A-Za-z0-9_-]*' | head -n1)
}

post_patterns() { # DB: posts $PATTERNS as a report's pattern indicators, $IOCS as values
    [ -n "${PATTERNS:-}${IOCS:-}" ] || return 0
    local write
    write=$("$MAMORI" --database "$1" admin token create --user admin --name "bench-w-$RANDOM" --scope read,write | grep -o 'mmr_[A-Za-z0-9_-]*' | head -n1)
    python3 - "${PATTERNS:-/dev/null}" "$HUB_PORT" "$write" "${IOCS:-/dev/null}" <<'PY'
import json, sys, urllib.request
lines = lambda f: [l.strip() for l in open(f, encoding="utf-8") if l.strip() and not l.startswith("#")]
pats = lines(sys.argv[1])
iocs = [l.split() for l in lines(sys.argv[4])]
body = {"title": "bench indicators", "tlp": "green",
        "indicators": [{"pattern": p} for p in pats] + [{"kind": k, "value": v} for k, v in iocs]}
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/api/v1/reports", json.dumps(body).encode(),
                             {"Content-Type": "application/json", "Authorization": f"Bearer {sys.argv[3]}"})
urllib.request.urlopen(req).read()
print(f"posted {len(pats)} pattern indicators and {len(iocs)} values")
PY
}

retro_hunt() { # DB: shares $RETRO's values and times the hunt of the stored events
    [ -n "${RETRO:-}" ] || return 0
    local admin
    admin=$("$MAMORI" --database "$1" admin token create --user admin --name "bench-a-$RANDOM" --scope read,write,admin | grep -o 'mmr_[A-Za-z0-9_-]*' | head -n1)
    python3 - "$RETRO" "$HUB_PORT" "$admin" <<'PY'
import json, sys, time, urllib.request
vals = [l.split() for l in open(sys.argv[1], encoding="utf-8") if l.strip() and not l.startswith("#")]
base, tok = f"http://127.0.0.1:{sys.argv[2]}", sys.argv[3]
def call(path, body=None):
    req = urllib.request.Request(base + path, json.dumps(body).encode() if body else None,
                                 {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"})
    return json.loads(urllib.request.urlopen(req).read())
call("/api/v1/reports", {"title": "bench retro-hunt", "tlp": "green",
                         "indicators": [{"kind": k, "value": v} for k, v in vals]})
t0 = time.time()
while time.time() - t0 < 600:
    done = [h for h in call("/api/v1/retro-hunts") if h["id"] != "baseline" and h["finished_at"]]
    if done:
        h = done[0]
        secs = max(h["finished_at"] - h["created_at"], 1) / 1000
        print(f"retro-hunt of {h['indicators']} indicators: {h['events']} events in {h['blocks']} blocks "
              f"read in {secs:.2f} s ({h['events'] / secs:,.0f} events/s), {h['alerts']} alerts, "
              f"{h['sightings']} sightings (noticed within {time.time() - t0:.1f} s of the post)")
        break
    time.sleep(0.2)
else:
    print("retro-hunt did not finish within 600 s")
PY
}

hub_cpu_ticks() { awk '{print $14 + $15}' "/proc/$HUB_PID/stat"; }

# CPU ticks of a process, with its reaped children's (PostgreSQL's postmaster reaps its backends).
proc_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { # every PostgreSQL process: the postmaster (with reaped backends) and the live ones
    local t=0 p
    for p in $(pgrep -u postgres postgres); do
        if [ "$p" = "$PG_MAIN" ]; then t=$((t + $(proc_ticks "$p"))); else
            t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); fi
    done
    echo "$t"
}
cpu_snapshot() { echo "$(proc_ticks "$HUB_PID") $(proc_ticks "$NATS_PID") $(pg_ticks)"; }
cpu_report() { # BEFORE AFTER LOADGEN_TIME_FILE: CPU seconds and µs per event of each part
    python3 - "$1" "$2" "$3" "$EVENTS" "$(getconf CLK_TCK)" <<'PY'
import re, sys
b, a = [list(map(int, x.split())) for x in sys.argv[1:3]]
lg = open(sys.argv[3]).read()
m = re.search(r"([0-9.]+) s user, ([0-9.]+) s system", lg)
events, hz = int(sys.argv[4]), int(sys.argv[5])
parts = [("hub", (a[0] - b[0]) / hz), ("nats-server", (a[1] - b[1]) / hz),
         ("postgresql", (a[2] - b[2]) / hz), ("loadgen", float(m[1]) + float(m[2]) if m else 0.0)]
total = sum(s for _, s in parts)
print("CPU: " + ", ".join(f"{n} {s:.1f} s ({s * 1e6 / events:.1f} µs/event)" for n, s in parts)
      + f"; total {total:.1f} s ({total * 1e6 / events:.1f} µs/event)")
PY
}

run_load() {
    "$MAMORI" loadgen --hub "http://127.0.0.1:$HUB_PORT" --token "$SENSOR" --read-token "$READ" \
        ${INTAKE_NATS:+--nats "$INTAKE_NATS"} \
        --events "$EVENTS" --batch "$BATCH" --concurrency "$CONCURRENCY" --evtx "$EVTX" \
        --network-percent "${NETWORK_PERCENT:-50}"
}

wait_drained() { # DB EXPECTED: waits until the store holds EXPECTED events (bus mode)
    local t0=$(date +%s.%N)
    for _ in $(seq 1 1200); do
        local n
        n=$(PGPASSWORD= psql "$1" -Atc "SELECT COALESCE(SUM(count),0) FROM event_blocks" 2>/dev/null || echo 0)
        [ "$n" -ge "$2" ] && break
        sleep 0.25
    done
    echo "drained after $(echo "$(date +%s.%N) - $t0" | bc) s"
}

case "$MODE" in
embedded)
    DB="sqlite://$TMP/hub/mamori.db"
    start_hub "$DB" "" 0
    tokens "$DB"
    post_patterns "$DB"
    CPU0=$(hub_cpu_ticks); T0=$(date +%s.%N)
    TIMEFORMAT='loadgen CPU: %U s user, %S s system'
    { time run_load 2>&3; } 3>&2 2>"$TMP/loadgen.time"
    CPU1=$(hub_cpu_ticks); T1=$(date +%s.%N)
    echo "hub peak RSS: $(awk '/VmHWM/{print $2, $3}' /proc/$HUB_PID/status)"
    HZ=$(getconf CLK_TCK)
    echo "hub CPU: $(echo "scale=2; ($CPU1 - $CPU0) / $HZ" | bc) s over $(printf "%.2f" "$(echo "$T1 - $T0" | bc)") s wall ($(echo "scale=1; ($CPU1 - $CPU0) * 1000000 / $HZ / $EVENTS" | bc) µs per event)"
    cat "$TMP/loadgen.time"
    if [ -n "${PATTERNS:-}" ]; then
        python3 - "$TMP/hub/mamori.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
obs = db.execute("SELECT COUNT(*) FROM correlation_observations WHERE corr_id LIKE 'stix-pattern:%'").fetchone()[0]
rows = db.execute("SELECT rule_id, COUNT(*), SUM(event_count) FROM alerts WHERE rule_id LIKE 'ioc:stix-pattern:%' GROUP BY rule_id").fetchall()
print(f"pattern observations stored: {obs}")
for r, n, c in rows:
    print(f"  {n} alerts ({c} events): {r[17:][:100]}")
PY
    fi
    if [ -n "${IOCS:-}" ]; then
        python3 - "$TMP/hub/mamori.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, c = db.execute("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM sightings WHERE source = 'detection'").fetchone()
a, e = db.execute("SELECT COUNT(*), COALESCE(SUM(event_count), 0) FROM alerts WHERE kind = 'ioc'").fetchone()
print(f"sighting rows stored: {n} ({c} matching events); IOC alerts: {a} ({e} events)")
PY
    fi
    retro_hunt "$DB"
    ;;
nats)
    NATS_BIN=${NATS_BIN:-$ROOT/.venv/bin/nats-server}
    [ -x "$NATS_BIN" ] || { echo "no nats-server at $NATS_BIN: run .ci/setup (or set NATS_BIN)" >&2; exit 2; }
    NATS_PORT=$(free_port)
    mkdir -p "$TMP/nats"
    printf 'listen: "127.0.0.1:%s"\njetstream { store_dir: "%s" }\nmax_payload: 8MB\n' "$NATS_PORT" "$TMP/nats" >"$TMP/nats.conf"
    "$NATS_BIN" -c "$TMP/nats.conf" >"$TMP/nats.log" 2>&1 &
    PIDS+=($!)
    wait_port "$NATS_PORT"
    INTAKE_NATS="nats://127.0.0.1:$NATS_PORT"
    DB="sqlite://$TMP/hub/mamori.db"
    start_hub "$DB" "" 0
    tokens "$DB"
    CPU0=$(hub_cpu_ticks); T0=$(date +%s.%N)
    run_load
    # Published is not stored: wait until the hub's database holds every event.
    for _ in $(seq 1 2400); do
        n=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COALESCE(SUM(count),0) FROM event_blocks').fetchone()[0])" "$TMP/hub/mamori.db" 2>/dev/null || echo 0)
        [ "$n" -ge "$EVENTS" ] && break
        sleep 0.25
    done
    CPU1=$(hub_cpu_ticks); T1=$(date +%s.%N)
    HZ=$(getconf CLK_TCK)
    echo "end to end: $(echo "$EVENTS / ($T1 - $T0)" | bc) events/s stored (${n} events in the store)"
    echo "hub peak RSS: $(awk '/VmHWM/{print $2, $3}' /proc/$HUB_PID/status)"
    echo "hub CPU: $(echo "scale=2; ($CPU1 - $CPU0) / $HZ" | bc) s over $(printf "%.2f" "$(echo "$T1 - $T0" | bc)") s wall ($(echo "scale=1; ($CPU1 - $CPU0) * 1000000 / $HZ / $EVENTS" | bc) µs per event)"
    ;;
bus)
    [ $# -ge 1 ] || set -- 1 2
    PGBIN=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    PGDATA_DIR="$TMP/pg"; mkdir -p "$PGDATA_DIR"; chown postgres "$PGDATA_DIR" "$TMP"
    chmod 755 "$TMP"
    runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust >/dev/null
    PG_PORT=$(free_port)
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$TMP/pg.log" \
        -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on" start >/dev/null
    wait_port "$PG_PORT" || { cat "$TMP/pg.log" >&2; exit 1; }
    NATS_BIN=${NATS_BIN:-$ROOT/.venv/bin/nats-server}
    [ -x "$NATS_BIN" ] || { echo "no nats-server at $NATS_BIN: run .ci/setup (or set NATS_BIN)" >&2; exit 2; }
    for W in "$@"; do
        DB_NAME="bench_$W"
        psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -qc "CREATE DATABASE $DB_NAME" >/dev/null
        DB="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
        NATS_PORT=$(free_port)
        mkdir -p "$TMP/nats-$W"
        printf 'listen: "127.0.0.1:%s"\njetstream { store_dir: "%s" }\nmax_payload: 8MB\n' "$NATS_PORT" "$TMP/nats-$W" >"$TMP/nats-$W.conf"
        "$NATS_BIN" -c "$TMP/nats-$W.conf" >"$TMP/nats-$W.log" 2>&1 &
        NATS_PID=$!; PIDS+=($NATS_PID)
        wait_port "$NATS_PORT"
        rm -rf "$TMP/hub"
        start_hub "$DB" "nats://127.0.0.1:$NATS_PORT" "$W"
        tokens "$DB"
        echo "== bus, $W worker(s)"
        PG_MAIN=$(head -n1 "$PGDATA_DIR/postmaster.pid")
        CPU0=$(cpu_snapshot)
        T0=$(date +%s.%N)
        TIMEFORMAT='loadgen CPU: %U s user, %S s system'
        { time run_load 2>&3; } 3>&2 2>"$TMP/loadgen.time"
        wait_drained "$DB" "$EVENTS"
        echo "end to end: $(echo "$EVENTS / ($(date +%s.%N) - $T0)" | bc) events/s stored"
        # The workers' own rate: events committed after the first batch's commit, over the time
        # from that commit to the last one (the load generator's start-up is outside it).
        psql "$DB" -Atc "SELECT 'workers: ' || ROUND((SUM(accepted) - (ARRAY_AGG(accepted ORDER BY received_at))[1])
            * 1000.0 / NULLIF(MAX(received_at) - MIN(received_at), 0)) || ' events/s from the first batch stored to the last ('
            || COUNT(*) || ' batches)' FROM ingest_batches"
        cpu_report "$CPU0" "$(cpu_snapshot)" "$TMP/loadgen.time"
        kill "$HUB_PID" "$NATS_PID" 2>/dev/null || true
        wait "$HUB_PID" 2>/dev/null || true
    done
    ;;
*)
    echo "usage: bench/ingest.sh embedded | nats | bus WORKERS..." >&2
    exit 2
    ;;
esac
