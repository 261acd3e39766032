#!/usr/bin/env bash
# Creates .venv with a Python >= 3.12 and installs zshub with its dev tools.
# Re-runs the install only when pyproject.toml changed (stamp holds its hash).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    local c
    for c in "${ZSHUB_PYTHON:-}" python3.13 python3.12 \
             "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3 \
             /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || continue
        if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$c" 2>/dev/null || echo "$c"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ]; then
    if ! py=$(find_python); then
        echo "zshub needs Python >= 3.12; none was found (looked for python3.13, python3.12, pyenv)." >&2
        echo "Install one (e.g. 'pyenv install 3.12') or set ZSHUB_PYTHON=/path/to/python3.12." >&2
        exit 1
    fi
    echo "bootstrap: creating .venv with $py ($("$py" --version))"
    "$py" -m venv .venv
fi

stamp=.venv/.zshub-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # pip's warnings about this machine's extra index folders are noise: keep errors only.
    .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
    .venv/bin/python -m pip install --quiet -e '.[dev]' 2> >(grep -v -e "is ignored" -e "BuildBackendWarning" >&2)
    echo "$want" > "$stamp"
fi
