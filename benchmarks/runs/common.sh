# Sourced by the run scripts beside it (from the repository root): where the data, the adhere
# command and the shared response cache are, and the evaluation the follow-up runs all report.
shared=${ADHERE_SHARED:-../shared}
export NLTK_DATA=${NLTK_DATA:-$shared/data/nltk_data}
ifeval=$shared/data/ifeval/input_data.jsonl
ifbench=$shared/data/ifbench/IFBench_test.jsonl
adhere=.venv/bin/adhere
# One response cache for every run, so a base evaluation or a sampling is paid for once.
cache=(--cache runs/measure/cache.sqlite)
mkdir -p runs/measure

# eval_all MODEL DIR BENCHMARK...: MODEL on every prompt of each benchmark (ifeval: 541, ifbench:
# 300; greedy, 256 tokens), as the issue 6 target measures, into DIR/BENCHMARK-all.
eval_all() {
  local model=$1 dir=$2 benchmark data
  shift 2
  for benchmark in "$@"; do
    case $benchmark in ifeval) data=$ifeval ;; ifbench) data=$ifbench ;; *) echo "eval_all: unknown benchmark '$benchmark'" >&2; return 2 ;; esac
    $adhere eval "$benchmark" --model "$model" --data "$data" --max-tokens 256 --out "$dir/$benchmark-all" "${cache[@]}"
  done
}

# eval200 MODEL DIR: MODEL on the first 200 prompts of IFEval and of IFBench (greedy, 256 tokens),
# into DIR/ifeval and DIR/ifbench.
eval200() {
  $adhere eval ifeval --model "$1" --data "$ifeval" --limit 200 --max-tokens 256 --out "$2/ifeval" "${cache[@]}"
  $adhere eval ifbench --model "$1" --data "$ifbench" --limit 200 --max-tokens 256 --out "$2/ifbench" "${cache[@]}"
}
