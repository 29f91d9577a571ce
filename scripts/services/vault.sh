# shellcheck shell=bash
# A real HashiCorp Vault dev server for the tests of backends/vault and the
# CLI. Sourced by scripts/test (which runs with set -euo pipefail); defines
#
#   vault_install   ensure the vault binary: reuse the one cached by version,
#                   else build it from source through the Go module proxy
#   vault_start     start a dev server on a free 127.0.0.1 port with a random
#                   root token, wait for /v1/sys/health, enable a KV v1 mount,
#                   and export DSTACK_SECRETS_TEST_VAULT_* for the tests
#   vault_stop      stop that server by PID and remove its temporary directory
#
# No Vault binary can be downloaded where CI runs, so vault_install builds
# github.com/hashicorp/vault at VAULT_VERSION with its go.mod's local
# replaces of ./api and ./sdk swapped for released versions that compile
# (see ../shared/notes/vault-server.md). The binary is cached outside the
# checkout at ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/vault-v$VERSION/;
# a cold build takes about 7 minutes on 2 cores. Vault is BUSL-licensed: its
# source and binary are never committed or shipped, only used as a local
# test server.

VAULT_VERSION=1.19.4
VAULT_SDK_VERSION=v0.15.2
VAULT_API_VERSION=v1.16.0

# The mount the tests use for KV version 1; the dev server's secret/ is KV v2.
VAULT_KV1_MOUNT=kv1

vault_bin_path() {
  printf '%s/dstack-secrets/vault-v%s/vault\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$VAULT_VERSION"
}

# vault_bin_ok BIN: BIN exists and reports the expected version.
vault_bin_ok() {
  [ -x "$1" ] && "$1" version 2>/dev/null | grep -q "^Vault v${VAULT_VERSION}[ ,]"
}

vault_install() {
  local bin dir lock
  bin=$(vault_bin_path)
  dir=$(dirname "$bin")
  if vault_bin_ok "$bin"; then
    echo "vault: using cached $bin ($("$bin" version))"
    return 0
  fi
  mkdir -p "$dir"
  lock="$dir/.build.lock"
  # Serialise builds (another checkout or terminal may be building the same
  # version); the one that waited then finds the finished binary.
  if command -v flock >/dev/null; then
    exec {_vault_lock_fd}>"$lock"
    flock "$_vault_lock_fd"
  fi
  if vault_bin_ok "$bin"; then
    echo "vault: using $bin, built meanwhile"
  else
    _vault_build "$bin"
  fi
  if [ -n "${_vault_lock_fd:-}" ]; then
    exec {_vault_lock_fd}>&-
    unset _vault_lock_fd
  fi
  vault_bin_ok "$bin"
}

# _vault_build OUT: build Vault from source into OUT (atomically).
_vault_build() {
  local out=$1 src work modjson
  echo "vault: building Vault v$VAULT_VERSION from source (sdk $VAULT_SDK_VERSION, api $VAULT_API_VERSION); a cold build takes several minutes"
  work=$(mktemp -d "${TMPDIR:-/tmp}/dstack-vault-build.XXXXXX")
  _VAULT_BUILD_WORK=$work # removed by vault_stop if the build is interrupted
  # Every step ends in "|| exit 1": errexit does not apply inside a
  # subshell whose status is tested with ||.
  (
    export GOFLAGS= GOWORK=off CGO_ENABLED=0
    if ! modjson=$(cd "$work" && go mod download -json "github.com/hashicorp/vault@v$VAULT_VERSION"); then
      printf '%s\n' "$modjson" >&2
      exit 1
    fi
    src=$(printf '%s\n' "$modjson" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
      echo "vault: go mod download gave no source directory:" >&2
      printf '%s\n' "$modjson" >&2
      exit 1
    fi
    cp -R "$src" "$work/src" || exit 1
    chmod -R u+w "$work/src" || exit 1
    cd "$work/src" || exit 1
    go mod edit \
      -dropreplace=github.com/hashicorp/vault/api \
      -dropreplace=github.com/hashicorp/vault/api/auth/approle \
      -dropreplace=github.com/hashicorp/vault/api/auth/kubernetes \
      -dropreplace=github.com/hashicorp/vault/api/auth/userpass \
      -dropreplace=github.com/hashicorp/vault/sdk \
      -replace="github.com/hashicorp/vault/sdk=github.com/hashicorp/vault/sdk@$VAULT_SDK_VERSION" \
      -replace="github.com/hashicorp/vault/api=github.com/hashicorp/vault/api@$VAULT_API_VERSION" || exit 1
    # Build into another folder: the source has a vault/ directory.
    go build -mod=mod -trimpath -ldflags='-s -w' -o "$work/out/vault" . || exit 1
    "$work/out/vault" version || exit 1
    mv -f "$work/out/vault" "$out.tmp.$$" || exit 1
    mv -f "$out.tmp.$$" "$out" || exit 1
  ) || { rm -rf "$work"; _VAULT_BUILD_WORK=; echo "vault: build failed" >&2; return 1; }
  rm -rf "$work"
  _VAULT_BUILD_WORK=
  echo "vault: built $out"
}

# _vault_port_free PORT: nothing listens on 127.0.0.1:PORT.
_vault_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _vault_health ADDR_PORT: prints the HTTP status of GET /v1/sys/health.
_vault_health() {
  local line _proto code _rest
  line=$(_vault_health_line "$1" 2>/dev/null) || return 1
  read -r _proto code _rest <<<"$line"
  printf '%s\n' "${code:-}"
}

_vault_health_line() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  local line
  IFS= read -r -t 2 line <&3 || return 1
  exec 3<&-
  printf '%s' "$line"
}

