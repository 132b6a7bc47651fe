#!/usr/bin/env bash
# nginx for the test of Venus's gateway config (infra/nginx/venus.conf): Debian's package, downloaded with
# apt-get and unpacked into the cache outside the repository (nothing installed system-wide, no service
# started).
#
#   bash scripts/nginx.sh install    # prints the path of the nginx binary
#
# Settings: PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
DIR="$CACHE_ROOT/nginx-debian"
BIN="$DIR/root/usr/sbin/nginx"

case "${1:-}" in
  install)
    if [[ ! -x "$BIN" ]]; then
      echo "downloading Debian's nginx package into $DIR" >&2
      rm -rf "$DIR" && mkdir -p "$DIR/root"
      (cd "$DIR" && apt-get download nginx >&2) || {
        apt-get update >&2 && (cd "$DIR" && apt-get download nginx >&2)
      }
      dpkg -x "$DIR"/nginx_*.deb "$DIR/root"
    fi
    echo "$BIN"
    ;;
  *)
    echo "usage: bash scripts/nginx.sh install" >&2
    exit 2
    ;;
esac
