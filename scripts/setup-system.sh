#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (Playwright drives it; `playwright install`
# cannot download browsers here), a CJK font so screenshots show Chinese, not boxes, and curl
# (the manufacturers' guide's commands use it).
# Installs only what is missing, with one `apt-get update`, and only as root; otherwise it says
# what to run. Exit 0 when everything is there.
set -euo pipefail

CHROMIUM="${ZSHUB_CHROMIUM:-/usr/bin/chromium}"
missing=()

[ -x "$CHROMIUM" ] || missing+=(chromium)
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  missing+=(fonts-noto-cjk)
fi
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: chromium, a CJK font and curl are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing ${missing[*]}; the browser tests need them." >&2
  echo "  Run as root:  sudo scripts/setup-system.sh" >&2
  echo "  (or: sudo apt-get update && sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: no apt-get here; install ${missing[*]} with your package manager" >&2
  exit 1
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"

if [ ! -x "$CHROMIUM" ]; then
  echo "setup-system: chromium is still missing at $CHROMIUM" >&2
  exit 1
fi
echo "setup-system: done ($("$CHROMIUM" --version 2>/dev/null || echo chromium))"
