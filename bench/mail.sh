#!/usr/bin/env bash
# Mail analysis throughput on one core: `mamori mail analyze` (release build) against Python
# eml-parser and SpamScope mail-parser on the same files. Prints mails/s and MiB/s for each.
#
#   bench/mail.sh [CORPUS_DIR]     (default ../shared/corpora/mail)
#
# Needs: taskset, a release build (built here), .venv/bin/python with eml_parser (and
# mailparser for the third line; skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpora/mail}
PY=${MAMORI_PYTHON:-.venv/bin/python}
PEER=crates/mail/tests/peers/eml_parser_peer.py
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS" >&2; exit 1; }

cargo build --release -j1 -p mamori-cli >/dev/null
LIST=$(mktemp)
trap 'rm -f "$LIST"' EXIT
find "$CORPUS" -name '*.eml' | sort >"$LIST"
N=$(wc -l <"$LIST")
BYTES=$(xargs -d '\n' cat <"$LIST" | wc -c)
echo "corpus: $N messages, $BYTES bytes, one core (taskset -c 0)"

# Warm the page cache so every tool reads from memory.
xargs -d '\n' cat <"$LIST" >/dev/null

START=$(date +%s.%N)
SUMMARY=$(taskset -c 0 target/release/mamori mail analyze --format jsonl -o /dev/null "$CORPUS" 2>&1 >/dev/null | tail -n 1)
END=$(date +%s.%N)
echo "mamori summary: $SUMMARY"
awk -v n="$N" -v b="$BYTES" -v s="$START" -v e="$END" \
  'BEGIN { t = e - s; printf "mamori mail analyze: %.2f s, %.0f mails/s, %.2f MiB/s\n", t, n / t, b / 1048576 / t }'

if "$PY" -c 'import eml_parser' 2>/dev/null; then
  taskset -c 0 "$PY" "$PEER" bench-eml <"$LIST" |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("python eml-parser: %.2f s, %.0f mails/s, %.2f MiB/s (%d errors)" % (r["seconds"], r["mails_per_second"], r["mib_per_second"], r["errors"]))'
else
  echo "python eml-parser: skipped ($PY has no eml_parser)"
fi
if "$PY" -c 'import mailparser' 2>/dev/null; then
  taskset -c 0 "$PY" "$PEER" bench-mailparser <"$LIST" |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("python mail-parser: %.2f s, %.0f mails/s, %.2f MiB/s (%d errors)" % (r["seconds"], r["mails_per_second"], r["mib_per_second"], r["errors"]))'
else
  echo "python mail-parser: skipped ($PY has no mailparser)"
fi
