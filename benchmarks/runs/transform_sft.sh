#!/bin/bash
# Issue 6: can a stronger SFT teach the whole-answer transforms (all lowercase, all capitals, repeating
# the request) that one epoch of LoRA SFT at 2e-4 did not (benchmarks/runs/pilot_dpo.sh transform)?
# Needs no earlier run. Each step skips what it already wrote, so rerun a step to resume it.
#
# Usage: bash benchmarks/runs/transform_sft.sh STEP   (from the repository root, after `make test`)
#
#   base   the base model on the first 200 prompts of IFEval and IFBench (greedy, 256 tokens), as
#          the pilots measure, and on the probes (below): runs/tsft/base
#   data   300 prompts from adhere synth --seed 11 --weight ID=6 for the three ids (the transform
#          pilot's prompts), answered greedily by the base model, made into SFT rows and pairs with
#          --repair --end-cut-off; and the probes: 20 prompts per id that each require it
#          (--seed 101), decontaminated against IFEval, IFBench and the training prompts. They
#          phrase the instruction as training does, so a model that fails them did not learn the
#          transform at all, and one that passes them but not IFEval learnt only that phrasing.
#   broad  rows for every id beside them (run data first): 400 more prompts from adhere synth --seed
#          12 with no weights (any IFEval id), decontaminated as above and against the data step's
#          prompts, answered and made into rows the same way; data/sft-mix.jsonl and
#          data/pairs-mix.jsonl are the data step's rows followed by these
#   wide   more rows for every id (run broad first): 400 more prompts from adhere synth --seed 13
#          with no weights, decontaminated against IFEval and IFBench only (the training prompts
#          are not test data: checking against them only threw away prompts that shared a task
#          sentence), answered and made into rows the same way; data/sft-wide-mix.jsonl and
#          data/pairs-wide-mix.jsonl are the mixed rows followed by these
#   round2 a second round of the loop (run mix-wide first): 400 more prompts from adhere synth
#          --seed 14 with no weights, decontaminated as wide's, answered greedily by the mix-wide
#          model instead of the base model and made into rows the same way;
#          data/sft-round2-mix.jsonl and data/pairs-round2-mix.jsonl are the wide-mix rows
#          followed by these
#   NAME   train, export and evaluate one configuration:
#            lora-hi   LoRA SFT at 1e-3 for 3 epochs on the data step's rows
#            full      full SFT at 5e-5 for 3 epochs on them
#            mix       LoRA SFT at 1e-3 for 3 epochs on the mixed rows (run broad first)
#            mix-wide  the same on the wide-mix rows (run wide first)
#            mix-round2  the same, from the base model, on the round2-mix rows (run round2 first)
#            round2-sft  the same from the mix-wide model, on the round2 step's rows only (run
#                      round2 first): the loop's second round trains the first round's model
#            NAME+dpo  DPO at 3e-4 for 1 epoch from NAME's model on the pairs NAME's rows came with
#                      (run NAME first)
#          then compare: adhere report runs/tsft/base/ifeval runs/tsft/NAME/ifeval
#          NO_EVAL=1 trains and exports only.
#   all NAME BENCHMARK...  NAME (base or a trained one) on every prompt of each benchmark (ifeval,
#          ifbench), as the issue 6 target measures: runs/tsft/NAME/BENCHMARK-all
#
# PHRASING=varied words the training prompts' instructions with adhere synth --phrasing varied (the
# same tasks and constraints) and puts every step under runs/tsft-varied; the probes stay canonical.
set -euo pipefail
step=${1:?usage: bash benchmarks/runs/transform_sft.sh base|data|broad|wide|round2|lora-hi|full|mix|mix-wide|mix-round2|round2-sft|NAME+dpo|all}
source benchmarks/runs/common.sh
phrasing=${PHRASING:-canonical}
case $phrasing in
  canonical) root=runs/tsft ;;
  varied) root=runs/tsft-varied ;;
  *) echo "transform_sft.sh: PHRASING must be canonical or varied, got '$phrasing'" >&2; exit 2 ;;
