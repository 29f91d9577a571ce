# shellcheck shell=bash
# Fixed cost of the CLI, a section of bench/run (sourced by it, with $work,
# $res, $bin and $hf_runs defined): whole processes that do the least a
# command does, side by side with a no-op Go program (func main() {}),
# by hyperfine without a shell:
#
#   - dstack-secrets list on an empty file-backend store, in a git
#     repository, with HOME a fresh directory: the cost every command pays
#     (process start, package initialisation, configuration, repository
#     detection, opening the store); the goal is at most 2x the no-op;
#   - dstack-secrets --version, the same without the store;
#   - dstack-secrets list on a keyring project with the encrypted-file
#     keychain (empty; no service needed): the same command through the
#     program of a backend that runs in its own process
#     (dstack-secrets-keyring, internal/plugin), for the cost of that
#     process.
#
# Writes $res/fixed.json (hyperfine) and $res/fixed-load.txt (the load
# average before and after: other work on the machine inflates the times).
(
  set -euo pipefail
  fx="$work/fixed"
  mkdir -p "$fx/home" "$fx/repo/.git"
  printf 'ref: refs/heads/main\n' > "$fx/repo/.git/HEAD"
  printf '[remote "origin"]\n\turl = git@github.com:bench/repo.git\n' > "$fx/repo/.git/config"
  printf 'projects:\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n      file_dir: %s\n' "$fx/keyring" > "$fx/keyring.yml"
  ds="$bin/dstack-secrets"
  test -x "$bin/go-noop" && test -x "$bin/dstack-secrets-keyring"
  (cd "$fx/repo" && HOME="$fx/home" "$ds" list >/dev/null)
  (cd "$fx/repo" && HOME="$fx/home" DSTACK_SECRETS_KEYRING_PASSWORD=bench "$ds" --config "$fx/keyring.yml" --project k list >/dev/null)
  echo "before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$res/fixed-load.txt"
  (cd "$fx/repo" && HOME="$fx/home" DSTACK_SECRETS_KEYRING_PASSWORD=bench \
    hyperfine -N --style none --warmup 20 --runs $((hf_runs * 10)) --export-json "$res/fixed.json" \
      -n "no-op Go process" "$bin/go-noop" \
      -n "dstack-secrets list (empty store)" "$ds list" \
      -n "dstack-secrets --version" "$ds --version" \
      -n "dstack-secrets list (keyring backend, in dstack-secrets-keyring)" "$ds --config $fx/keyring.yml --project k list" >&2)
  echo "after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$res/fixed-load.txt"
) || echo "fixed-cost section failed (see above)" >&2
