# shellcheck shell=bash
# SeaweedFS (Apache-2.0, Go): a distributed object store with an S3 gateway,
# the second S3 server of the tests of backends/cloud (versitygw, s3.sh, is
# the main one). Sourced by scripts/test (which runs with set -euo pipefail);
# defines
#
#   seaweedfs_install  ensure the weed binary: reuse the one cached by version,
#                      else start building it (in the background) from the
#                      module served by the Go proxy (measured here: 6.5
#                      CPU-minutes and 2.2 GB peak memory with a cold build
#                      cache; the binary is 164 MB)
#   seaweedfs_start    start a single-node `weed mini` on free 127.0.0.1 ports
#                      with a random access key, wait until S3 answers, and
#                      export DSTACK_SECRETS_TEST_SEAWEEDFS_*:
#                        ENDPOINT   http://127.0.0.1:PORT (path-style)
#                        ACCESS_KEY, SECRET_KEY   its credentials
#                        BIN        the binary, for tests that start a
#                                   cluster of their own (reliability/)
#                      after waiting for a build seaweedfs_install started
#   seaweedfs_stop     stop it by PID (SIGTERM, SIGKILL after 3 s: weed may
#                      take 20 s to exit on SIGTERM) and remove its directory
#
# `go install .../weed@VERSION` is refused (SeaweedFS's go.mod has a replace
# directive), so the build copies the module out of the module cache and
# builds ./weed inside it. The binary is cached outside the checkout at
# ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/seaweedfs-$VERSION/weed.

SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6

# shellcheck source=scripts/services/_objectstore_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_objectstore_lib.sh"

seaweedfs_bin_path() {
  printf '%s/dstack-secrets/seaweedfs-%s/weed\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$SEAWEEDFS_VERSION"
}

# _seaweedfs_build BIN: build weed into BIN (the caller holds the lock).
# A build killed half-way leaves only a .tmp.* directory, removed by
# the next one.
_seaweedfs_build() {
  local bin=$1 dir tmp src
  dir=$(dirname "$bin")
  rm -rf "$dir"/.tmp.*
  tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
  (
    export GOFLAGS= GOWORK=off CGO_ENABLED=0
    src=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$src" ] && [ -d "$src" ] || { echo "seaweedfs: module download failed" >&2; exit 1; }
    cp -R "$src" "$tmp/src" && chmod -R u+w "$tmp/src" || exit 1
    cd "$tmp/src" || exit 1
    go build -trimpath -ldflags='-s -w' -o "$tmp/weed" ./weed || exit 1
    mv -f "$tmp/weed" "$bin" || exit 1
  ) || { rm -rf "$tmp"; echo "seaweedfs: build failed" >&2; return 1; }
  rm -rf "$tmp"
}

# seaweedfs_install: when weed is not cached, start its build in the
# background (in a session of its own, so that seaweedfs_stop can end it
# by process group) and return; seaweedfs_start waits for it. scripts/test
# lists seaweedfs first, so the build overlaps the other installs (apt,
# npm and module downloads leave cores idle). SEAWEEDFS_INSTALL_WAIT=1
# builds in the foreground.
seaweedfs_install() {
  local bin dir
  bin=$(seaweedfs_bin_path)
  dir=$(dirname "$bin")
  if [ -x "$bin" ]; then
    echo "seaweedfs: using cached $bin"
    return 0
  fi
  mkdir -p "$dir"
  echo "seaweedfs: building weed $SEAWEEDFS_VERSION (about 11.5 CPU-minutes and 2.7 GB cold)"
  SEAWEEDFS_BUILD_LOG=$(mktemp "${TMPDIR:-/tmp}/dstack-seaweedfs-build.XXXXXX")
  # The build's bash leads a new session and process group; it writes its
  # PID (= the group's ID) first thing. setsid -w waits for it, also when
  # setsid has to fork (under job control), so $! lives as long as it.
  # shellcheck disable=SC2016
  setsid -w bash -c '
    echo $$ >"$4"
    set -u
    source "$1"
    exec 9>"$2/.build.lock"
    command -v flock >/dev/null && flock 9
    [ -x "$3" ] && exit 0
    start=$(date +%s)
    _seaweedfs_build "$3" || exit 1
    echo "seaweedfs: built $3 in $(( $(date +%s) - start )) s"
  ' seaweedfs-build "${BASH_SOURCE[0]}" "$dir" "$bin" "$SEAWEEDFS_BUILD_LOG.pgid" >"$SEAWEEDFS_BUILD_LOG" 2>&1 </dev/null &
  SEAWEEDFS_BUILD_PID=$!
  if [ "${SEAWEEDFS_INSTALL_WAIT:-}" = 1 ]; then
    seaweedfs_wait_install
  fi
}

