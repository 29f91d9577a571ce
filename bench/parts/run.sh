# shellcheck shell=bash
# The fixed cost of `dstack-secrets run` (issue 15's target: `run --
# /bin/true` at 10 secrets within 2.5x of `env /bin/true`), side by side in
# one hyperfine run, as a markdown section the report appends.
#
# Sourced by bench/run, with $res and $bin defined (and its dstack-secrets
# build in $bin). Run alone, it builds what it needs and prints the section:
#
#   bash bench/parts/run.sh                 # 300 runs of each command
#   RUN_HF_RUNS=50 bash bench/parts/run.sh
#
# Every command runs without a shell (hyperfine -N) with its standard output
# and error on pipes (--output=pipe), as in a pipeline or a CI log: run then
# masks the command's output through its filter. The store is the file
# backend's, with 10 secrets of 40 bytes, in a git repository. Beside them:
# the no-op Go process, and execfloor (bench/execfloor), a Go program that
# only starts the command with its output through copied pipes, forwards
# signals and waits: what any Go program doing run's job pays on top of the
# command itself.
(
  set -euo pipefail
  runs=${RUN_HF_RUNS:-300}
  [ -n "${BENCH_QUICK:-}" ] && runs=20
  standalone=""
  if [ -z "${res:-}" ]; then
    standalone=1
    tmp=$(mktemp -d /tmp/dstack-secrets-bench-run.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    res="$tmp/results" bin="$tmp/bin"
    mkdir -p "$res" "$bin"
    go build -o "$bin/dstack-secrets" ./cmd/dstack-secrets
    go build -o "$bin/scale" ./bench/scale
  fi
  rw=$(mktemp -d /tmp/dstack-secrets-bench-run-store.XXXXXX)
  trap 'rm -rf "$rw" ${tmp:+"$tmp"}' EXIT
  if [ ! -x "$bin/go-noop" ]; then
    printf 'package main\n\nfunc main() {}\n' > "$rw/noop.go"
    go build -o "$bin/go-noop" "$rw/noop.go"
  fi
  go build -o "$bin/execfloor" ./bench/execfloor
  ds="$bin/dstack-secrets"
  mkdir -p "$rw/home" "$rw/repo/.git"
  printf 'ref: refs/heads/main\n' > "$rw/repo/.git/HEAD"
  printf '[remote "origin"]\n\turl = git@github.com:bench/repo.git\n' > "$rw/repo/.git/config"
  "$bin/scale" -seed-only -dir "$rw/home/.dstack/secrets" -project default -repo github.com/bench/repo -n 10
  # The secrets reach the command, and its output is masked.
  got=$(cd "$rw/repo" && HOME="$rw/home" "$ds" run -- sh -c 'echo "$SECRET_000005"')
  test "$got" = "***"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  (cd "$rw/repo" && HOME="$rw/home" hyperfine -N --style none --output=pipe --warmup 20 --runs "$runs" \
    --export-json "$res/run.json" \
    -n "env /bin/true" "env /bin/true" \
    -n "no-op Go process" "$bin/go-noop" \
    -n "Go exec floor (execfloor /bin/true)" "$bin/execfloor /bin/true" \
    -n "dstack-secrets list" "$ds list" \
    -n "dstack-secrets run -- /bin/true" "$ds run -- /bin/true" \
    -n "dstack-secrets run --no-mask -- /bin/true" "$ds run --no-mask -- /bin/true" >&2)
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  {
    echo "## Fixed cost of \`run\` (10 secrets)"
    echo
    echo "Whole processes, run by hyperfine without a shell ($runs runs each, output on pipes) in a git repository"
    echo "whose file-backend store holds 10 secrets; load average $load before, $load_after after."
    echo "\`execfloor\` ([bench/execfloor](bench/execfloor/main.go)) is a Go program that only starts the command"
    echo "with its output through copied pipes, forwards signals and waits."
    echo
    echo "| command | median | mean ± σ | user | system | vs \`env /bin/true\` |"
    echo "|---|---:|---:|---:|---:|---:|"
    jq -r '
      def ms: . * 1000 | if . >= 10 then (. * 10 | round / 10 | tostring) else (. * 100 | round / 100 | tostring) end + " ms";
      (.results[] | select(.command == "env /bin/true") | .median) as $env
      | .results[]
      | "| `\(.command)` | \(.median | ms) | \(.mean | ms) ± \(.stddev | ms) | \(.user | ms) | \(.system | ms) | \(.median / $env * 100 | round / 100)x |"' "$res/run.json"
    echo
    jq -r '
      (.results | map({key: .command, value: .median}) | from_entries) as $m
      | ($m["dstack-secrets run -- /bin/true"] / $m["env /bin/true"]) as $x
      | "- Target: `run -- /bin/true` at 10 secrets within 2.5x of `env /bin/true`: **\(if $x <= 2.5 then "met" else "not met" end)** (\($x * 100 | round / 100)x).",
        "- `run` over `list` (what run adds once the secrets are read): \(($m["dstack-secrets run -- /bin/true"] - $m["dstack-secrets list"]) * 1e5 | round / 100) ms; the Go exec floor over the no-op Go process: \(($m["Go exec floor (execfloor /bin/true)"] - $m["no-op Go process"]) * 1e5 | round / 100) ms; masking (`run` over `run --no-mask`): \(($m["dstack-secrets run -- /bin/true"] - $m["dstack-secrets run --no-mask -- /bin/true"]) * 1e5 | round / 100) ms."' "$res/run.json"
  } > "$res/section-run.md"
  if [ -n "$standalone" ]; then cat "$res/section-run.md"; fi
) || echo "run benchmark failed" >&2
