#!/usr/bin/env bash
# The whole check: lint, format, types, then every test. Extra args go to pytest
# (e.g. `scripts/test.sh -m "not slow"` for the fast tests alone).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# System packages for the browser tests (Chromium, a CJK font); CI must have them, no skipping.
if ! scripts/setup-system.sh; then
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    echo "warning: browser tests will fail without Chromium (see above)" >&2
fi
# The end-to-end Matter lab (libnl, matter-server in .venv-matter, matter.js): same rule.
if ! scripts/setup-matter.sh; then
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    echo "warning: the Matter end-to-end tests will be skipped (see above)" >&2
fi
echo "== ruff check"; ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy (strict)"; mypy
echo "== pytest"; pytest "$@"
