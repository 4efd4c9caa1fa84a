#!/usr/bin/env bash
# Benchmark `mamori hunt` beside Hayabusa and Chainsaw on the same EVTX directory.
#
# Usage: bench/hunt.sh [EVTX_DIR]
#   EVTX_DIR       default: ../shared/corpora/evtx/hayabusa-sample-evtx
#   SIGMA_DIR      default: ../shared/corpora/sigma (rules, rules-emerging-threats,
#                  rules-threat-hunting are loaded)
#   MAMORI_BIN     default: target/release/mamori (built with cargo -j1 if missing)
#   HAYABUSA_BIN   path to a hayabusa binary (optional; never downloaded)
#   CHAINSAW_BIN   path to a chainsaw binary (optional; never downloaded)
#   CHAINSAW_MAPPING  chainsaw's sigma-event-logs-all.yml (needed with CHAINSAW_BIN)
#
# Prints per tool: wall seconds, peak RSS (MiB, from /usr/bin/time -v), detections,
# events/s; plus mamori's EVTX parse floor (same hunt with zero rules).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$ROOT/../shared/corpora/evtx/hayabusa-sample-evtx}
SIGMA=${SIGMA_DIR:-$ROOT/../shared/corpora/sigma}
MAMORI=${MAMORI_BIN:-$ROOT/target/release/mamori}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[ -d "$DATA" ] || { echo "no EVTX directory at $DATA" >&2; exit 2; }
[ -d "$SIGMA/rules" ] || { echo "no Sigma rules at $SIGMA" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
if [ ! -x "$MAMORI" ]; then
    (cd "$ROOT" && cargo build --release -j1 -p mamori-cli)
fi

# measure NAME OUTFILE CMD... -> sets WALL, RSS_MB
measure() {
    local name=$1; shift
    /usr/bin/time -v -o "$TMP/$name.time" "$@" >"$TMP/$name.stdout" 2>"$TMP/$name.stderr" || true
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$TMP/$name.time" \
        | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    RSS_MB=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$TMP/$name.time")
}

EVENTS=""
report() { # NAME DETECTIONS
    local eps="-"
    if [ -n "$EVENTS" ] && [ "$WALL" != "0" ]; then
        eps=$(awk -v e="$EVENTS" -v w="$WALL" 'BEGIN{printf "%.0f", e/w}')
    fi
    printf '%-22s wall %7.2fs  peak %6s MiB  detections %8s  events/s %10s\n' "$1" "$WALL" "$RSS_MB" "$2" "$eps"
}

echo "data: $DATA ($(find "$DATA" -name '*.evtx' | wc -l) evtx files, $(du -sh --apparent-size "$DATA" | cut -f1))"
echo "rules: $SIGMA/{rules,rules-emerging-threats,rules-threat-hunting}"
echo "cores: $(nproc)"

EMPTY="$TMP/norules"; mkdir -p "$EMPTY"
measure floor "$MAMORI" hunt "$DATA" --rules "$EMPTY" --format jsonl -o "$TMP/floor.jsonl"
EVENTS=$(grep -o 'scanned [0-9]* events' "$TMP/floor.stderr" | awk '{print $2}')
echo "events: $EVENTS"
report "mamori parse floor" 0

measure mamori "$MAMORI" hunt "$DATA" --rules "$SIGMA/rules" --rules "$SIGMA/rules-emerging-threats" \
    --rules "$SIGMA/rules-threat-hunting" --format jsonl -o "$TMP/mamori.jsonl"
report "mamori hunt" "$(wc -l <"$TMP/mamori.jsonl")"

if [ -n "${HAYABUSA_BIN:-}" ]; then
    measure hayabusa "$HAYABUSA_BIN" csv-timeline -d "$DATA" -o "$TMP/hayabusa.csv" -w -q
    report "hayabusa csv-timeline" "$(($(wc -l <"$TMP/hayabusa.csv") - 1))"
else
    echo "hayabusa: skipped (set HAYABUSA_BIN to a hayabusa binary)"
fi

if [ -n "${CHAINSAW_BIN:-}" ]; then
    if [ -z "${CHAINSAW_MAPPING:-}" ]; then
        echo "chainsaw: skipped (set CHAINSAW_MAPPING to mappings/sigma-event-logs-all.yml)"
    else
        echo "chainsaw: $("$CHAINSAW_BIN" --version 2>&1 | head -1)"
        # Same three rule folders as mamori. No -q: chainsaw 2.16 keeps -o in a static
        # BufWriter that is only flushed by its stderr messages, so with -q the tail of the
        # JSON file is lost. The JSON is one line, so count hits from its summary line
        # ("[+] N Detections found on M documents"; N counts (rule, event) pairs).
        measure chainsaw "$CHAINSAW_BIN" hunt "$DATA" -s "$SIGMA/rules" -s "$SIGMA/rules-emerging-threats" \
            -s "$SIGMA/rules-threat-hunting" --mapping "$CHAINSAW_MAPPING" --json -o "$TMP/chainsaw.json"
        grep -o 'Loaded [0-9]* detection rules ([0-9]* not loaded)' "$TMP/chainsaw.stderr" | sed 's/^/chainsaw: /' || true
        report "chainsaw hunt" "$(grep -o '[0-9]* Detections found' "$TMP/chainsaw.stderr" | awk '{print $1}')"
    fi
else
    echo "chainsaw: skipped (set CHAINSAW_BIN to a chainsaw binary)"
fi
