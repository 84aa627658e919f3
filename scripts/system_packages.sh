#!/usr/bin/env bash
# Debian packages the product needs: chromium (browser tests), tesseract-ocr (OCR of scanned pages),
# redis-server (only when no Redis answers). Installs them when run as root; otherwise says what to install.
# Idempotent: when everything is present it only checks (well under a second).
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in chromium tesseract-ocr tesseract-ocr-eng fonts-liberation; do
  have_pkg "$pkg" || need+=("$pkg")
done

redis_answers() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  local hostport="${url#redis://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
  local host="${hostport%%:*}" port="${hostport##*:}"
  [[ "$port" == "$host" ]] && port=6379
  (exec 3<>"/dev/tcp/$host/$port" && printf 'PING\r\n' >&3 && timeout 1 head -c 5 <&3 | grep -q PONG) 2>/dev/null
}
if ! redis_answers && ! command -v redis-server >/dev/null 2>&1; then
  need+=(redis-server)
fi

if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "Missing Debian packages: ${need[*]}" >&2
  echo "Install them as root:  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
echo "Installed: ${need[*]}"
