#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when missing (.ci/setup), then the
# unit, storage (SQLite and a throwaway PostgreSQL), API, CLI and headless-browser tests.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup
export PATH="$PWD/.venv/bin:$PATH"
export MAMORI_REQUIRE_BROWSER=1
export MAMORI_REQUIRE_NATS=1
cargo test --workspace --locked "$@"
