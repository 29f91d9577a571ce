# shellcheck shell=bash
# Vault section of bench/run (sourced by it, with $work, $res, $bin, $count,
# $hf_runs and step defined). Starts a Vault dev server with
# scripts/services/vault.sh, benchmarks the backend's list, get and read-all
# in both layouts against one read, and times `dstack-secrets add` (layout
# entry and layout bundle) against `vault kv put`.
# Runs in a subshell that stops the server on exit.
(
  set -euo pipefail
  # shellcheck source=/dev/null
  source scripts/services/vault.sh
  export DSTACK_SECRETS_TEST_VAULT_CLUSTER=0 # one dev server is enough here
  trap 'vault_stop' EXIT
  vault_install >&2
  vault_start >&2
  export DSTACK_SECRETS_BENCH_VAULT_PID="$VAULT_TEST_PID"
  go test -run '^$' -bench '^BenchmarkVault' -benchmem -count "$count" ./bench/ | tee "$res/vault.txt" | grep -E '^Benchmark' >&2 || true
  benchstat -col /op "$res/vault.txt" > "$res/vault.benchstat.txt" || true

  # CLI add against vault kv put, both writing one secret of the same path.
  vdir="$work/vault-cli"
  mkdir -p "$vdir/repo/.git"
  printf 'ref: refs/heads/main\n' > "$vdir/repo/.git/HEAD"
  printf '[remote "origin"]\n\turl = git@github.com:bench/repo.git\n' > "$vdir/repo/.git/config"
  printf 'default_project: team\nprojects:\n  team:\n    backend: vault\n    options:\n      mount: secret\n      prefix: cli\n  bundle:\n    backend: vault\n    options:\n      mount: secret\n      prefix: cli-bundle\n      layout: bundle\n' > "$vdir/secrets.yml"
  export VAULT_ADDR="$DSTACK_SECRETS_TEST_VAULT_ADDR" VAULT_TOKEN="$DSTACK_SECRETS_TEST_VAULT_TOKEN"
  vbin="$DSTACK_SECRETS_TEST_VAULT_BIN"
  # Both repositories hold 100 secrets besides the one added, as a
  # repository would.
  for i in $(seq 0 99); do printf 'SECRET_%03d=tok_%036d\n' "$i" "$i"; done > "$vdir/hundred.env"
  if (cd "$vdir/repo" && HOME="$vdir" "$bin/dstack-secrets" --config "$vdir/secrets.yml" add -y CLI_TOKEN value >/dev/null 2>&1) &&
    (cd "$vdir/repo" && HOME="$vdir" "$bin/dstack-secrets" --config "$vdir/secrets.yml" import -y "$vdir/hundred.env" >/dev/null 2>&1) &&
    (cd "$vdir/repo" && HOME="$vdir" "$bin/dstack-secrets" --config "$vdir/secrets.yml" --project bundle import -y "$vdir/hundred.env" >/dev/null 2>&1); then
    # Whole commands: run with 100 secrets in either layout against reading
    # one secret (get, and vault kv get).
    (cd "$vdir/repo" && HOME="$vdir" hyperfine -N --style none --warmup 3 --runs "$hf_runs" --export-json "$res/vault-cli-read.json" \
      -n "dstack-secrets get (one secret, layout entry)" "$bin/dstack-secrets --config $vdir/secrets.yml get SECRET_050" \
      -n "dstack-secrets run (101 secrets, layout entry)" "$bin/dstack-secrets --config $vdir/secrets.yml run -- /bin/true" \
      -n "dstack-secrets run (101 secrets, layout bundle)" "$bin/dstack-secrets --config $vdir/secrets.yml --project bundle run -- /bin/true" \
      -n "vault kv get (one secret)" "$vbin kv get -mount=secret cli/team/github.com/bench/repo/SECRET_050" >&2)
    (cd "$vdir/repo" && HOME="$vdir" hyperfine -N --style none --warmup 3 --runs "$hf_runs" --export-json "$res/vault-cli.json" \
      -n "dstack-secrets add -y (vault backend)" "$bin/dstack-secrets --config $vdir/secrets.yml add -y CLI_TOKEN value" \
      -n "dstack-secrets add -y (vault backend, layout bundle)" "$bin/dstack-secrets --config $vdir/secrets.yml --project bundle add -y CLI_TOKEN value" \
      -n "vault kv put" "$vbin kv put -mount=secret cli/team/github.com/bench/repo/CLI_TOKEN value=value" \
      -n "vault kv get" "$vbin kv get -mount=secret cli/team/github.com/bench/repo/CLI_TOKEN" >&2)
  else
    echo "the CLI cannot use the vault backend yet (not registered in backends.Registry): skipping CLI add vs vault kv put" >&2
    echo "not registered" > "$res/vault-cli.skipped"
  fi
) || echo "vault section failed (see above)" >&2
