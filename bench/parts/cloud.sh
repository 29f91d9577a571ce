# shellcheck shell=bash
# Cloud section of bench/run (sourced by it, with $res and $count defined):
# starts the S3, Azure Blob and GCS test servers and Vault (for KMS mode and
# the comparison with Vault's read-all), runs the cloud benchmarks of
# bench/cloud_test.go (GetAll of 100 secrets against one raw GET of the same
# object with the same SDK, Set against one GET plus one conditional PUT)
# and writes them as a markdown section the report appends.
(
  set -euo pipefail
  for svc in vault s3 azurite gcs; do
    # shellcheck source=/dev/null
    source "scripts/services/$svc.sh"
  done
  export DSTACK_SECRETS_TEST_VAULT_CLUSTER=0
  trap 'for s in gcs azurite s3 vault; do "${s}_stop" || true; done' EXIT
  for svc in vault s3 azurite gcs; do "${svc}_install" >&2; "${svc}_start" >&2; done
  go test -run '^$' -bench '^BenchmarkCloud' -benchmem -count "$count" ./bench/ | tee "$res/cloud.txt" | grep -E '^Benchmark' >&2 || true
  {
    echo "## Cloud backend: raw benchstat output (S3 on versitygw, Azure Blob on Azurite, GCS on fake-gcs-server)"
    echo
    echo "Medians of $count runs (\`go test -bench BenchmarkCloud ./bench/\`); the raw floor is the same SDK doing"
    echo "one GET (and one conditional PUT) of the same object; ratios are to that floor in the same run."
    echo "The summary is the section \"Cloud backend vs one GET of its object\" above."
    echo
    echo '```'
    benchstat -col /op "$res/cloud.txt" 2>/dev/null || grep -E '^Benchmark' "$res/cloud.txt"
    echo '```'
  } > "$res/section-cloud.md"
)
