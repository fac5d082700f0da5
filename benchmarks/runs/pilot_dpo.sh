#!/bin/bash
# Follow-ups to the issue 6 pilot (bash benchmarks/runs/loop.sh pilot), on its samples and models,
# as docs/experiments.md reports them. Each one trains, exports a q8_0 GGUF and evaluates it on the first
# 200 prompts of IFEval and IFBench (greedy, 256 tokens), like the pilot; compare with
#   adhere report runs/pilot/base/ifeval runs/pilot-NAME/ifeval
#
# Usage: bash benchmarks/runs/pilot_dpo.sh NAME   (from the repository root, after the pilot)
#
#   dpo-hi  the pilot's own pairs and SFT model, DPO at learning rate 5e-4 for 2 epochs (the pilot:
#           5e-5, 1 epoch). About 35 min of training and 22 min of evaluation on 2 cores.
#   ended   data made again from the pilot's samples with --repair --end-cut-off, plus 60 prompts
#           that ask to repeat the request (adhere synth --seed 7 --require combination:repeat_prompt,
#           answered greedily; the pilot's synth could not write them); LoRA SFT (1 epoch) from the
#           base model, then DPO at 3e-4 (1 epoch) from that. About 12 + 25 min of training.
#   transform  ended's data plus 300 prompts weighted towards the ids that need a whole-answer
#           transform, where ended gained nothing (adhere synth --seed 11 --weight ID=6 for
#           lowercase, capitals and repeating the request), answered greedily by the base model and
#           made into rows and pairs the same way; then SFT and DPO as in ended. Run ended first.
#           About 15-20 min of sampling, 15 + 36 min of training and 7 min of evaluation alone.
set -euo pipefail
name=${1:?usage: bash benchmarks/runs/pilot_dpo.sh dpo-hi|ended|transform}
case $name in dpo-hi|ended|transform) ;; *) echo "benchmarks/runs/pilot_dpo.sh: unknown run '$name'; use dpo-hi, ended or transform" >&2; exit 2 ;; esac
source benchmarks/runs/common.sh
pilot=runs/pilot/round-1
out=runs/pilot-$name
[ -f "$pilot/pairs.jsonl" ] || { echo "benchmarks/runs/pilot_dpo.sh: run the pilot first (bash benchmarks/runs/loop.sh pilot)" >&2; exit 2; }
mkdir -p "$out"
# more_data DIR BEFORE SYNTH_OPTION...: synthesize prompts into DIR (decontaminated), answer them
# greedily with the base model, make SFT rows and pairs of them, and write BEFORE's rows with them
# as $out/sft.jsonl and $out/pairs.jsonl.
more_data() {
    local dir=$1 before=$2
    shift 2
    $adhere synth "$@" --out "$dir/prompts.jsonl" --decontaminate "$ifeval" --decontaminate "$ifbench"
    $adhere eval ifeval --data "$dir/prompts.jsonl" --model local --max-tokens 256 --out "$dir/samples" "${cache[@]}"
    for kind in sft pairs; do
      $adhere make-$kind "$dir/samples" --out "$dir/$kind.jsonl" --repair --end-cut-off
      cat "$before/$kind.jsonl" "$dir/$kind.jsonl" > "$out/$kind.jsonl"
    done
}
train_sft_then_dpo() {
    $adhere train sft "$out/sft.jsonl" --model local --out "$out/train-sft" --epochs 1 --max-length 768 --save-steps 25
    $adhere export "$out/train-sft" --out "$out/model-sft.gguf" --type q8_0
    $adhere train dpo "$out/pairs.jsonl" --model "gguf:$out/model-sft.gguf" --out "$out/train-dpo" \
      --learning-rate 3e-4 --epochs 1 --max-length 768 --save-steps 25
    $adhere export "$out/train-dpo" --out "$out/model.gguf" --type q8_0
}
case $name in
  dpo-hi)
    $adhere train dpo "$pilot/pairs.jsonl" --model "gguf:$pilot/model-sft.gguf" --out "$out/train-dpo" \
      --learning-rate 5e-4 --epochs 2 --max-length 768 --save-steps 25
    $adhere export "$out/train-dpo" --out "$out/model.gguf" --type q8_0
    ;;
  ended)
    for kind in sft pairs; do
      $adhere make-$kind "$pilot/samples" --out "$out/pilot/$kind.jsonl" --repair --end-cut-off
    done
    more_data "$out/repeat" "$out/pilot" --count 60 --seed 7 --require combination:repeat_prompt
    train_sft_then_dpo
    ;;
  transform)
    ended=runs/pilot-ended
    [ -f "$ended/pairs.jsonl" ] || { echo "benchmarks/runs/pilot_dpo.sh: run 'ended' first" >&2; exit 2; }
    more_data "$out/more" "$ended" --count 300 --seed 11 --weight change_case:english_lowercase=6 \
      --weight change_case:english_capital=6 --weight combination:repeat_prompt=6
    train_sft_then_dpo
    ;;
esac
eval200 "gguf:$out/model.gguf" "$out"
