#!/bin/bash
# The issue 6 target runs of `adhere loop` on the bundled model, as docs/experiments.md reports them.
#
# Usage: bash benchmarks/runs/loop.sh NAME   (from the repository root, after `make demo` or `make test`)
#
#   loop1  1,000 synthesized prompts, best-of-n:2, 256 tokens, 2 epochs of LoRA SFT, cut-off answers kept
#   loop2  loop1 with --repair and 1 epoch
#   loop3  loop2 with 3 epochs
#   loop4  loop3 with cut-off answers left out (the default since)
#   loop5  loop2 with cut-off answers left out
#   loop6  loop5 with 2 epochs
#   pilot  300 prompts, best-of-n:2+greedy (the greedy answer kept, so pairs can reject it), --repair,
#          1 epoch of LoRA SFT then 1 of LoRA DPO on the SFT-trained model; evaluated on the first
#          200 prompts of each benchmark only (a pilot, not the target's measurement)
#
# Every run writes runs/NAME (the loop's folder, with report.html and loop.json) and appends its
# wall time to runs/NAME.walls. All of them share one response cache (runs/measure/cache.sqlite), so
# the base evaluation and the sampling are replayed after the first run: only training, export and
# the trained model's evaluation cost time then (about 80 minutes for loop5 on 2 cores; the first
# run from nothing about 3 hours; the pilot from nothing about 2 hours). A killed run resumes when the
# same command is run again.
set -euo pipefail
name=${1:?usage: bash benchmarks/runs/loop.sh loop1|loop2|loop3|loop4|loop5|loop6|pilot}
full=(--prompts 1000 --strategy best-of-n:2)
case $name in
  loop1) flags=("${full[@]}" --epochs 2 --keep-cut-off) ;;
  loop2) flags=("${full[@]}" --repair --epochs 1 --keep-cut-off) ;;
  loop3) flags=("${full[@]}" --repair --epochs 3 --keep-cut-off) ;;
  loop4) flags=("${full[@]}" --repair --epochs 3) ;;
  loop5) flags=("${full[@]}" --repair --epochs 1) ;;
  loop6) flags=("${full[@]}" --repair --epochs 2) ;;
  pilot) flags=(--prompts 300 --strategy best-of-n:2+greedy --train sft+dpo --repair --epochs 1 --eval-limit 200) ;;
  *) echo "benchmarks/runs/loop.sh: unknown run '$name'; use loop1 to loop6 or pilot" >&2; exit 2 ;;
esac
source benchmarks/runs/common.sh
start=$(date +%s)
status=0
$adhere loop --out "runs/$name" --model local --max-tokens 256 \
  "${flags[@]}" "${cache[@]}" \
  --ifeval-data "$ifeval" --ifbench-data "$ifbench" || status=$?
echo "loop rc=$status wall $(( $(date +%s) - start ))" >> "runs/$name.walls"
exit $status
