#!/bin/bash
# What survives the trip back to llama.cpp: a loop's trained model as the merged q8_0 GGUF against
# the LoRA GGUF on the unchanged Q4_1 base, and the base itself, on the first 100 IFEval prompts
# (greedy, 256 tokens). Writes runs/lora_vs_q8/{q8,lora,base} and runs/lora_vs_q8/walls.txt.
#
# Usage: bash benchmarks/runs/lora_vs_q8.sh [LOOP]   (default loop2; run benchmarks/runs/loop.sh LOOP first)
set -euo pipefail
loop=${1:-loop2}
round=runs/$loop/round-1
[ -f "$round/model.gguf" ] || { echo "benchmarks/runs/lora_vs_q8.sh: $round/model.gguf is missing; run bash benchmarks/runs/loop.sh $loop first" >&2; exit 2; }
source benchmarks/runs/common.sh
mkdir -p runs/lora_vs_q8
$adhere export "$round/train-sft" --out "$round/adapter.gguf" --type lora
for spec in q8 lora base; do
  case $spec in
    q8) model=(--model "gguf:$round/model.gguf") ;;
    lora) model=(--model local --lora "$round/adapter.gguf") ;;
    base) model=(--model local) ;;
  esac
  start=$(date +%s)
  $adhere eval ifeval "${model[@]}" --data "$ifeval" --limit 100 \
    --max-tokens 256 "${cache[@]}" --out "runs/lora_vs_q8/$spec"
  echo "$spec wall $(( $(date +%s) - start ))" >> runs/lora_vs_q8/walls.txt
done
