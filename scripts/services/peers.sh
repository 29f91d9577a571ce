# shellcheck shell=bash
# The real dotenv parsers and shells that the interop tests of internal/dotenv
# compare dstack-secrets against. Sourced by scripts/test (which runs with
# set -euo pipefail); defines
#
#   peers_install   installs the Debian packages python3-dotenv (run with
#                   /usr/bin/python3), zsh, dash and fish (the shells the
#                   completion scripts are tested in) when missing (apt-get
#                   update once when the package lists are empty or the
#                   install fails), and npm-installs Node's dotenv at
#                   PEERS_NODE_DOTENV_VERSION into a cache directory outside
#                   the checkout when it is not there yet
#   peers_start     nothing runs: exports DSTACK_SECRETS_TEST_NODE_DOTENV
#                   (the directory holding node_modules/dotenv) and
#                   DSTACK_SECRETS_TEST_PYTHON (the python3 with the dotenv
#                   module) for the tests
#   peers_stop      unsets those variables
#
# godotenv is a Go test dependency (go.mod) and needs no install step. Node
# itself comes with the machine (it is needed for npm anyway).
#
# Works when sourced by a script running with set -euo pipefail.

PEERS_PACKAGES=(python3-dotenv zsh dash fish)
PEERS_NODE_DOTENV_VERSION=17.4.2
PEERS_PYTHON=/usr/bin/python3

peers_node_dotenv_dir() {
  printf '%s/dstack-secrets/npm-dotenv-%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}" "$PEERS_NODE_DOTENV_VERSION"
}

_peers_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# _peers_node_dotenv_ok DIR: DIR holds the pinned version of Node's dotenv.
_peers_node_dotenv_ok() {
  [ -f "$1/node_modules/dotenv/package.json" ] &&
    (cd "$1" && node -e 'process.exit(require("dotenv/package.json").version === process.argv[1] ? 0 : 1)' "$PEERS_NODE_DOTENV_VERSION") 2>/dev/null
}

peers_install() {
  local missing=() p
  for p in "${PEERS_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "peers: installing ${missing[*]}"
    if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]; then
      _peers_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
    if ! _peers_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
      # The package lists may be stale: refresh them once and try again.
      _peers_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      _peers_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
  fi
  "$PEERS_PYTHON" -c 'import dotenv' || {
    echo "peers: $PEERS_PYTHON cannot import dotenv after installing python3-dotenv" >&2
    return 1
  }

  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "peers: node and npm are needed for Node's dotenv; install them (apt-get install nodejs npm)" >&2
    return 1
  fi
  local dir tmp
  dir=$(peers_node_dotenv_dir)
  if _peers_node_dotenv_ok "$dir"; then
    echo "peers: using Node dotenv $PEERS_NODE_DOTENV_VERSION in $dir"
    return 0
  fi
  echo "peers: installing Node dotenv $PEERS_NODE_DOTENV_VERSION into $dir"
  mkdir -p "$(dirname "$dir")"
  # Install into a fresh directory and move it into place, so that an
  # interrupted install never leaves a half-filled cache behind.
  tmp=$(mktemp -d "$(dirname "$dir")/.npm-dotenv.XXXXXX")
  if ! (cd "$tmp" && printf '{"name":"dstack-secrets-peers","private":true}\n' >package.json &&
    npm install --no-audit --no-fund --no-save --silent --ignore-scripts "dotenv@$PEERS_NODE_DOTENV_VERSION"); then
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
  _peers_node_dotenv_ok "$dir"
}

peers_start() {
  DSTACK_SECRETS_TEST_NODE_DOTENV=$(peers_node_dotenv_dir)
  DSTACK_SECRETS_TEST_PYTHON=$PEERS_PYTHON
  export DSTACK_SECRETS_TEST_NODE_DOTENV DSTACK_SECRETS_TEST_PYTHON
  echo "peers: python-dotenv via $DSTACK_SECRETS_TEST_PYTHON, Node dotenv in $DSTACK_SECRETS_TEST_NODE_DOTENV"
}

peers_stop() {
  unset DSTACK_SECRETS_TEST_NODE_DOTENV DSTACK_SECRETS_TEST_PYTHON
}
