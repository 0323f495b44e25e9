#!/usr/bin/env bash
# Installs the pinned Datadog test agent into .venv (idempotent). Needs only python3 and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/requirements-test-agent.txt
stamp=.venv/.installed
if [ -x .venv/bin/ddapm-test-agent ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
echo "installing $(grep -E '^ddapm-test-agent==' "$req") into .venv" >&2
rm -rf .venv
if python3 -m venv .venv 2>/dev/null && [ -x .venv/bin/pip ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
else
  # No venv module (Debian's python3 without python3-venv): install into a target folder.
  rm -rf .venv
  python3 -m pip install --quiet --disable-pip-version-check --target .venv/site -r "$req"
  mkdir -p .venv/bin
  cat > .venv/bin/ddapm-test-agent <<'SH'
#!/bin/sh
here="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$here/site${PYTHONPATH:+:$PYTHONPATH}" exec python3 -c 'import sys; from ddapm_test_agent.agent import main; sys.exit(main())' "$@"
SH
  chmod +x .venv/bin/ddapm-test-agent
fi
.venv/bin/ddapm-test-agent --help >/dev/null
cp "$req" "$stamp"
