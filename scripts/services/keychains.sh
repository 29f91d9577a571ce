# shellcheck shell=bash
# Real OS keychains for the tests of backends/keyring, sourced by scripts/test.
#
#   keychains_install   installs gnome-keyring, D-Bus, keyutils, pass, gnupg and
#                       libsecret's secret-tool (the encrypted-session interop test)
#                       (never dbus-x11: see below) and fetches the dbus-x11
#                       package file for the dbus-daemon leak test
#   keychains_start     starts a private D-Bus session bus with gnome-keyring's
#                       Secret Service (login collection unlocked), creates a
#                       throwaway GPG key and password store, and exports
#                       DBUS_SESSION_BUS_ADDRESS, GNUPGHOME, PASSWORD_STORE_DIR,
#                       DSTACK_SECRETS_TEST_KEYRING=1 and
#                       DSTACK_SECRETS_TEST_DBUS_LAUNCH_DIR
#   keychains_stop      stops what keychains_start started (by PID), unlinks the
#                       tests' kernel keyrings and removes the temporary files
#
# dbus-x11 is deliberately not installed: with it installed and no bus address,
# every process importing the unpatched 99designs/keyring leaks a dbus-daemon
# (99designs/keyring#103). The leak test needs its real dbus-launch, so the
# package is only downloaded and unpacked into the temporary directory, and
# the test puts that directory on the PATH of the processes it watches.
#
# Works when sourced by a script running with set -euo pipefail.

KEYCHAINS_PACKAGES=(dbus-daemon dbus-bin gnome-keyring keyutils pass gnupg libx11-6 libsecret-tools)
KEYCHAINS_CACHE="${KEYCHAINS_CACHE:-${TMPDIR:-/tmp}/dstack-secrets-apt-cache}"
KEYCHAINS_TMP=""
KEYCHAINS_BUS_PID=""
KEYCHAINS_GKD_PID=""

_keychains_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

keychains_install() {
  local missing=() p
  for p in "${KEYCHAINS_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ] || ! ls "$KEYCHAINS_CACHE"/dbus-x11_*.deb >/dev/null 2>&1; then
    if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]; then
      _keychains_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "keychains: installing ${missing[*]}"
    _keychains_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! ls "$KEYCHAINS_CACHE"/dbus-x11_*.deb >/dev/null 2>&1; then
    # Download only (no install): the leak test unpacks it into a temp dir.
    mkdir -p "$KEYCHAINS_CACHE"
    (cd "$KEYCHAINS_CACHE" && apt-get download -qq -o APT::Sandbox::User=root dbus-x11) || {
      _keychains_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      (cd "$KEYCHAINS_CACHE" && apt-get download -qq -o APT::Sandbox::User=root dbus-x11)
    }
  fi
  if dpkg-query -W -f='${Status}' dbus-x11 2>/dev/null | grep -q 'install ok installed'; then
    echo "keychains: note: dbus-x11 is installed on this machine; the tests still run," \
      "and the leak test then checks the real installed dbus-launch" >&2
  fi
}

# _keychains_wait CMD... polls CMD until it succeeds (at most ~15 s).
_keychains_wait() {
  local i
  for i in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

_keychains_secrets_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'
}

_keychains_login_ready() {
  dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
    org.freedesktop.Secret.Service.ReadAlias string:default | grep -q 'collection/login'
}