vault_start() {
  local bin port token dir i try status
  bin=$(vault_bin_path)
  vault_bin_ok "$bin" || { echo "vault: $bin missing; run vault_install first" >&2; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-vault-test.XXXXXX")
  chmod 700 "$dir"
  token="root-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  for try in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    _vault_port_free "$port" || continue
    # HOME points at the temporary directory so that the dev server does not
    # write its root token over the user's ~/.vault-token.
    HOME="$dir" VAULT_ADDR= VAULT_TOKEN= "$bin" server -dev \
      -dev-root-token-id="$token" -dev-listen-address="127.0.0.1:$port" \
      -dev-no-store-token >"$dir/server.log" 2>&1 </dev/null &
    VAULT_TEST_PID=$!
    status=
    for i in $(seq 1 300); do
      if ! kill -0 "$VAULT_TEST_PID" 2>/dev/null; then
        break
      fi
      status=$(_vault_health "$port" || true)
      [ "$status" = 200 ] && break
      sleep 0.1
    done
    [ "$status" = 200 ] && break
    echo "vault: dev server on port $port did not become healthy (attempt $try):" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    kill "$VAULT_TEST_PID" 2>/dev/null || true
    wait "$VAULT_TEST_PID" 2>/dev/null || true
    VAULT_TEST_PID=
  done
  if [ -z "${VAULT_TEST_PID:-}" ]; then
    rm -rf "$dir"
    echo "vault: could not start a dev server" >&2
    return 1
  fi
  VAULT_TEST_DIR=$dir
  export DSTACK_SECRETS_TEST_VAULT_ADDR="http://127.0.0.1:$port"
  export DSTACK_SECRETS_TEST_VAULT_TOKEN="$token"
  export DSTACK_SECRETS_TEST_VAULT_BIN="$bin"
  export DSTACK_SECRETS_TEST_VAULT_KV1_MOUNT="$VAULT_KV1_MOUNT"
  export DSTACK_SECRETS_TEST_VAULT_KV2_MOUNT=secret
  HOME="$dir" VAULT_ADDR="$DSTACK_SECRETS_TEST_VAULT_ADDR" VAULT_TOKEN="$token" \
    "$bin" secrets enable -path="$VAULT_KV1_MOUNT" -version=1 kv >/dev/null
  echo "vault: dev server $("$bin" version | cut -d, -f1) pid $VAULT_TEST_PID at $DSTACK_SECRETS_TEST_VAULT_ADDR (KV v2 at secret/, KV v1 at $VAULT_KV1_MOUNT/)"
}

vault_stop() {
  if [ -n "${_VAULT_BUILD_WORK:-}" ]; then
    rm -rf "$_VAULT_BUILD_WORK"
    _VAULT_BUILD_WORK=
  fi
  if [ -n "${VAULT_TEST_PID:-}" ]; then
    local i
    kill "$VAULT_TEST_PID" 2>/dev/null || true
    # Vault shuts down gracefully on SIGTERM; give it 10 s, then SIGKILL.
    for i in $(seq 1 100); do
      kill -0 "$VAULT_TEST_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$VAULT_TEST_PID" 2>/dev/null || true
    wait "$VAULT_TEST_PID" 2>/dev/null || true
    VAULT_TEST_PID=
  fi
  if [ -n "${VAULT_TEST_DIR:-}" ]; then
    rm -rf "$VAULT_TEST_DIR"
    VAULT_TEST_DIR=
  fi
  unset DSTACK_SECRETS_TEST_VAULT_ADDR DSTACK_SECRETS_TEST_VAULT_TOKEN \
    DSTACK_SECRETS_TEST_VAULT_BIN DSTACK_SECRETS_TEST_VAULT_KV1_MOUNT \
    DSTACK_SECRETS_TEST_VAULT_KV2_MOUNT
}
