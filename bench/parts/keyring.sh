# shellcheck shell=bash
# Keyring section of bench/run (sourced by it, with $res and $count set):
# starts the real keychains with scripts/services/keychains.sh and
# benchmarks the keyring backend on each. Runs in a subshell that stops
# them on exit.
(
  set -euo pipefail
  # shellcheck source=/dev/null
  source scripts/services/keychains.sh
  trap 'keychains_stop' EXIT
  keychains_install >&2
  keychains_start >&2
  go test -run '^$' -bench '^BenchmarkKeyring$' -benchmem -count "$count" ./bench/ | tee "$res/keyring.txt" | grep -E '^Benchmark' >&2 || true
  benchstat -col /op "$res/keyring.txt" > "$res/keyring.benchstat.txt" || true
) || echo "keyring section failed (see above)" >&2
