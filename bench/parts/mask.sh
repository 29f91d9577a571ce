# shellcheck shell=bash
# Masking section of bench/run (sourced by it, with $res defined): the
# throughput of run's output filter side by side with cat, in one run
# (bench/mask/run), written as a markdown section the report appends.
MASK_RUNS=${MASK_RUNS:-7} bench/mask/run > "$res/section-masking.md" || echo "masking benchmark failed" >&2