# seaweedfs_wait_install: wait for a build seaweedfs_install started.
seaweedfs_wait_install() {
  local rc=0
  if [ -n "${SEAWEEDFS_BUILD_PID:-}" ]; then
    echo "seaweedfs: waiting for the weed build (pid $SEAWEEDFS_BUILD_PID)"
    wait "$SEAWEEDFS_BUILD_PID" || rc=$?
    SEAWEEDFS_BUILD_PID=
    cat "$SEAWEEDFS_BUILD_LOG" >&2 || true
    rm -f "$SEAWEEDFS_BUILD_LOG" "$SEAWEEDFS_BUILD_LOG.pgid"
    [ "$rc" = 0 ] || { echo "seaweedfs: building weed failed (exit $rc)" >&2; return 1; }
  fi
  [ -x "$(seaweedfs_bin_path)" ] || { echo "seaweedfs: $(seaweedfs_bin_path) missing; run seaweedfs_install first" >&2; return 1; }
}

# _seaweedfs_ports N: N distinct random ports in 20000..32767 (below the
# Linux ephemeral range, where an outgoing connection could take one before
# weed binds it), free now on 127.0.0.1.
_seaweedfs_ports() {
  local n=$1 out=() p q dup
  while [ "${#out[@]}" -lt "$n" ]; do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 ))
    dup=
    for q in "${out[@]}"; do [ "$q" = "$p" ] && dup=1; done
    [ -z "$dup" ] && _svc_port_free "$p" && out+=("$p")
  done
  printf '%s\n' "${out[@]}"
}

