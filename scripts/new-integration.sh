#!/usr/bin/env bash
# Creates integrations/<name> from templates/integration with every name replaced, and adds it
# to the workspace. Usage: scripts/new-integration.sh <name>   (e.g. warp, salvo, my-framework)
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-}"
if ! [[ "$name" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]]; then
  echo "usage: scripts/new-integration.sh <name>  (lower-case letters, digits and '-', e.g. warp)" >&2
  exit 2
fi
dest="integrations/$name"
if [ -e "$dest" ]; then
  echo "$dest already exists" >&2
  exit 1
fi
snake="${name//-/_}"
# CamelCase: my-framework -> MyFramework
camel="$(echo "$name" | awk -F- '{ for (i = 1; i <= NF; i++) printf "%s%s", toupper(substr($i, 1, 1)), substr($i, 2) }')"
upper="$(echo "$snake" | tr '[:lower:]' '[:upper:]')"

cp -r templates/integration "$dest"
# Order matters: the crate name (ddtrace-foo / ddtrace_foo) before the bare word.
find "$dest" -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.md' \) -print0 |
  xargs -0 sed -i \
    -e "s/ddtrace-foo/ddtrace-$name/g" \
    -e "s/ddtrace_foo/ddtrace_$snake/g" \
    -e "s/conformance-foo/conformance-$name/g" \
    -e "s/\"foo\.request\"/\"$name.request\"/g" \
    -e "s/\"foo\"/\"$name\"/g" \
    -e "s/Foo/$camel/g" \
    -e "s/FOO/$upper/g" \
    -e "s/foo_/${snake}_/g" \
    -e "s/\bfoo\b/$name/g"

# Add the crate to the workspace members.
python3 - "$name" <<'PY'
import re, sys
name = sys.argv[1]
path = "Cargo.toml"
text = open(path).read()
member = f'"integrations/{name}"'
if member not in text:
    text = re.sub(r'(members = \[)', r'\1' + member + ', ', text, count=1)
    open(path, "w").write(text)
PY
# Names of another length can move line breaks: format the new crate.
cargo fmt -p "ddtrace-$name" 2>/dev/null || true
echo "created $dest (crate ddtrace-$name); run: cargo test -p ddtrace-$name"
