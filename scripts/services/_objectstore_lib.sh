# shellcheck shell=bash
# Helpers shared by the object-storage service scripts (s3.sh, azurite.sh,
# gcs.sh); sourced by them, not a service itself.

# _svc_port_free PORT: nothing listens on 127.0.0.1:PORT.
_svc_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _svc_random_port: a random port in 20000..59999.
_svc_random_port() {
  printf '%d\n' $(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
}

# _svc_stop_pid PID GRACE_TENTHS: SIGTERM, wait, then SIGKILL.
_svc_stop_pid() {
  local pid=$1 grace=$2 i
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 "$grace"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# _svc_wait_port PID PORT TENTHS: wait until PORT accepts connections while
# PID lives; fails when PID exits or time runs out.
_svc_wait_port() {
  local pid=$1 port=$2 n=$3 i
  for i in $(seq 1 "$n"); do
    kill -0 "$pid" 2>/dev/null || return 1
    _svc_port_free "$port" || return 0
    sleep 0.1
  done
  return 1
}
