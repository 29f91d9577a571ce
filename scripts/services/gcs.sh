# shellcheck shell=bash
# fake-gcs-server (an emulator of the Google Cloud Storage JSON API, not
# Google's code) for the GCS tests of backends/cloud. It honours write
# preconditions (ifGenerationMatch) but not delete or read preconditions, so
# only write preconditions are tested on it. Sourced by scripts/test
# (set -euo pipefail); defines
#
#   gcs_install   ensure the binary: reuse the one cached by version, else
#                 `go install` it (about 1.5 CPU-minutes cold)
#   gcs_start     start it in memory on a free 127.0.0.1 port and export
#                 DSTACK_SECRETS_TEST_GCS_ENDPOINT (http://127.0.0.1:PORT/storage/v1/)
#                 and DSTACK_SECRETS_TEST_GCS_BIN
#   gcs_stop      stop it by PID
#
# Cached outside the checkout at
# ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/fake-gcs-server-v$VERSION/.

GCS_FAKE_VERSION=1.56.1

# shellcheck source=scripts/services/_objectstore_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_objectstore_lib.sh"

gcs_bin_path() {
  printf '%s/dstack-secrets/fake-gcs-server-v%s/fake-gcs-server\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$GCS_FAKE_VERSION"
}

gcs_install() {
  local bin dir
  bin=$(gcs_bin_path)
  dir=$(dirname "$bin")
  if [ -x "$bin" ]; then
    echo "gcs: using cached $bin"
    return 0
  fi
  mkdir -p "$dir"
  if command -v flock >/dev/null; then
    exec {_gcs_lock_fd}>"$dir/.build.lock"
    flock "$_gcs_lock_fd"
  fi
  if [ ! -x "$bin" ]; then
    echo "gcs: building fake-gcs-server v$GCS_FAKE_VERSION (go install)"
    rm -rf "$dir/.gobin"
    (
      export GOFLAGS= GOWORK=off CGO_ENABLED=0 GOBIN="$dir/.gobin"
      go install -trimpath -ldflags='-s -w' "github.com/fsouza/fake-gcs-server@v$GCS_FAKE_VERSION" || exit 1
      mv -f "$dir/.gobin/fake-gcs-server" "$bin" || exit 1
    ) || { rm -rf "$dir/.gobin"; echo "gcs: build failed" >&2; return 1; }
    rm -rf "$dir/.gobin"
  fi
  if [ -n "${_gcs_lock_fd:-}" ]; then
    exec {_gcs_lock_fd}>&-
    unset _gcs_lock_fd
  fi
  [ -x "$bin" ]
}

gcs_start() {
  local bin dir port try
  bin=$(gcs_bin_path)
  [ -x "$bin" ] || { echo "gcs: $bin missing; run gcs_install first" >&2; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-gcs-test.XXXXXX")
  chmod 700 "$dir"
  GCS_TEST_PID=
  for try in 1 2 3 4 5; do
    port=$(_svc_random_port)
    _svc_port_free "$port" || continue
    # Without -public-host, reads of objects answer 404.
    "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
      -external-url "http://127.0.0.1:$port" -public-host "127.0.0.1:$port" \
      -log-level warn >"$dir/server.log" 2>&1 </dev/null &
    GCS_TEST_PID=$!
    _svc_wait_port "$GCS_TEST_PID" "$port" 100 && break
    echo "gcs: fake-gcs-server on port $port did not start (attempt $try):" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    _svc_stop_pid "$GCS_TEST_PID" 20
    GCS_TEST_PID=
  done
  if [ -z "${GCS_TEST_PID:-}" ]; then
    rm -rf "$dir"
    echo "gcs: could not start fake-gcs-server" >&2
    return 1
  fi
  GCS_TEST_DIR=$dir
  export DSTACK_SECRETS_TEST_GCS_ENDPOINT="http://127.0.0.1:$port/storage/v1/"
  export DSTACK_SECRETS_TEST_GCS_BIN="$bin"
  echo "gcs: fake-gcs-server v$GCS_FAKE_VERSION pid $GCS_TEST_PID at $DSTACK_SECRETS_TEST_GCS_ENDPOINT"
}

gcs_stop() {
  if [ -n "${GCS_TEST_PID:-}" ]; then
    _svc_stop_pid "$GCS_TEST_PID" 50
    GCS_TEST_PID=
  fi
  if [ -n "${GCS_TEST_DIR:-}" ]; then
    rm -rf "$GCS_TEST_DIR"
    GCS_TEST_DIR=
  fi
  unset DSTACK_SECRETS_TEST_GCS_ENDPOINT DSTACK_SECRETS_TEST_GCS_BIN
}
