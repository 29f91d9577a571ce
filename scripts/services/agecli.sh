# shellcheck shell=bash
# The standard age command line (and jq) for the tests that check that a
# store is recoverable without dstack-secrets (backends/file's
# TestAgeCLIRecovers and TestMigrationFromV1: `age -d -i KEY STORE | jq`).
# Sourced by scripts/test (which runs with set -euo pipefail); defines
#
#   agecli_install   installs the Debian packages age and jq when missing
#   agecli_start     nothing to start (the tests run the programs)
#   agecli_stop      nothing to stop

AGECLI_PACKAGES=(age jq)

_agecli_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

agecli_install() {
  local missing=() p
  for p in "${AGECLI_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "agecli: $(age --version 2>/dev/null | head -n1) and $(jq --version) installed"
    return 0
  fi
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]; then
    _agecli_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  echo "agecli: installing ${missing[*]}"
  _agecli_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

agecli_start() { :; }

agecli_stop() { :; }
