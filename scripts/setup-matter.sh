#!/usr/bin/env bash
# What the end-to-end Matter tests and bench/matter_roundtrip.py need, installed only when missing:
#   - Debian libnl-3-200 and libnl-route-3-200 (the CHIP stack of python-matter-server links them);
#   - .venv-matter: python-matter-server with its CHIP server, apart from the project's .venv
#     (~250 MB; the hub itself only needs the pure-Python client), same Python >= 3.12 as .venv;
#     reinstalled only when the pins below change (stamp holds their hash);
#   - tools/matter-devices/node_modules: matter.js for the virtual devices (`npm ci`, re-run only
#     when package-lock.json changes).
# Exit 0 when everything is there; otherwise it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER_PINS="python-matter-server[server]==8.1.2"
DEVICES=tools/matter-devices
VENV=.venv-matter
fail() { echo "setup-matter: $*" >&2; exit 1; }

# -- Debian libraries ------------------------------------------------------------------------
missing=()
for pkg in libnl-3-200 libnl-route-3-200; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        fail "missing ${missing[*]}; run as root: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
    command -v apt-get >/dev/null 2>&1 || fail "no apt-get here; install ${missing[*]} yourself"
    echo "setup-matter: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# -- the server's venv -----------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    # The interpreter .venv was made with (scripts/bootstrap.sh found it): same Python, no search.
    [ -x .venv/bin/python ] || fail ".venv is missing; run scripts/bootstrap.sh first"
    base=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
    echo "setup-matter: creating $VENV with $base"
    "$base" -m venv "$VENV"
fi
stamp="$VENV/.zshub-installed"
want=$(printf '%s\n' "$SERVER_PINS" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/matter-server" ]; then
    echo "setup-matter: installing $SERVER_PINS into $VENV"
    # pip's warnings about this machine's extra index folders are noise: keep errors only.
    "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
    # shellcheck disable=SC2086  # the pins are words
    "$VENV/bin/python" -m pip install --quiet $SERVER_PINS 2> >(grep -v -e "is ignored" >&2)
    "$VENV/bin/python" -c "import chip.native, matter_server.server" \
        || fail "$VENV cannot import the CHIP server"
    echo "$want" > "$stamp"
fi

# -- matter.js for the virtual devices ---------------------------------------------------------
command -v node >/dev/null 2>&1 || fail "node (>= 20) is missing: apt-get install -y nodejs npm"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || fail "node >= 20 is needed for matter.js, found $(node --version)"
lock_hash=$(sha256sum "$DEVICES/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$DEVICES/node_modules/.zshub-installed" 2>/dev/null)" != "$lock_hash" ]; then
    echo "setup-matter: npm ci in $DEVICES"
    (cd "$DEVICES" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$DEVICES/node_modules/.zshub-installed"
fi

echo "setup-matter: ready ($SERVER_PINS in $VENV, matter.js in $DEVICES)"
