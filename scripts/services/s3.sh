# shellcheck shell=bash
# A real S3 server for the tests of backends/cloud: versitygw (Apache-2.0,
# Go), serving a POSIX directory. Sourced by scripts/test (which runs with
# set -euo pipefail); defines
#
#   s3_install   ensure the versitygw binary: reuse the one cached by version,
#                else `go install` it through the Go module proxy (about 2.5
#                CPU-minutes cold)
#   s3_start     start it on a free 127.0.0.1 port with a random access key,
#                wait until it answers, and export DSTACK_SECRETS_TEST_S3_*:
#                  ENDPOINT    http://127.0.0.1:PORT (path-style addressing)
#                  ACCESS_KEY, SECRET_KEY   its credentials (tests hand them
#                              to the SDK through AWS_ACCESS_KEY_ID/...)
#                  BIN         the binary, for tests that start and kill a
#                              server of their own
#   s3_stop      stop it by PID and remove its temporary directory
#
# Buckets are created by the tests (CreateBucket), one per test. The binary is
# cached outside the checkout at
# ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/versitygw-v$VERSION/.

S3_VERSITYGW_VERSION=1.8.0

# shellcheck source=scripts/services/_objectstore_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_objectstore_lib.sh"

s3_bin_path() {
  printf '%s/dstack-secrets/versitygw-v%s/versitygw\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$S3_VERSITYGW_VERSION"
}

s3_install() {
  local bin dir
  bin=$(s3_bin_path)
  dir=$(dirname "$bin")
  if [ -x "$bin" ]; then
    echo "s3: using cached $bin"
    return 0
  fi
  mkdir -p "$dir"
  if command -v flock >/dev/null; then
    exec {_s3_lock_fd}>"$dir/.build.lock"
    flock "$_s3_lock_fd"
  fi
  if [ ! -x "$bin" ]; then
    echo "s3: building versitygw v$S3_VERSITYGW_VERSION (go install; a few CPU-minutes cold)"
    rm -rf "$dir/.gobin"
    (
      export GOFLAGS= GOWORK=off CGO_ENABLED=0 GOBIN="$dir/.gobin"
      go install -trimpath -ldflags='-s -w' "github.com/versity/versitygw/cmd/versitygw@v$S3_VERSITYGW_VERSION" || exit 1
      mv -f "$dir/.gobin/versitygw" "$bin" || exit 1
    ) || { rm -rf "$dir/.gobin"; echo "s3: build failed" >&2; return 1; }
    rm -rf "$dir/.gobin"
  fi
  if [ -n "${_s3_lock_fd:-}" ]; then
    exec {_s3_lock_fd}>&-
    unset _s3_lock_fd
  fi
  [ -x "$bin" ]
}

s3_start() {
  local bin dir port try ak sk
  bin=$(s3_bin_path)
  [ -x "$bin" ] || { echo "s3: $bin missing; run s3_install first" >&2; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-s3-test.XXXXXX")
  chmod 700 "$dir"
  mkdir -p "$dir/data" "$dir/versions"
  ak="AK$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  sk="SK$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  S3_TEST_PID=
  for try in 1 2 3 4 5; do
    port=$(_svc_random_port)
    _svc_port_free "$port" || continue
    "$bin" --access "$ak" --secret "$sk" --port "127.0.0.1:$port" \
      posix --versioning-dir "$dir/versions" "$dir/data" >"$dir/server.log" 2>&1 </dev/null &
    S3_TEST_PID=$!
    _svc_wait_port "$S3_TEST_PID" "$port" 100 && break
    echo "s3: versitygw on port $port did not start (attempt $try):" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    _svc_stop_pid "$S3_TEST_PID" 20
    S3_TEST_PID=
  done
  if [ -z "${S3_TEST_PID:-}" ]; then
    rm -rf "$dir"
    echo "s3: could not start versitygw" >&2
    return 1
  fi
  S3_TEST_DIR=$dir
  export DSTACK_SECRETS_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export DSTACK_SECRETS_TEST_S3_ACCESS_KEY="$ak"
  export DSTACK_SECRETS_TEST_S3_SECRET_KEY="$sk"
  export DSTACK_SECRETS_TEST_S3_BIN="$bin"
  echo "s3: versitygw v$S3_VERSITYGW_VERSION pid $S3_TEST_PID at $DSTACK_SECRETS_TEST_S3_ENDPOINT"
}

s3_stop() {
  if [ -n "${S3_TEST_PID:-}" ]; then
    _svc_stop_pid "$S3_TEST_PID" 50
    S3_TEST_PID=
  fi
  if [ -n "${S3_TEST_DIR:-}" ]; then
    rm -rf "$S3_TEST_DIR"
    S3_TEST_DIR=
  fi
  unset DSTACK_SECRETS_TEST_S3_ENDPOINT DSTACK_SECRETS_TEST_S3_ACCESS_KEY \
    DSTACK_SECRETS_TEST_S3_SECRET_KEY DSTACK_SECRETS_TEST_S3_BIN
}