# seaweedfs_start: one `weed mini` (master, volume server, filer and S3
# gateway in one process). Every port it opens is given explicitly (an
# explicit port that is taken makes weed exit instead of moving to another
# one), so parallel runs cannot collide: master, filer, volume and S3 each
# with its gRPC port, and the admin server's two; WebDAV, the admin UI, the
# Iceberg and Lance catalogs, the legacy admin port and telemetry are off.
# Every bucket is a collection with volumes of its own, and mini sizes
# volumes from the free disk (1 GB volumes, 32 of them, on a 35 GB disk):
# the tests create a bucket each, so after about 30 every write failed with
# 500 "No writable volumes and no free volumes left". Small volumes (32 MB,
# sparse files) and up to 1000 of them keep room for every test's bucket.
seaweedfs_start() {
  local bin dir try ak sk ports s3port
  seaweedfs_wait_install || return 1
  bin=$(seaweedfs_bin_path)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-seaweedfs-test.XXXXXX")
  chmod 700 "$dir"
  ak="AK$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  sk="SK$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && printf '{"identities":[{"name":"admin","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
    "$ak" "$sk" >"$dir/s3.json")
  SEAWEEDFS_TEST_PID=
  local started=$SECONDS
  for try in 1 2 3; do
    rm -rf "$dir/data" && mkdir -p "$dir/data"
    mapfile -t ports < <(_seaweedfs_ports 10)
    s3port=${ports[6]}
    (cd "$dir" && exec env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u S3_BUCKET "$bin" mini \
      -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.config="$dir/s3.json" \
      -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
      -filer.port="${ports[2]}" -filer.port.grpc="${ports[3]}" \
      -volume.port="${ports[4]}" -volume.port.grpc="${ports[5]}" \
      -s3.port="$s3port" -s3.port.grpc="${ports[7]}" \
      -admin.port="${ports[8]}" -admin.port.grpc="${ports[9]}" -admin.port.legacy=0 \
      -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
      -master.volumeSizeLimitMB=32 -volume.max=1000 \
      -master.telemetry=false -filer.localSocket="$dir/filer.sock" -s3.localSocket="$dir/s3.sock" \
      >"$dir/server.log" 2>&1 </dev/null) &
    SEAWEEDFS_TEST_PID=$!
    # Ready when mini says every component runs (S3 answers only then
    # for writes: the volume server has registered with the master).
    local i ok=
    for i in $(seq 1 600); do
      kill -0 "$SEAWEEDFS_TEST_PID" 2>/dev/null || break
      if grep -q 'All enabled components are running' "$dir/server.log" && ! _svc_port_free "$s3port"; then
        ok=1; break
      fi
      sleep 0.1
    done
    [ -n "$ok" ] && break
    echo "seaweedfs: weed mini did not start (attempt $try):" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    _svc_stop_pid "$SEAWEEDFS_TEST_PID" 30
    SEAWEEDFS_TEST_PID=
  done
  if [ -z "${SEAWEEDFS_TEST_PID:-}" ]; then
    rm -rf "$dir"
    echo "seaweedfs: could not start weed mini" >&2
    return 1
  fi
  SEAWEEDFS_TEST_DIR=$dir
  export DSTACK_SECRETS_TEST_SEAWEEDFS_ENDPOINT="http://127.0.0.1:$s3port"
  export DSTACK_SECRETS_TEST_SEAWEEDFS_ACCESS_KEY="$ak"
  export DSTACK_SECRETS_TEST_SEAWEEDFS_SECRET_KEY="$sk"
  export DSTACK_SECRETS_TEST_SEAWEEDFS_BIN="$bin"
  echo "seaweedfs: weed mini pid $SEAWEEDFS_TEST_PID at $DSTACK_SECRETS_TEST_SEAWEEDFS_ENDPOINT (ready in $((SECONDS - started)) s)"
}

seaweedfs_stop() {
  if [ -n "${SEAWEEDFS_BUILD_PID:-}" ]; then
    # A build still running (the run failed before seaweedfs_start): end
    # its process group (go and its compilers) by the ID its leader wrote.
    local pgid
    pgid=$(cat "$SEAWEEDFS_BUILD_LOG.pgid" 2>/dev/null || true)
    if [ -n "$pgid" ]; then
      kill -TERM -- "-$pgid" 2>/dev/null || true
      sleep 1
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    wait "$SEAWEEDFS_BUILD_PID" 2>/dev/null || true
    SEAWEEDFS_BUILD_PID=
    rm -f "$SEAWEEDFS_BUILD_LOG" "$SEAWEEDFS_BUILD_LOG.pgid"
  fi
  if [ -n "${SEAWEEDFS_TEST_PID:-}" ]; then
    _svc_stop_pid "$SEAWEEDFS_TEST_PID" 30
    SEAWEEDFS_TEST_PID=
  fi
  if [ -n "${SEAWEEDFS_TEST_DIR:-}" ]; then
    rm -rf "$SEAWEEDFS_TEST_DIR"
    SEAWEEDFS_TEST_DIR=
  fi
  unset DSTACK_SECRETS_TEST_SEAWEEDFS_ENDPOINT DSTACK_SECRETS_TEST_SEAWEEDFS_ACCESS_KEY \
    DSTACK_SECRETS_TEST_SEAWEEDFS_SECRET_KEY DSTACK_SECRETS_TEST_SEAWEEDFS_BIN
}
