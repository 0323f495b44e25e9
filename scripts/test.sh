#!/usr/bin/env bash
# Runs every test: core unit and vector tests, the integrations' tests, doctests, and the
# conformance suite against the real Datadog test agent (installed on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== 1/3 the Datadog test agent (ddapm-test-agent into .venv; about a minute the first time)"
scripts/install-test-agent.sh
export DDAPM_TEST_AGENT="$PWD/.venv/bin/ddapm-test-agent"
echo "== 2/3 self-test of scripts/alloc-sim.py (the malloc model docs/performance.md uses)"
python3 scripts/alloc-sim.py --self-test
echo "== 3/3 cargo test --workspace: unit, vector and doc tests, then the conformance suite"
echo "   (every framework's app against the test agent). On 2 cores: about 15 minutes after"
echo "   the first build, which takes about 15 more; a group that runs over a minute says so."
cargo test --workspace --no-fail-fast "$@"
