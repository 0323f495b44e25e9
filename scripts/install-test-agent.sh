#!/usr/bin/env bash
# Installs the pinned Datadog test agent into .venv (idempotent). Needs only python3.
set -euo pipefail
cd "$(dirname "$0")/.."
want="$(grep -E '^ddapm-test-agent==' scripts/requirements-test-agent.txt)"
if [ -x .venv/bin/ddapm-test-agent ] && .venv/bin/pip freeze 2>/dev/null | grep -qx "$want"; then
  exit 0
fi
echo "installing $want into .venv" >&2
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test-agent.txt
.venv/bin/ddapm-test-agent --help >/dev/null