keychains_start() {
  unset DISPLAY WAYLAND_DISPLAY
  KEYCHAINS_TMP=$(mktemp -d /tmp/dsk.XXXXXX)
  chmod 700 "$KEYCHAINS_TMP"
  local t="$KEYCHAINS_TMP"
  mkdir -m 700 "$t/data" "$t/cache" "$t/run" "$t/g" "$t/bus"

  # A private session bus without service activation: nothing starts behind
  # our back, and everything on it is ours to stop.
  cat >"$t/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$t/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
  dbus-daemon --config-file="$t/bus.conf" --fork --nopidfile \
    --print-address=3 --print-pid=4 3>"$t/bus.addr" 4>"$t/bus.pid"
  KEYCHAINS_BUS_PID=$(tr -d '[:space:]' <"$t/bus.pid")
  DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$t/bus.addr")
  export DBUS_SESSION_BUS_ADDRESS

  # gnome-keyring's Secret Service, with a fresh login keyring unlocked by a
  # throwaway password read from stdin.
  head -c 24 /dev/urandom | base64 >"$t/keyring.pw"
  chmod 600 "$t/keyring.pw"
  XDG_DATA_HOME="$t/data" XDG_CACHE_HOME="$t/cache" XDG_RUNTIME_DIR="$t/run" \
    gnome-keyring-daemon --foreground --unlock --components=secrets \
    <"$t/keyring.pw" >"$t/gnome-keyring.log" 2>&1 &
  KEYCHAINS_GKD_PID=$!
  if ! _keychains_wait _keychains_secrets_owned; then
    echo "keychains: gnome-keyring-daemon did not take org.freedesktop.secrets on the bus:" >&2
    cat "$t/gnome-keyring.log" >&2
    return 1
  fi
  if ! _keychains_wait _keychains_login_ready; then
    echo "keychains: gnome-keyring has no default (login) collection:" >&2
    cat "$t/gnome-keyring.log" >&2
    return 1
  fi

  # pass with a throwaway GPG key without passphrase.
  export GNUPGHOME="$t/g"
  export PASSWORD_STORE_DIR="$t/pass"
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'dstack-secrets test <test@example.invalid>' future-default default never 2>/dev/null
  local fpr
  fpr=$(gpg --batch --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
  pass init "$fpr" >/dev/null

  # The real dbus-launch for the leak test, unpacked but not installed.
  export DSTACK_SECRETS_TEST_DBUS_LAUNCH_DIR=""
  local deb
  deb=$(ls "$KEYCHAINS_CACHE"/dbus-x11_*.deb 2>/dev/null | head -n1 || true)
  if [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$t/dbus-x11"
    DSTACK_SECRETS_TEST_DBUS_LAUNCH_DIR="$t/dbus-x11/usr/bin"
  fi

  export DSTACK_SECRETS_TEST_KEYRING=1
  echo "keychains: D-Bus bus PID $KEYCHAINS_BUS_PID, gnome-keyring-daemon PID $KEYCHAINS_GKD_PID, pass key $fpr"
}

keychains_stop() {
  local pid
  for pid in "$KEYCHAINS_GKD_PID" "$KEYCHAINS_BUS_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  # gnome-keyring-daemon may be the bus's child rather than ours: wait for it.
  for pid in "$KEYCHAINS_GKD_PID" "$KEYCHAINS_BUS_PID"; do
    [ -n "$pid" ] && _keychains_wait sh -c "! kill -0 $pid" || true
  done
  if [ -n "$KEYCHAINS_TMP" ] && [ -d "$KEYCHAINS_TMP/g" ]; then
    # gpg-agent (started on demand by gpg) is stopped by its PID too.
    pid=$(GNUPGHOME="$KEYCHAINS_TMP/g" gpg-connect-agent --no-autostart 'getinfo pid' /bye 2>/dev/null |
      awk '/^D / {print $2; exit}' || true)
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      _keychains_wait sh -c "! kill -0 $pid" || true
    fi
  fi
  # Kernel keyrings the tests left linked to the user keyring.
  local id desc
  for id in $(keyctl rlist @u 2>/dev/null || true); do
    desc=$(keyctl rdescribe "$id" 2>/dev/null | cut -d';' -f5- || true)
    case "$desc" in
    dstack-secrets-test*) keyctl unlink "$id" @u >/dev/null 2>&1 || true ;;
    esac
  done
  if [ -n "$KEYCHAINS_TMP" ]; then rm -rf "$KEYCHAINS_TMP"; fi
  KEYCHAINS_TMP="" KEYCHAINS_BUS_PID="" KEYCHAINS_GKD_PID=""
  unset DBUS_SESSION_BUS_ADDRESS GNUPGHOME PASSWORD_STORE_DIR DSTACK_SECRETS_TEST_KEYRING DSTACK_SECRETS_TEST_DBUS_LAUNCH_DIR
}
