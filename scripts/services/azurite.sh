# shellcheck shell=bash
# Azurite, Microsoft's Azure Storage emulator (npm), for the Azure Blob tests
# of backends/cloud. Sourced by scripts/test (set -euo pipefail); defines
#
#   azurite_install   ensure azurite@$AZURITE_VERSION: reuse the copy cached
#                     by version, else `npm install` it from the npm registry
#                     (about 2 minutes, 360 MB; needs node and npm)
#   azurite_start     start its blob service on a free 127.0.0.1 port, in
#                     memory, with --skipApiVersionCheck (azblob sends an API
#                     version newer than Azurite knows; without the flag every
#                     call gets 400 InvalidHeaderValue), and export
#                     DSTACK_SECRETS_TEST_AZURITE_*:
#                       ENDPOINT  http://127.0.0.1:PORT/devstoreaccount1
#                       ACCOUNT, KEY   the emulator's published dev account
#                       BIN       azurite-blob, for tests that run their own
#   azurite_stop      stop it by PID (it may ignore SIGTERM: SIGKILL after 5 s)
#
# Cached outside the checkout at
# ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/azurite-$VERSION/.

AZURITE_VERSION=3.37.0
# The published development account of every Azure Storage emulator; it is
# not a secret.
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# shellcheck source=scripts/services/_objectstore_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_objectstore_lib.sh"

azurite_dir() {
  printf '%s/dstack-secrets/azurite-%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$AZURITE_VERSION"
}

# azurite_ok DIR: DIR holds azurite at the expected version.
azurite_ok() {
  [ -x "$1/node_modules/.bin/azurite-blob" ] &&
    grep -q "\"version\": \"$AZURITE_VERSION\"" "$1/node_modules/azurite/package.json" 2>/dev/null
}

azurite_install() {
  local dir
  dir=$(azurite_dir)
  if azurite_ok "$dir"; then
    echo "azurite: using cached $dir"
    return 0
  fi
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "azurite: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
    return 1
  }
  mkdir -p "$dir"
  if command -v flock >/dev/null; then
    exec {_azurite_lock_fd}>"$dir/.install.lock"
    flock "$_azurite_lock_fd"
  fi
  if ! azurite_ok "$dir"; then
    echo "azurite: npm install azurite@$AZURITE_VERSION (about 2 minutes)"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --prefix . "azurite@$AZURITE_VERSION") ||
      { echo "azurite: npm install failed" >&2; return 1; }
  fi
  if [ -n "${_azurite_lock_fd:-}" ]; then
    exec {_azurite_lock_fd}>&-
    unset _azurite_lock_fd
  fi
  azurite_ok "$dir"
}

azurite_start() {
  local bin dir port try
  bin="$(azurite_dir)/node_modules/.bin/azurite-blob"
  [ -x "$bin" ] || { echo "azurite: $bin missing; run azurite_install first" >&2; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-azurite-test.XXXXXX")
  chmod 700 "$dir"
  AZURITE_TEST_PID=
  for try in 1 2 3 4 5; do
    port=$(_svc_random_port)
    _svc_port_free "$port" || continue
    # In memory (no --location allowed with it); run in the temporary
    # directory all the same, in case it writes anything.
    (cd "$dir" && exec "$bin" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence \
      --skipApiVersionCheck) >"$dir/server.log" 2>&1 </dev/null &
    AZURITE_TEST_PID=$!
    _svc_wait_port "$AZURITE_TEST_PID" "$port" 600 && break
    echo "azurite: port $port did not open (attempt $try):" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    _svc_stop_pid "$AZURITE_TEST_PID" 50
    AZURITE_TEST_PID=
  done
  if [ -z "${AZURITE_TEST_PID:-}" ]; then
    rm -rf "$dir"
    echo "azurite: could not start" >&2
    return 1
  fi
  AZURITE_TEST_DIR=$dir
  export DSTACK_SECRETS_TEST_AZURITE_ENDPOINT="http://127.0.0.1:$port/$AZURITE_ACCOUNT"
  export DSTACK_SECRETS_TEST_AZURITE_ACCOUNT="$AZURITE_ACCOUNT"
  export DSTACK_SECRETS_TEST_AZURITE_KEY="$AZURITE_KEY"
  export DSTACK_SECRETS_TEST_AZURITE_BIN="$bin"
  echo "azurite: v$AZURITE_VERSION pid $AZURITE_TEST_PID at $DSTACK_SECRETS_TEST_AZURITE_ENDPOINT"
}

azurite_stop() {
  if [ -n "${AZURITE_TEST_PID:-}" ]; then
    _svc_stop_pid "$AZURITE_TEST_PID" 50
    AZURITE_TEST_PID=
  fi
  if [ -n "${AZURITE_TEST_DIR:-}" ]; then
    rm -rf "$AZURITE_TEST_DIR"
    AZURITE_TEST_DIR=
  fi
  unset DSTACK_SECRETS_TEST_AZURITE_ENDPOINT DSTACK_SECRETS_TEST_AZURITE_ACCOUNT \
    DSTACK_SECRETS_TEST_AZURITE_KEY DSTACK_SECRETS_TEST_AZURITE_BIN
}
