#!/usr/bin/env bash
# The Docker Compose CLI plugin, for the static check of docker-compose.yml (`docker compose config` needs
# no engine). Where `docker compose` is missing, it is built from its Go module (the Go module proxy) into
# the cache outside the repository and linked as the current user's CLI plugin.
#
#   bash scripts/compose.sh install    # make `docker compose` work; prints its version
#
# Settings: COMPOSE_VERSION (default v5.6.0), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
COMPOSE_VERSION="${COMPOSE_VERSION:-v5.6.0}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
BUILT="$CACHE_ROOT/docker-compose-$COMPOSE_VERSION/docker-compose"
PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

build() {
  if [[ -x "$BUILT" ]]; then return; fi
  command -v go >/dev/null || { echo "docker compose is missing and Go is not installed to build it" >&2; exit 1; }
  echo "building docker compose $COMPOSE_VERSION from github.com/docker/compose/v5 (Go module proxy) into $BUILT" >&2
  local work
  work="$(mktemp -d)"
  # Built as the main module from its own source, so its go.mod's replace and exclude directives apply
  # (`go install module/cmd@version` refuses a module that has them).
  local source
  source="$(go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$source" "$work/src"
  chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$BUILT")"
  (cd "$work/src" && go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
    -o "$BUILT.partial" ./cmd)
  mv "$BUILT.partial" "$BUILT"
  rm -rf "$work"
}

case "${1:-}" in
  install)
    if ! docker compose version >/dev/null 2>&1; then
      build
      mkdir -p "$PLUGINS"
      ln -sf "$BUILT" "$PLUGINS/docker-compose"
    fi
    docker compose version
    ;;
  *)
    echo "usage: bash scripts/compose.sh install" >&2
    exit 2
    ;;
esac
