#!/usr/bin/env bash
# Runs every test: core unit and vector tests, the integrations' tests, doctests, and the
# conformance suite against the real Datadog test agent (installed on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-agent.sh
export DDAPM_TEST_AGENT="$PWD/.venv/bin/ddapm-test-agent"
python3 scripts/alloc-sim.py --self-test
cargo test --workspace --no-fail-fast "$@"
