# shellcheck shell=bash
# The fixed cost of `dstack-secrets run` (issue 15's target: `run --
# /bin/true` at 10 secrets within 2.5x of `env /bin/true`), side by side in
# one hyperfine run, as a markdown section the report appends.
#
# Sourced by bench/run, with $res and $bin defined (and its dstack-secrets
# build in $bin). Run alone, it builds what it needs and prints the section:
#
#   bash bench/parts/run.sh                 # 300 runs of each command, in 5 rounds
#   RUN_HF_RUNS=50 RUN_HF_ROUNDS=2 bash bench/parts/run.sh
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
  # Load from elsewhere drifts during a run, and hyperfine measures one
  # command after the other: the commands take turns in rounds of
  # runs/rounds runs each, and the ratios are the medians of the rounds'.
  rounds=${RUN_HF_ROUNDS:-5}
  per=$(( (runs + rounds - 1) / rounds ))
  for r in $(seq "$rounds"); do
    (cd "$rw/repo" && HOME="$rw/home" hyperfine -N --style none --output=pipe --warmup 10 --runs "$per" \
      --export-json "$res/run-$r.json" \
      -n "env /bin/true" "env /bin/true" \
      -n "no-op Go process" "$bin/go-noop" \
      -n "Go exec floor (execfloor /bin/true)" "$bin/execfloor /bin/true" \
      -n "dstack-secrets list" "$ds list" \
      -n "dstack-secrets run -- /bin/true" "$ds run -- /bin/true" \
      -n "dstack-secrets run --no-mask -- /bin/true" "$ds run --no-mask -- /bin/true" >&2)
  done
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  # One summary: per command, the median of the rounds' medians (and of
  # their means, deviations, user and system times), and the median of the
  # rounds' ratios to env /bin/true.
  jq -s '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    (map(.results | map({key: .command, value: .median}) | from_entries)) as $rounds
    | {rounds: length, results: [.[0].results[].command as $c | {
        command: $c,
        median: (map(.results[] | select(.command == $c) | .median) | median),
        mean: (map(.results[] | select(.command == $c) | .mean) | median),
        stddev: (map(.results[] | select(.command == $c) | .stddev) | median),
        user: (map(.results[] | select(.command == $c) | .user) | median),
        system: (map(.results[] | select(.command == $c) | .system) | median),
        ratio: ($rounds | map(.[$c] / .["env /bin/true"]) | median),
        over_list: ($rounds | map(.[$c] - .["dstack-secrets list"]) | median),
        over_noop: ($rounds | map(.[$c] - .["no-op Go process"]) | median),
        over_nomask: ($rounds | map(.[$c] - .["dstack-secrets run --no-mask -- /bin/true"]) | median)
      }]}' "$res"/run-[0-9]*.json > "$res/run.json"
  rm -f "$res"/run-[0-9]*.json
  {
    echo "## Fixed cost of \`run\` (10 secrets)"
    echo
    echo "Whole processes, run by hyperfine without a shell in a git repository whose file-backend store holds"
    echo "10 secrets, with the output on pipes; the commands take turns in $rounds rounds of $per runs each, and the"
    echo "table shows the medians of the rounds' medians and ratios (load average $load before, $load_after after)."
    echo "\`execfloor\` ([bench/execfloor](bench/execfloor/main.go)) is a Go program that only starts the command"
    echo "with its output through copied pipes, forwards signals and waits."
    echo
    echo "| command | median | mean ± σ | user | system | vs \`env /bin/true\` |"
    echo "|---|---:|---:|---:|---:|---:|"
    jq -r '
      def ms: . * 1000 | if . >= 10 then (. * 10 | round / 10 | tostring) else (. * 100 | round / 100 | tostring) end + " ms";
      .results[]
      | "| `\(.command)` | \(.median | ms) | \(.mean | ms) ± \(.stddev | ms) | \(.user | ms) | \(.system | ms) | \(.ratio * 100 | round / 100)x |"' "$res/run.json"
    echo
    jq -r '
      (.results | map({key: .command, value: .}) | from_entries) as $m
      | $m["dstack-secrets run -- /bin/true"] as $run
      | def ms: . * 1e5 | round / 100 | tostring + " ms";
      "- Target: `run -- /bin/true` at 10 secrets within 2.5x of `env /bin/true`: **\(if $run.ratio <= 2.5 then "met" else "not met" end)** (\($run.ratio * 100 | round / 100)x).",
      "- What `run` adds over `list` (once the secrets are read): \($run.over_list | ms); what the Go exec floor adds over the no-op Go process: \($m["Go exec floor (execfloor /bin/true)"].over_noop | ms); masking (`run` over `run --no-mask`): \($run.over_nomask | ms)."' "$res/run.json"
  } > "$res/section-run.md"
  if [ -n "$standalone" ]; then cat "$res/section-run.md"; fi
) || echo "run benchmark failed" >&2
