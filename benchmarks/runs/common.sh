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

# bench MODEL OUT BENCHMARK [OPTION...]: MODEL on the local copy of BENCHMARK (ifeval or ifbench),
# greedy, 256 tokens, into OUT.
bench() {
  local model=$1 out=$2 benchmark=$3 data
  shift 3
  case $benchmark in ifeval) data=$ifeval ;; ifbench) data=$ifbench ;; *) echo "unknown benchmark '$benchmark'; use ifeval or ifbench" >&2; return 2 ;; esac
  $adhere eval "$benchmark" --model "$model" --data "$data" --max-tokens 256 --out "$out" "${cache[@]}" "$@"
}

# eval_all MODEL DIR BENCHMARK...: MODEL on every prompt of each benchmark (ifeval: 541, ifbench:
# 300), as the issue 6 target measures, into DIR/BENCHMARK-all.
eval_all() {
  local model=$1 dir=$2 benchmark
  shift 2
  for benchmark in "$@"; do bench "$model" "$dir/$benchmark-all" "$benchmark"; done
}

# eval200 MODEL DIR: MODEL on the first 200 prompts of IFEval and of IFBench, into DIR/ifeval and
# DIR/ifbench.
eval200() {
  bench "$1" "$2/ifeval" ifeval --limit 200
  bench "$1" "$2/ifbench" ifbench --limit 200
}
