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
#   vault_cluster_start / vault_cluster_stop
#                   a real 3-node Raft cluster (see "Raft cluster mode" below;
#                   vault_start and vault_stop call them)
#
# No Vault binary can be downloaded where CI runs, so vault_install builds
# github.com/hashicorp/vault at VAULT_VERSION with its go.mod's local
# replaces of ./api and ./sdk swapped for released versions that compile
# (see ../shared/notes/vault-server.md), with the build tag "minimal":
# Vault's own switch that leaves out the add-on plugins (cloud auth methods
# and secrets engines, database plugins) and keeps every engine the tests
# use (KV, transit, approle, userpass, token, Raft storage). A cold build,
# module downloads included, took 7.6 minutes on 2 cores under a load of 7-10
# (the full build: 21.6 minutes under a load of 10-15), and the binary is
# 130 MB instead of 343 MB. It is cached outside the checkout at
# ${XDG_CACHE_HOME:-$HOME/.cache}/dstack-secrets/vault-v$VERSION-minimal/.
# Vault is BUSL-licensed: its source and binary are never committed or
# shipped, only used as a local test server.

VAULT_VERSION=1.19.4
VAULT_SDK_VERSION=v0.15.2
VAULT_API_VERSION=v1.16.0
VAULT_BUILD_TAGS=minimal

# The mount the tests use for KV version 1; the dev server's secret/ is KV v2.
VAULT_KV1_MOUNT=kv1

vault_bin_path() {
  printf '%s/dstack-secrets/vault-v%s-%s/vault\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$VAULT_VERSION" "$VAULT_BUILD_TAGS"
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
  echo "vault: building Vault v$VAULT_VERSION from source (sdk $VAULT_SDK_VERSION, api $VAULT_API_VERSION, tags $VAULT_BUILD_TAGS); a cold build takes several minutes"
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
    go build -mod=mod -tags "$VAULT_BUILD_TAGS" -trimpath -ldflags='-s -w' -o "$work/out/vault" . || exit 1
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
  if [ "${DSTACK_SECRETS_TEST_VAULT_CLUSTER:-1}" != 0 ]; then
    vault_cluster_start
  fi
}

