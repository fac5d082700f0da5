#!/bin/bash
# The strategy table of docs/experiments.md: the same first 200 IFEval prompts, greedy and with decrim:3,
# best-of-n:8 and best-of-n:4, 256 tokens, on the bundled model. Writes runs/measure/<strategy>
# and appends each wall time to runs/measure/walls.txt; the cache makes best-of-n:4 after
# best-of-n:8 free.
#
# Usage: bash benchmarks/runs/strategies.sh   (from the repository root)
set -euo pipefail
source benchmarks/runs/common.sh
for spec in greedy decrim:3 best-of-n:8 best-of-n:4; do
  start=$(date +%s)
  args=(ifeval --model local --data "$ifeval" --limit 200 --max-tokens 256
        "${cache[@]}" --out "runs/measure/${spec//:/}")
  [ "$spec" = greedy ] || args+=(--strategy "$spec")
  $adhere eval "${args[@]}"
  echo "$spec wall $(( $(date +%s) - start ))" >> runs/measure/walls.txt
done