esac
ids=(change_case:english_lowercase change_case:english_capital combination:repeat_prompt)
mkdir -p "$root"
# evaluate MODEL DIR: the first 200 prompts of each benchmark and every probe (NO_EVAL=1: none).
evaluate() {
  [ "${NO_EVAL:-0}" = 1 ] && return
  eval200 "$1" "$2"
  for id in "${ids[@]}"; do
    $adhere eval ifeval --model "$1" --data "$root/data/probe-${id#*:}.jsonl" --max-tokens 256 \
      --out "$2/probe-${id#*:}" "${cache[@]}"
  done
}
# trained NAME: model=gguf:PATH of configuration NAME's exported model, or stop if NAME has not been
# trained yet.
trained() {
  [ -f "$root/$1/model.gguf" ] || { echo "transform_sft.sh: run '$1' first" >&2; exit 2; }
  model=gguf:$root/$1/model.gguf
}
# rows_of NAME: the rows configuration NAME trains on: data/sft$suffix.jsonl and
# data/pairs$suffix.jsonl, made by the step $need.
rows_of() {
  case $1 in
    mix-wide*) need=wide suffix=-wide-mix ;;
    mix-round2*) need=round2 suffix=-round2-mix ;;
    round2-sft*) need=round2 suffix=-round2 ;;
    mix*) need=broad suffix=-mix ;;
    *) need=data suffix= ;;
  esac
}
# more_rows NAME SEED FROM TO MODEL [FILE...]: 400 more prompts from adhere synth --seed SEED with
# no weights, decontaminated against IFEval, IFBench and each FILE, answered greedily by MODEL
# and made into rows (data/sft-NAME.jsonl, data/pairs-NAME.jsonl) as the data step's are;
# data/sft$TO.jsonl is data/sft$FROM.jsonl followed by them, and the same for pairs.
more_rows() {
  local name=$1 seed=$2 from=$3 to=$4 model=$5 d=$root/data file kind
  shift 5
  local decontaminate=(--decontaminate "$ifeval" --decontaminate "$ifbench")
  for file in "$@"; do decontaminate+=(--decontaminate "$file"); done
  [ -f "$d/prompts-$name.jsonl" ] || $adhere synth --count 400 --seed "$seed" --phrasing "$phrasing" \
    --out "$d/prompts-$name.jsonl" "${decontaminate[@]}"
  $adhere eval ifeval --data "$d/prompts-$name.jsonl" --model "$model" --max-tokens 256 --out "$d/samples-$name" "${cache[@]}"
  for kind in sft pairs; do
    [ -f "$d/$kind-$name.jsonl" ] || $adhere make-$kind "$d/samples-$name" --out "$d/$kind-$name.jsonl" --repair --end-cut-off
    cat "$d/$kind$from.jsonl" "$d/$kind-$name.jsonl" > "$d/$kind$to.jsonl"
  done
  wc -l "$d"/sft-*.jsonl "$d"/pairs-*.jsonl
}
case $step in
  base)
    [ -f "$root/data/probe-repeat_prompt.jsonl" ] || { echo "transform_sft.sh: run the data step first" >&2; exit 2; }
    evaluate local "$root/base"
    ;;
  data)
    d=$root/data
    mkdir -p "$d"
    weights=()
    for id in "${ids[@]}"; do weights+=(--weight "$id=6"); done
    [ -f "$d/prompts.jsonl" ] || $adhere synth --count 300 --seed 11 "${weights[@]}" --phrasing "$phrasing" --out "$d/prompts.jsonl" \
      --decontaminate "$ifeval" --decontaminate "$ifbench"
    for id in "${ids[@]}"; do
      probe=$d/probe-${id#*:}.jsonl
      [ -f "$probe" ] || $adhere synth --count 20 --seed 101 --require "$id" --out "$probe" \
        --decontaminate "$ifeval" --decontaminate "$ifbench" --decontaminate "$d/prompts.jsonl"
    done
    $adhere eval ifeval --data "$d/prompts.jsonl" --model local --max-tokens 256 --out "$d/samples" "${cache[@]}"
    for kind in sft pairs; do
      [ -f "$d/$kind.jsonl" ] || $adhere make-$kind "$d/samples" --out "$d/$kind.jsonl" --repair --end-cut-off
    done
    ;;
  broad)
    d=$root/data
    [ -f "$d/sft.jsonl" ] && [ -f "$d/pairs.jsonl" ] || { echo "transform_sft.sh: run the data step first" >&2; exit 2; }
    more_rows broad 12 "" -mix local "$d/prompts.jsonl"
    ;;
  wide)
    d=$root/data
    [ -f "$d/sft-mix.jsonl" ] && [ -f "$d/pairs-mix.jsonl" ] || { echo "transform_sft.sh: run the broad step first" >&2; exit 2; }
    more_rows wide 13 -mix -wide-mix local
    ;;
  round2)
    d=$root/data
    [ -f "$d/sft-wide-mix.jsonl" ] || { echo "transform_sft.sh: run the wide step first" >&2; exit 2; }
    trained mix-wide
    more_rows round2 14 -wide-mix -round2-mix "$model"
    ;;
  lora-hi|full|mix|mix-wide|mix-round2|round2-sft)
    out=$root/$step
    extra=(--learning-rate 1e-3)
    from=local
    [ "$step" = full ] && extra=(--full --learning-rate 5e-5)
    if [ "$step" = round2-sft ]; then
      trained mix-wide
      from=$model
    fi
    rows_of "$step"
    rows=$root/data/sft$suffix.jsonl
    [ -f "$rows" ] || { echo "transform_sft.sh: run the $need step first" >&2; exit 2; }
    [ -f "$out/model.gguf" ] || {
      $adhere train sft "$rows" --model "$from" --out "$out/train" --epochs 3 --max-length 768 \
        --save-steps 25 "${extra[@]}"
      $adhere export "$out/train" --out "$out/model.gguf" --type q8_0
    }
    evaluate "gguf:$out/model.gguf" "$out"
    ;;
  *+dpo)
    out=$root/$step
    rows_of "${step%+dpo}"
    pairs=$root/data/pairs$suffix.jsonl
    trained "${step%+dpo}"
    [ -f "$out/model.gguf" ] || {
      $adhere train dpo "$pairs" --model "$model" --out "$out/train" \
        --learning-rate 3e-4 --epochs 1 --max-length 768 --save-steps 25
      $adhere export "$out/train" --out "$out/model.gguf" --type q8_0
    }
    evaluate "gguf:$out/model.gguf" "$out"
    ;;
  all)
    name=${2:?usage: bash benchmarks/runs/transform_sft.sh all NAME ifeval|ifbench...}
    model=local
    [ "$name" = base ] || trained "$name"
    eval_all "$model" "$root/$name" "${@:3}"
    ;;
  *) echo "transform_sft.sh: unknown step '$step'; use base, data, broad, wide, round2, lora-hi, full, mix, mix-wide, mix-round2, round2-sft, NAME+dpo or all" >&2; exit 2 ;;
esac