vault_stop() {
  vault_cluster_stop || true
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

# --- Raft cluster mode -------------------------------------------------------
#
#   vault_cluster_start  start a real 3-node Vault cluster on integrated
#                        storage (Raft) on 127.0.0.1: initialise it (one
#                        unseal key), unseal and join the nodes, enable KV v2
#                        at secret/, and export DSTACK_SECRETS_TEST_VAULT_CLUSTER_*
#   vault_cluster_stop   stop its nodes by PID and remove its directory
#
# vault_start starts the cluster too (set DSTACK_SECRETS_TEST_VAULT_CLUSTER=0
# to skip it); vault_stop stops it. The failover tests of reliability/ kill
# the active node and start it again from the same directory:
#
#   $DSTACK_SECRETS_TEST_VAULT_CLUSTER_DIR/nodeN.hcl   the node's configuration
#   $DSTACK_SECRETS_TEST_VAULT_CLUSTER_DIR/nodeN.pid   its PID (rewritten by a
#                                                     test that restarts it)
#   $DSTACK_SECRETS_TEST_VAULT_CLUSTER_DIR/unseal-key  the unseal key (0600)
#
# DSTACK_SECRETS_TEST_VAULT_CLUSTER_ADDRS lists the nodes' API addresses
# (comma-separated), DSTACK_SECRETS_TEST_VAULT_CLUSTER_TOKEN is the root token.

# _vault_free_port: prints a port on which nothing listens, below the
# kernel's range of ephemeral ports: a node restarted by a test must find
# its port free again, not taken by some connection's local port.
_vault_free_port() {
  local port try low=32768 _high
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r low _high < /proc/sys/net/ipv4/ip_local_port_range
  fi
  [ "$low" -gt 11000 ] || low=32768
  for try in $(seq 1 50); do
    port=$(( 10000 + (RANDOM * 32768 + RANDOM) % (low - 10000) ))
    if _vault_port_free "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

# _vault_wait_status PORT STATUS...: wait up to 60 s until GET /v1/sys/health
# on PORT answers one of the statuses (200 active, 429 standby, 503 sealed,
# 501 not initialised).
_vault_wait_status() {
  local port=$1 status i want
  shift
  for i in $(seq 1 600); do
    status=$(_vault_health "$port" || true)
    for want in "$@"; do
      [ "$status" = "$want" ] && return 0
    done
    sleep 0.1
  done
  echo "vault cluster: node on port $port answered ${status:-nothing}, not $*" >&2
  return 1
}

vault_cluster_start() {
  local bin dir n api cluster apis=() clusters=() addrs="" join="" out key token
  bin=$(vault_bin_path)
  vault_bin_ok "$bin" || { echo "vault: $bin missing; run vault_install first" >&2; return 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dstack-vault-cluster.XXXXXX")
  chmod 700 "$dir"
  VAULT_CLUSTER_DIR=$dir
  for n in 1 2 3; do
    api=$(_vault_free_port) && cluster=$(_vault_free_port) || { echo "vault cluster: no free port" >&2; return 1; }
    apis+=("$api") clusters+=("$cluster")
    addrs="${addrs:+$addrs,}http://127.0.0.1:$api"
  done
  for n in 1 2 3; do
    join=""
    for m in 1 2 3; do
      [ "$m" = "$n" ] && continue
      join+="  retry_join {
    leader_api_addr = \"http://127.0.0.1:${apis[$((m-1))]}\"
  }
"
    done
    mkdir -p "$dir/node$n"
    cat > "$dir/node$n.hcl" <<HCL
storage "raft" {
  path    = "$dir/node$n"
  node_id = "node$n"
$join}
listener "tcp" {
  address         = "127.0.0.1:${apis[$((n-1))]}"
  cluster_address = "127.0.0.1:${clusters[$((n-1))]}"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:${apis[$((n-1))]}"
cluster_addr  = "http://127.0.0.1:${clusters[$((n-1))]}"
disable_mlock = true
ui            = false
log_level     = "warn"
HCL
    HOME="$dir" VAULT_ADDR= VAULT_TOKEN= "$bin" server -config "$dir/node$n.hcl" >"$dir/node$n.log" 2>&1 </dev/null &
    echo $! > "$dir/node$n.pid"
  done
  _vault_wait_status "${apis[0]}" 501 503 || { tail -n 20 "$dir/node1.log" >&2; return 1; }
  out=$(HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[0]}" VAULT_TOKEN= "$bin" operator init -key-shares=1 -key-threshold=1) || return 1
  key=$(printf '%s\n' "$out" | sed -n 's/^Unseal Key 1: //p')
  token=$(printf '%s\n' "$out" | sed -n 's/^Initial Root Token: //p')
  [ -n "$key" ] && [ -n "$token" ] || { echo "vault cluster: cannot read the init output" >&2; return 1; }
  (umask 077 && printf '%s\n' "$key" > "$dir/unseal-key")
  HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[0]}" "$bin" operator unseal "$key" >/dev/null || return 1
  _vault_wait_status "${apis[0]}" 200 || { tail -n 20 "$dir/node1.log" >&2; return 1; }
  # Joining nodes become voters once stable for this long (default 10 s).
  HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[0]}" VAULT_TOKEN="$token" "$bin" operator raft autopilot set-config \
    -server-stabilization-time=2s -cleanup-dead-servers=false >/dev/null || return 1
  for n in 2 3; do
    # The node joins (retry_join) while sealed; unsealing it completes that.
    _vault_wait_status "${apis[$((n-1))]}" 503 501 || return 1
    local i
    for i in $(seq 1 100); do
      HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[$((n-1))]}" "$bin" operator unseal "$key" >/dev/null 2>&1 || true
      [ "$(_vault_health "${apis[$((n-1))]}" || true)" = 429 ] && break
      sleep 0.3
    done
    _vault_wait_status "${apis[$((n-1))]}" 429 || { tail -n 20 "$dir/node$n.log" >&2; return 1; }
  done
  HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[0]}" VAULT_TOKEN="$token" "$bin" secrets enable -path=secret kv-v2 >/dev/null || return 1
  # Wait until all three nodes vote, so that the cluster survives the loss
  # of one.
  local voters=0
  for i in $(seq 1 120); do
    voters=$(HOME="$dir" VAULT_ADDR="http://127.0.0.1:${apis[0]}" VAULT_TOKEN="$token" "$bin" operator raft list-peers 2>/dev/null | grep -c ' true$' || true)
    [ "$voters" = 3 ] && break
    sleep 0.5
  done
  [ "$voters" = 3 ] || { echo "vault cluster: $voters of 3 nodes are voters after 60 s" >&2; return 1; }
  export DSTACK_SECRETS_TEST_VAULT_CLUSTER_ADDRS="$addrs"
  export DSTACK_SECRETS_TEST_VAULT_CLUSTER_TOKEN="$token"
  export DSTACK_SECRETS_TEST_VAULT_CLUSTER_DIR="$dir"
  echo "vault: 3-node Raft cluster at $addrs (KV v2 at secret/), directory $dir"
}

vault_cluster_stop() {
  local n pid i
  [ -n "${VAULT_CLUSTER_DIR:-}" ] || return 0
  for n in 1 2 3; do
    pid=$(cat "$VAULT_CLUSTER_DIR/node$n.pid" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$VAULT_CLUSTER_DIR"
  VAULT_CLUSTER_DIR=
  unset DSTACK_SECRETS_TEST_VAULT_CLUSTER_ADDRS DSTACK_SECRETS_TEST_VAULT_CLUSTER_TOKEN \
    DSTACK_SECRETS_TEST_VAULT_CLUSTER_DIR
}
