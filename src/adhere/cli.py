"""The ``adhere`` command: parse arguments, call the library, render. Nothing else lives here."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from adhere import __version__
from adhere.errors import AdhereError


def _executor_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--executor", default="local", choices=["local", "ray"],
                         help="where the work runs: here (default) or on Ray (extra 'ray'); the same outputs")  # fmt: skip
    command.add_argument("--ray-address", help="an existing Ray cluster (host:port or ray://host:10001); "
                         "default: a local Ray runtime")  # fmt: skip
    command.add_argument("--ray-workers", type=int, help="Ray workers (model copies); default: one per CPU")


def _executor(args: argparse.Namespace) -> Any:
    from adhere.bench.distributed import executor_from_args

    return executor_from_args(args.executor, args.ray_address, args.ray_workers)


def _model_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("-M", "--model-option", action="append", default=[], metavar="KEY=VALUE", dest="model_options",
                         help="an option of the model's backend, e.g. -M base_url=http://127.0.0.1:8000/v1 (openai), "
                         "-M n_parallel=1 (local, gguf), -M batch_size=32 (hf), -M tensor_parallel_size=2 (vllm); "
                         "repeatable; docs/cli.md lists them")  # fmt: skip


def model_options(spec: str, given: Sequence[str]) -> dict[str, Any]:
    """``-M KEY=VALUE`` options, checked by the backend ``spec`` names (values read as TOML)."""
    from adhere.models.base import check_options
    from adhere.settings import parse_assignments

    return check_options(spec, parse_assignments(given, "-M"))


def _out_dir(command: argparse.ArgumentParser, **kwargs: Any) -> None:
    """``--out-dir DIR`` of a command that writes a folder. ``--out`` always names one file, so
    here it is refused with the flag to use instead (it is not in ``--help``, nor a config key)."""
    command.add_argument("--out-dir", metavar="DIR", **kwargs)

    class FolderNotFile(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
            parser.error(f"{parser.prog} writes a folder: name it with --out-dir DIR "
                         "(--out names one file, for the commands that write one)")  # fmt: skip

    command.add_argument("--out", action=FolderNotFile, dest=argparse.SUPPRESS, help=argparse.SUPPRESS)


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations: ``--n 20`` must not silently mean ``--ngram 20``. Every
    subcommand's parser is one too (subparsers are made of the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="adhere", description="Measure and improve how well language models follow instructions."
    )
    parser.add_argument("--version", action="version", version=f"adhere {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score",
        help="score responses against verifiable instructions (strict and loose)",
        description=(
            "Score a JSONL file of responses. Rows are self-contained (key, prompt, "
            "instruction_id_list, kwargs, response) or IFEval response rows (prompt, response) "
            "paired with --inputs by key, else by exact prompt text."
        ),
    )
    score.add_argument("responses", help="JSONL file of responses, a run directory of `adhere eval`, an "
                       "lm-evaluation-harness samples file (--log_samples) or an inspect eval log (.json, .eval)")  # fmt: skip
    score.add_argument("--format", default="auto", choices=["auto", "adhere", "lm-eval", "inspect", "lighteval"],
                       help="the responses' format (default: told from the file)")
    score.add_argument("--wandb", metavar="PROJECT", help="also log the scores to Weights & Biases (needs "
                       "--out-dir; ENTITY/PROJECT or PROJECT; the wandb extra)")  # fmt: skip
    score.add_argument("--lm-eval-results", metavar="FILE",
                       help="also write the scores as lm-evaluation-harness writes its results JSON, with the Open "
                       "LLM Leaderboard's IFEval figure (mean of prompt- and instruction-level strict)")  # fmt: skip
    score.add_argument("--inputs", help="JSONL file of prompts with instruction_id_list and kwargs")
    score.add_argument("--benchmark", default="ifeval", help="ifeval (default), ifbench, or a plugin's")
    _out_dir(score, help="folder for verdicts.jsonl and summary.json")
    score.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes to score in (default: 1 for small files, one per idle CPU core for large ones)",
    )
    score.add_argument("--quiet", action="store_true", help="print no table, only warnings")
    score.add_argument("--reasoning", default="keep", choices=["keep", "strip"],
                       help="keep (default): score the responses as written, as the reference does; strip: score a "
                       "reasoning model's answer, the text after the last --think-end marker")  # fmt: skip
    score.add_argument("--think-end", default="</think>", metavar="MARKER",
                       help="the marker that ends the reasoning (default </think>)")
    score.add_argument("--skip-invalid", action="store_true",
                       help="score the rows that can be and list the others (file:line and why) in the summary "
                       "and its warnings (default: a row that cannot be scored stops the whole file)")  # fmt: skip
    _executor_options(score)

    evaluate = commands.add_parser(
        "eval",
        help="generate responses with a model and score them",
        description="Generate responses to a benchmark's prompts with a model, then score them. "
        "Rerun the same command to resume an interrupted run.",
    )
    evaluate.add_argument("benchmark", help="ifeval, ifbench, ifbench-multiturn (IFBench's constraints in a second "
                          "turn; -ifeval: IFEval's), multiturn (adhere's conversations), alpaca-eval (judged against "
                          "a reference, with --judge), requirements (--data rows judged requirement by requirement, "
                          "with --judge), or a plugin's benchmark")  # fmt: skip
    _out_dir(evaluate, help="run directory (default: runs/<benchmark>-<model>)")
    what = evaluate.add_argument_group("prompts (ifeval, ifbench)")
    what.add_argument("--data", help="local JSONL of prompts (default: the Hugging Face Hub copy)")
    what.add_argument("--limit", type=int, help="only the first N prompts")
    what.add_argument("--strategy", help="greedy, best-of-n:N[+greedy], decrim[:ROUNDS] or spar[:WIDTHxDEPTH]")
    model = evaluate.add_argument_group("model")
    model.add_argument("--model", default="local",
                       help="local (default), gguf:PATH, openai:NAME, hf:PATH_OR_ID, vllm:PATH_OR_ID")
    _model_options(model)
    from adhere.models.config import GenerationConfig
    from adhere.settings import add_arguments

    add_arguments(evaluate.add_argument_group("sampling"), GenerationConfig)
    from adhere.models.reasoning import ReasoningSettings

    add_arguments(evaluate.add_argument_group("reasoning models"), ReasoningSettings)
    turns = evaluate.add_argument_group("conversations (multiturn)")
    turns.add_argument("--count", "--conversations", type=int, default=50, dest="conversations", metavar="N",
                       help="conversations to build (default 50; --count is adhere's one word for how many to "
                       "make, as in synth)")  # fmt: skip
    turns.add_argument("--turns", type=int, default=3, help="turns per conversation, one instruction each")
    turns.add_argument("--build-seed", type=int, default=0, help="seed of the conversations")
    pairwise = evaluate.add_argument_group("judged (alpaca-eval, requirements)")
    pairwise.add_argument("--judge", metavar="SPEC", help="the model that judges (any model spec: openai:NAME with "
                          "-J base_url=URL, gguf:PATH, local); AlpacaEval's weighted protocol reads its top "
                          "log-probabilities")  # fmt: skip
    pairwise.add_argument("-J", "--judge-option", action="append", default=[], metavar="KEY=VALUE",
                          dest="judge_options", help="an option of the judge's backend, as -M for the model")
    pairwise.add_argument("--outputs", metavar="FILE", help="the model's outputs already made (AlpacaEval's "
                          "model_outputs.json: instruction, output, generator), instead of generating with --model")  # fmt: skip
    pairwise.add_argument("--reference", metavar="FILE", help="the instructions with the reference's outputs "
                          "(model_outputs.json format; default: AlpacaEval 2's gpt4_1106_preview, from the Hub)")  # fmt: skip
    pairwise.add_argument("--judge-template", metavar="FILE", help="the judge's prompt: for alpaca-eval ChatML with "
                          "{instruction}, {output_1}, {output_2} (default: AlpacaEval's, read from the installed "
                          "alpaca-eval); for requirements {request}, {response}, {requirement} (default: adhere's)")  # fmt: skip
    pairwise.add_argument("--decomposer", metavar="SPEC", help="requirements: the model that lists the requirements "
                          "of rows that come without them (default: the judge)")  # fmt: skip
    evaluate.add_argument("--wandb", metavar="PROJECT", help="also log the scored run to Weights & Biases "
                          "(ENTITY/PROJECT or PROJECT; the wandb extra; WANDB_MODE=offline writes it locally)")  # fmt: skip
    run = evaluate.add_argument_group("cache and failures")
    run.add_argument("--cache", help="response cache file (default: ~/.cache/adhere/cache.sqlite)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--max-failures", type=int, default=0, metavar="N",
                     help="model calls that may fail (after retries) with the run still scored; their prompts "
                     "count as not followed (default 0: any failed call fails the run, its answers kept)")  # fmt: skip
    _executor_options(evaluate.add_argument_group("executor"))

    cache = commands.add_parser("cache", help="inspect or clear the response cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache", help="cache file (default: ~/.cache/adhere/cache.sqlite)")
    cache.add_argument("--model", help="with clear: only this model's responses")

    report = commands.add_parser(
        "report",
        help="an HTML report of one or more runs: accuracies with confidence intervals, differences, failures",
        description="Write one self-contained HTML page (no network needed) about run directories of "
        "`adhere eval` or folders of `adhere score --out-dir`; the first run is the baseline of the "
        "paired comparisons.",
    )
    report.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="adhere eval or score run directories; or judged runs: adhere eval alpaca-eval "
                        "directories or AlpacaEval annotations files (win rates, LC, lengths) and adhere "
                        "judge-check directories (the judge against the verifiers)")  # fmt: skip
    report.add_argument("--out", metavar="FILE", default="report.html", help="HTML file to write (default: report.html)")
    report.add_argument("--json", help="also write the report's numbers to this JSON file")

    synth = commands.add_parser(
        "synth",
        help="synthesize verifiable prompts: task seeds plus compatible constraints",
        description="Write prompts in IFEval's input format (key, prompt, instruction_id_list, kwargs) "
        "from task seeds (adhere's built-in pool, a JSONL file, or a Hugging Face dataset) and 1 to 3 "
        "compatible constraints each, with a data card beside them.",
    )
    synth.add_argument("--out", metavar="FILE", required=True, help="JSONL file to write (its card goes beside it)")
    from adhere.settings import add_arguments
    from adhere.synth.focus import FOCUS_ON, FOCUS_WEIGHT
    from adhere.synth.synthesize import SynthConfig

    # SynthConfig's fields; two keep their command-line forms: a comma-separated list, and ID=W.
    add_arguments(synth, SynthConfig, exclude=("ids", "weights"))
    synth.add_argument("--ids", help="comma-separated constraint ids to draw from, or a family: ifeval, ifevalg "
                       "(IFEvalG's training constraints: adhere constraints --benchmark ifevalg) (default: every "
                       "samplable IFEval id, repeating the request too)")  # fmt: skip
    synth.add_argument("--weight", action="append", default=[], metavar="ID=W", dest="weights",
                       help="draw this constraint id W times as often as the others (repeatable)")  # fmt: skip
    synth.add_argument("--focus", metavar="RUN_DIR",
                       help="draw each constraint id more often the more of its instructions this run's answers "
                       "failed (strict): a run directory of adhere eval on training prompts, not on a benchmark "
                       "the model is measured on; --weight overrides it per id")  # fmt: skip
    synth.add_argument("--focus-weight", type=float, metavar="W",
                       help="with --focus: the weight of an id every answer failed (one every answer followed keeps "
                       f"1; default {FOCUS_WEIGHT:g})")  # fmt: skip
    synth.add_argument("--focus-on", choices=FOCUS_ON,
                       help="with --focus: failed (every failed instruction counts; the default) or learnable (only "
                       "as many as a round can turn into rows: all failures of an id with a repair, else its failed "
                       "share times its passed share)")  # fmt: skip
    synth.add_argument("--seeds", help="task seeds: a JSONL file (a 'task' or 'prompt' field per row) or hf:NAME[:SPLIT[:FIELD]]")
    synth.add_argument(
        "--decontaminate", action="append", default=[], metavar="PROMPTS.jsonl",
        help="drop prompts whose task shares a word n-gram with a prompt of this file (repeatable)",
    )  # fmt: skip
    synth.add_argument("--ngram", type=int, default=8, help="n-gram length for --decontaminate (default 8)")

    from adhere.settings import add_arguments
    from adhere.synth.settings import RowSettings

    for kind, what in (("make-sft", "rejection-sampled SFT data"), ("make-pairs", "preference pairs for DPO")):
        maker = commands.add_parser(
            kind, help=f"{what} from a run directory of `adhere eval` (TRL's conversational format)",
            description=f"Write {what} from the candidates an `adhere eval` run considered (a --strategy's "
            "candidates, or --samples), scored by the verifiers, with a data card beside the file.",
        )  # fmt: skip
        maker.add_argument("run", metavar="RUN_DIR")
        maker.add_argument("--out", metavar="FILE", required=True, help="JSONL file to write")
        add_arguments(maker, RowSettings)

    instruct = commands.add_parser(
        "self-instruct", help="new task seeds written by a model (Self-Instruct), near-duplicates filtered",
        description="Show a model tasks from the seed pool and have it write new ones; keep those that pass the "
        "filters (length, text-only, ROUGE-L below --rouge against every pooled task, optional MinHash and "
        "n-gram decontamination). Output rows have a 'task' field, for `adhere synth --seeds`. Rerun the same "
        "command to resume: every call is cached.",
    )  # fmt: skip
    instruct.add_argument("--model", default="local", help="local (default), gguf:PATH, openai:NAME, hf:PATH_OR_ID")
    instruct.add_argument("--out", metavar="FILE", required=True, help="JSONL file to write (its card goes beside it)")
    instruct.add_argument("--seeds", help="starting tasks: a JSONL file or hf:NAME[:SPLIT[:FIELD]] (default: built-in)")
    from adhere.synth.self_instruct import SelfInstructConfig

    add_arguments(instruct, SelfInstructConfig)
    instruct.add_argument("--decontaminate", action="append", default=[], metavar="PROMPTS.jsonl",
                          help="drop tasks sharing a word n-gram with a prompt of this file (repeatable)")  # fmt: skip
    instruct.add_argument("--ngram", type=int, default=8)
    instruct.add_argument("--temperature", type=float, default=0.7)
    instruct.add_argument("--top-p", type=float, default=0.95)
    instruct.add_argument("--max-tokens", type=int, default=512)
    _model_options(instruct)
    instruct.add_argument("--cache", help="response cache file (default: ~/.cache/adhere/cache.sqlite)")

    trainer = commands.add_parser(
        "train", help="fine-tune with TRL (LoRA by default): SFT rows, preference pairs (DPO), or GRPO with the verifiers as reward",
        description="SFT, DPO or GRPO with TRL and PEFT on the transformers model loaded from the GGUF the embedded "
        "backend runs (or hf:PATH_OR_ID). Checkpoints, log.jsonl (loss, rewards) and final/ go to --out-dir; rerun "
        "the same command to resume from the last checkpoint.",
    )  # fmt: skip
    trainer.add_argument("kind", choices=["sft", "dpo", "grpo"])
    trainer.add_argument("data", metavar="DATA.jsonl", help="make-sft rows (sft), make-pairs rows (dpo) or verifiable "
                         "prompts (grpo: adhere synth's)")  # fmt: skip
    _out_dir(trainer, required=True, help="training folder (checkpoints, log, final model)")
    trainer.add_argument("--model", default="local", help="local (default), gguf:PATH or hf:PATH_OR_ID")
    from adhere.settings import add_arguments
    from adhere.train.settings import TrainSettings

    add_arguments(trainer, TrainSettings)

    exporter = commands.add_parser(
        "export", help="write a trained model as a GGUF file llama.cpp runs (merged q8_0/f16/f32, or a LoRA GGUF)",
        description="Merge a training run's LoRA adapter (or take its full weights) into the base GGUF it was trained "
        "from and write a GGUF for --model gguf:PATH; or write the adapter as a llama.cpp LoRA GGUF for "
        "--model local -M lora=PATH. Offline: the base GGUF's metadata and tokenizer are copied as they are.",
    )  # fmt: skip
    exporter.add_argument("run", metavar="TRAIN_DIR", help="folder of `adhere train`, its final/, or a checkpoint-N folder")
    exporter.add_argument("--out", metavar="FILE", required=True, help="the .gguf file to write")
    exporter.add_argument("--type", default="q8_0", choices=["q8_0", "f16", "f32", "lora"],
                          help="q8_0 (default; keeps what was learned), f16, f32, or lora (an adapter GGUF)")  # fmt: skip
    exporter.add_argument("--base", help="base model the run was trained from (default: from its train_config.json)")

    averager = commands.add_parser(
        "average", help="a model soup: the uniform average of models trained from one model, for adhere export",
        description="Average trained models fine-tuned from one model (training folders of adhere train, their "
        "final/ or checkpoint-N folders; all LoRA adapters or all fully trained) into one training folder that "
        "adhere export takes. LoRA adapters average exactly into one adapter whose rank is the sum of theirs. "
        "Models fine-tuned from one seed on different rows each gain where they practised and lose a little "
        "elsewhere, differently; the average of four such models kept more of their gains, the average of two "
        "did not (docs/experiments.md): evaluate a soup as any other model.",
    )  # fmt: skip
    averager.add_argument("runs", metavar="TRAIN_DIR", nargs="+", help="the trained models (at least 2)")
    _out_dir(averager, required=True, help="the soup's training folder (final/, train_config.json)")
    averager.add_argument("--base", help="the model they were trained from (default: from their train_config.json)")

    looper = commands.add_parser(
        "loop", help="the improvement loop as a recipe: synthesize, answer, verify, train, export, evaluate",
        description="Run a recipe: named stages (synthesize verifiable prompts decontaminated against IFEval and "
        "IFBench, answer and verify them, make SFT rows or pairs, mix, train, export a GGUF, evaluate) in "
        "dependency order. A finished stage is skipped, one whose settings or inputs changed runs again with "
        "everything after it, and one cut short resumes: kill it anywhere and rerun the same command. The "
        "default recipe is the one that measured +11.5 points of IFEval prompt strict on the bundled model; "
        "`adhere recipes` lists the others.",
    )  # fmt: skip
    _out_dir(looper, required=True, help="run directory")
    looper.add_argument("--recipe", default="default", metavar="NAME|FILE.toml",
                        help="a built-in recipe (adhere recipes) or a recipe file (default: default)")  # fmt: skip
    looper.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", dest="params",
                        help="set a recipe parameter, e.g. --set eval_limit=200 (repeatable)")  # fmt: skip
    looper.add_argument("--model", default="local", help="the base model: local (default) or gguf:PATH")
    looper.add_argument("--ifeval-data", help="local IFEval prompts (default: the Hub copy)")
    looper.add_argument("--ifbench-data", help="local IFBench prompts (default: the Hub copy)")
    looper.add_argument("--dry-run", action="store_true", help="print the plan (what is done, what runs) and stop")
    looper.add_argument("--cache", help="response cache file (default: ~/.cache/adhere/cache.sqlite)")
    _executor_options(looper)

    recipes = commands.add_parser("recipes", help="list the built-in recipes, or print one",
                                  description="List the recipes shipped with adhere, or print one (a starting "
                                  "point for your own: adhere recipes default > mine.toml).")  # fmt: skip
    recipes.add_argument("name", nargs="?", help="print this recipe's TOML")

    choose = commands.add_parser(
        "select", help="keep the best fraction of a data file by InstructMining-style indicators, near-duplicates removed",
        description="Score every row of an SFT, pair or prompt/response JSONL file by indicators (length, MTLD, "
        "perplexity under a reference model, verifier score), rank by a linear rule, remove near-duplicate prompts "
        "(MinHash), keep the top fraction, and write a data card beside the output.",
    )  # fmt: skip
    choose.add_argument("data", metavar="DATA.jsonl")
    choose.add_argument("--out", metavar="FILE", required=True, help="JSONL file to write (its card goes beside it)")
    from adhere.synth.select import SelectSettings

    add_arguments(choose, SelectSettings)

    pusher = commands.add_parser(
        "push", help="a run as a Hugging Face dataset: per-prompt results with a card, to a folder or the Hub",
        description="Write a run directory of `adhere eval` (or a folder of `adhere score --out-dir`) as a dataset: "
        "data/results.jsonl (each prompt's response and verdicts with their reasons), README.md (a card with the "
        "accuracies and their intervals), summary.json and config.json; into --out-dir, and to the Hub dataset "
        "--repo (made if missing; the token from $HF_TOKEN).",
    )  # fmt: skip
    pusher.add_argument("run", metavar="RUN_DIR")
    pusher.add_argument("--repo", metavar="USER/NAME", help="the Hub dataset to push to")
    pusher.add_argument("--private", action="store_true", help="make the dataset private when it is created")
    pusher.add_argument("--token-env", default="HF_TOKEN", metavar="VAR", help="environment variable holding the "
                        "Hub token (default HF_TOKEN)")  # fmt: skip
    _out_dir(pusher, help="also (or, without --repo, only) write the dataset folder here")

    rates = commands.add_parser(
        "winrate", help="win rates of AlpacaEval annotations (pairwise judgments against a reference model)",
        description="Read AlpacaEval annotations.json files (a judge's preference between a reference output and "
        "a model's, per instruction; .json or .json.gz) and print AlpacaEval's leaderboard metrics for each: win "
        "rate and its standard error, wins, losses, draws, discrete win rate, average output length, and with "
        "--lc the length-controlled win rate.",
    )  # fmt: skip
    rates.add_argument("annotations", nargs="+", metavar="ANNOTATIONS.json")
    rates.add_argument("--json", action="store_true", help="one JSON object per file instead of the table")
    rates.add_argument("--lc", action="store_true",
                       help="also the length-controlled win rate (AlpacaEval 2's GLM; needs scikit-learn, the judge "
                       "extra) and its standard error")  # fmt: skip
    rates.add_argument("--difficulty", metavar="hub|fit|FILE", default=None,
                       help="the instruction difficulties the length control uses: hub (AlpacaEval's, downloaded; "
                       "the default), fit (fitted on the annotation files given, two or more models; see "
                       "docs/experiments.md for how close that lands), or a CSV (instruction,difficulty, or "
                       "AlpacaEval's instruction_difficulty.csv); implies --lc")  # fmt: skip
    rates.add_argument("--gamed", metavar="hub|none|FILE", default=None,
                       help="AlpacaEval's gamed baselines (df_gamed.csv), which regularize the fit towards the "
                       "reference (length_controlled_v1): hub, none (length_controlled_noreg) or the file; "
                       "default hub with --difficulty hub, none otherwise")  # fmt: skip
    rates.add_argument("--save-difficulty", metavar="FILE.csv", default=None,
                       help="with --difficulty fit: write the fitted difficulties (instruction,difficulty) to reuse "
                       "with --difficulty FILE")  # fmt: skip

    check = commands.add_parser(
        "judge-check", help="how far a requirement judge agrees with the verifiers, per instruction id",
        description="Ask a judge, one requirement at a time, about responses whose truth the verifiers know (an "
        "IFEval or IFBench responses file, or an adhere eval run directory): each instruction of each prompt is a "
        "requirement (the constraint's own sentence), the judge answers YES or NO with a reason, and its verdicts "
        "are compared with the strict verdicts: agreement, precision and recall of 'met' with 95% intervals, per "
        "instruction id and overall, and the AUROC of the judge's probability of YES where the backend gives "
        "log-probabilities.",
    )  # fmt: skip
    check.add_argument("responses", metavar="RESPONSES", help="a responses JSONL (with --inputs, or self-contained "
                       "rows) or an adhere eval run directory")  # fmt: skip
    check.add_argument("--inputs", metavar="FILE", help="the prompts the responses answer (IFEval's input_data.jsonl)")
    check.add_argument("--judge", metavar="SPEC", required=True, help="the judge: any model spec (local, gguf:PATH, "
                       "openai:NAME with -J base_url=URL, hf:...)")  # fmt: skip
    check.add_argument("-J", "--judge-option", action="append", default=[], metavar="KEY=VALUE", dest="judge_options",
                       help="an option of the judge's backend, as -M for a model")
    check.add_argument("--limit", type=int, metavar="N", help="only the first N prompts")
    check.add_argument("--template", metavar="FILE", help="the requirement prompt, with {request}, {response} and "
                       "{requirement} once each (default: adhere's)")  # fmt: skip
    _out_dir(check, help="where judgments.jsonl and judge_check.json go (default: runs/judge-check-<judge>)")
    check.add_argument("--cache", help="response cache file (default: ~/.cache/adhere/cache.sqlite)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    check.add_argument("--max-failures", type=int, default=0, metavar="N",
                       help="judge calls that may fail (after retries) with the check still reported (default 0)")
    check.add_argument("--json", action="store_true", help="print judge_check.json instead of the table")

    listing = commands.add_parser("constraints", help="list the registered constraints and their kwargs")
    listing.add_argument("--benchmark", default=None, help="only this benchmark's constraints (ifeval, ifbench, "
                         "or a plugin's)")  # fmt: skip
    listing.add_argument("--json", action="store_true",
                         help="one JSON object per constraint (id, benchmark, kwargs, checks, instruction, samplable)")
    for command in commands.choices.values():
        command.add_argument("--config", metavar="FILE.toml",
                             help="settings from a TOML file: its keys are this command's options, named as "
                             "their flags with '_' for '-' (model_options is a table); flags given override it")  # fmt: skip
    return parser


def _score(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from adhere.bench.scoring import expected_count, score
    from adhere.report.terminal import print_summary

    out, err = Console(), Console(stderr=True)
    if args.wandb:
        from adhere.errors import InputError
        from adhere.report.wandb_log import check

        if not args.out_dir:
            raise InputError("--wandb logs a scored folder: give --out-dir DIR too")
        check(args.wandb)
    executor = _executor(args)
    from adhere.bench.harnesses import detect_format
    from adhere.models.reasoning import ReasoningSettings

    fmt = detect_format(args.responses) if args.format == "auto" else args.format
    total = expected_count(args.responses, args.inputs) if fmt in ("adhere", "lm-eval") else None
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with progress_bar(columns, err, quiet=args.quiet) as bar:
        task = bar.add_task("score", total=total)
        summary = score(
            args.responses,
            args.inputs,
            benchmark=args.benchmark,
            out=args.out_dir,
            workers=args.workers,
            progress=lambda n: bar.advance(task, n),
            executor=executor,
            skip_invalid=args.skip_invalid,
            format=fmt,
            reading=ReasoningSettings(args.reasoning, args.think_end),
        )
    if args.quiet:
        for warning in summary.warnings():
            err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    else:
        print_summary(summary, out)
    if args.out_dir:
        err.print(f"wrote {args.out_dir}/verdicts.jsonl and {args.out_dir}/summary.json", soft_wrap=True)
    if args.lm_eval_results:
        from adhere.bench.harnesses import lm_eval_results
        from adhere.jsonl import write_json

        write_json(args.lm_eval_results, lm_eval_results(summary, args.benchmark, str(args.responses)))
        err.print(f"wrote {args.lm_eval_results} (lm-evaluation-harness's results format)", soft_wrap=True)
    if args.wandb:
        from adhere.report.wandb_log import log_run

        ident = log_run(args.out_dir, args.wandb, summary.to_dict())
        err.print(f"logged to W&B: {args.wandb}, run {ident}", soft_wrap=True, highlight=False)
    return 0


def progress_bar(columns: Sequence[Any], err: Any, quiet: bool = False) -> Any:
    """A transient rich progress bar on ``err``, shown only where ``err`` is a terminal: elsewhere
    (a log file, a pipe) rich draws nothing but still ends with an empty line, which would come
    before an error line or in a log."""
    from rich.progress import Progress

    return Progress(*columns, console=err, transient=True, disable=quiet or not err.is_interactive)


def judged_calls(spec: str, options: dict, label: str, total: int, err: Any,
                 work: Callable[[Any, Callable], Any]) -> tuple[Any, str]:  # fmt: skip
    """Open the model ``spec`` (a judge or a decomposer), check it answers, run ``work(backend,
    advance)`` under a progress bar of ``total`` calls labelled ``label``, close it: ``(what work
    returned, the backend's identity)``. One place for what every judged command does."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from adhere.models.base import load_backend

    backend = load_backend(spec, **options)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with progress_bar(columns, err) as bar:
        task = bar.add_task(label, total=total)

        async def run() -> Any:
            try:
                if hasattr(backend, "check"):
                    await backend.check()
                return await work(backend, lambda cached: bar.advance(task))
            finally:
                await backend.aclose()

        return asyncio.run(run()), backend.identity()


def log_interval(err: Any) -> float | None:
    """Seconds between progress lines where ``err`` is not a terminal (a log file, CI, nohup,
    Slurm: no bar is drawn there, a line every so often instead); None on a terminal."""
    return None if err.is_interactive else float(os.environ.get("ADHERE_LOG_INTERVAL", "30"))


@contextlib.contextmanager
def generation_bar(err: Any, out: Any, label: str) -> Iterator[tuple[Callable[[int], None], Callable[[int, int], None]]]:
    """A progress bar for a generation run on ``err`` (a rich Console): ``(progress, on_start)``."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    tokens, finished, cached, started, todo, logged, lines = [0], [0], [0], [0.0], [0], [0.0], [0]
    # (None for a run shorter than the interval; the last one when a logged run finishes.)
    interval = log_interval(err)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeRemainingColumn())  # fmt: skip
    with progress_bar(columns, err) as bar:
        task = bar.add_task("generate", total=None, rate="loading the model")

        def on_start(total: int, remaining: int) -> None:
            started[0] = logged[0] = time.monotonic()
            todo[0] = remaining
            bar.update(task, total=total, completed=total - remaining)
            if remaining < total:
                err.print(f"resuming {out}: {total - remaining} of {total} responses already done", soft_wrap=True)

        def progress(new_tokens: int, from_cache: bool = False) -> None:
            # Rates are the model's: answers found in the cache cost nothing and count apart.
            finished[0] += 1
            if from_cache:
                cached[0] += 1
            else:
                tokens[0] += new_tokens
            now = time.monotonic()
            elapsed = max(now - started[0], 1e-9)
            generated = finished[0] - cached[0]
            rate = f"{generated / elapsed:.2f} items/s, {tokens[0] / elapsed:.0f} tok/s"
            if cached[0]:
                rate += f", {cached[0]} from the cache"
            bar.update(task, advance=1, rate=rate)
            if interval is not None and (now - logged[0] >= interval or (lines[0] and finished[0] == todo[0])):
                logged[0] = now
                lines[0] += 1
                left = max(todo[0] - finished[0], 0)
                eta = left * elapsed / max(generated, 1) if generated else 0.0
                err.print(f"{label}: {finished[0]} of {todo[0]} done, {rate}, about {eta / 60:.1f} min left",
                          soft_wrap=True, highlight=False)  # fmt: skip

        yield progress, on_start


@contextlib.contextmanager
def training_bar(err: Any, label: str) -> Iterator[Callable[[int, int, float | None, int, float], None]]:
    """A progress bar for a training run on ``err``: ``show(step, total, loss, start, seconds)``
    (see :meth:`adhere.recipe.Reporter.training`). Off a terminal, a line every so often instead,
    as :func:`generation_bar` writes them."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    logged, last = [0.0], [-1]
    interval = log_interval(err)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("steps {task.fields[info]}"))
    with progress_bar(columns, err) as bar:
        task = bar.add_task("train", total=None, info="(loading the model)")

        def show(step: int, total: int, loss: float | None, start: int, seconds: float) -> None:
            if last[0] < 0:
                logged[0] = time.monotonic()
                if start:
                    err.print(f"{label}: resuming from step {start} of {total}", soft_wrap=True, highlight=False)
            if step == last[0]:
                return
            last[0] = step
            pace = seconds / (step - start) if step > start else None  # this run's steps only
            left = [f"about {(total - step) * pace / 60:.1f} min left"] if pace and step < total else []
            info = ", ".join(([f"loss {loss:.4g}"] if loss is not None else []) + ([f"{pace:.1f} s/step", *left] if pace else []))
            bar.update(task, total=total, completed=step, info=info)
            now = time.monotonic()
            if interval is not None and step > start and (now - logged[0] >= interval or step == total):
                logged[0] = now
                err.print(f"{label}: {step} of {total} steps done, {info}", soft_wrap=True, highlight=False)

        yield show


def _eval(args: argparse.Namespace) -> int:
    import re

    from rich.console import Console

    from adhere.bench.failures import FailurePolicy
    from adhere.bench.generate import EvalOptions, run_eval
    from adhere.models.cache import ResponseCache
    from adhere.models.config import GenerationConfig
    from adhere.report.terminal import print_summary
    from adhere.settings import from_arguments

    from adhere.models.reasoning import ReasoningSettings

    generation = from_arguments(GenerationConfig, args)
    reading = from_arguments(ReasoningSettings, args)
    if args.wandb:
        from adhere.report.wandb_log import check

        if args.benchmark in ("alpaca-eval", "requirements", "multiturn"):
            from adhere.errors import InputError

            raise InputError(f"--wandb logs verifier benchmarks' runs so far (ifeval, ifbench, ...), not {args.benchmark}")
        check(args.wandb)
    pairwise_flags = [flag for flag, value in (("--judge", args.judge), ("--outputs", args.outputs),
                                               ("--reference", args.reference), ("--judge-template", args.judge_template),
                                               ("-J", args.judge_options), ("--decomposer", args.decomposer))
                      if value]  # fmt: skip
    if args.benchmark == "alpaca-eval":
        return _eval_pairwise(args, generation)
    if args.benchmark == "requirements":
        return _eval_requirements(args, generation)
    self_judged = bool(args.strategy and args.strategy.split(":")[0] == "self-judge")
    if pairwise_flags and not (self_judged and set(pairwise_flags) <= {"--judge", "-J"}):
        from adhere.errors import InputError

        raise InputError(f"{', '.join(pairwise_flags)} apply to alpaca-eval and requirements (judged) and --judge to "
                         f"--strategy self-judge, not to {args.benchmark}" + (f" with --strategy {args.strategy}"
                         if args.strategy else ""))  # fmt: skip
    if args.benchmark != "multiturn":
        from adhere.bench.prompts import check_benchmark

        check_benchmark(args.benchmark)
    if args.strategy and args.benchmark != "multiturn":
        from adhere.improve import load_strategy

        load_strategy(args.strategy)  # a bad spec is one line before any prompt or model loads
    backend_options = model_options(args.model, args.model_options)
    if args.benchmark == "multiturn" and (args.data or args.limit or args.strategy):
        from adhere.errors import InputError

        raise InputError("--data, --limit and --strategy do not apply to multiturn; use --count and --turns")
    options = EvalOptions(
        benchmark=args.benchmark,
        model=args.model,
        data=args.data,
        limit=args.limit,
        generation=generation,
        backend_options=backend_options,
        strategy=args.strategy,
        reading=reading,
        judge=args.judge if self_judged else None,
        judge_options=model_options(args.judge, args.judge_options) if self_judged and args.judge else {},
    )
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.model).strip("-")
    out = args.out_dir or f"runs/{args.benchmark}-{slug}"
    cache = None if args.no_cache else ResponseCache(args.cache)
    if args.executor == "ray" and args.benchmark == "multiturn":
        from adhere.errors import InputError

        raise InputError("--executor ray runs ifeval and ifbench so far; run multiturn with the local executor")
    failures = FailurePolicy(max_failures=args.max_failures)
    executor = _executor(args)
    console, err = Console(), Console(stderr=True)
    if generation.samples > 1 and generation.temperature == 0 and not args.strategy:
        err.print(f"[yellow]warning:[/yellow] --samples {generation.samples} at temperature 0 gives {generation.samples} "
                  "identical greedy answers per prompt; pass --temperature (e.g. 0.7) to sample different ones",
                  soft_wrap=True, highlight=False)  # fmt: skip
    args.out_dir = out
    from adhere.bench.failures import ModelCallsFailedError

    with generation_bar(err, out, "generating") as (progress, on_start), \
            _config_written(args, out, ModelCallsFailedError):  # fmt: skip
        if args.benchmark == "multiturn":
            from adhere.bench.multiturn import ConversationSpec, run_multiturn

            spec = ConversationSpec(conversations=args.conversations, turns=args.turns, seed=args.build_seed)
            block, summary = run_multiturn(
                spec, args.model, generation, backend_options, out,
                cache=cache, progress=progress, on_start=on_start, failures=failures, reading=reading,
            )  # fmt: skip
        else:
            summary = run_eval(options, out, cache=cache, progress=progress, on_start=on_start, executor=executor,
                               failures=failures)  # fmt: skip
    if args.benchmark == "multiturn":
        from adhere.report.terminal import print_multiturn

        print_multiturn(block, console)
        for warning in summary.warnings():
            err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    else:
        print_summary(summary, console)
        judged = summary.extra.get("self_judge")
        if judged:
            points = ", ".join(f"{p['threshold']:g}: {p['coverage']:.0%} answered, "
                               + ("-" if p["accuracy"] is None else f"{p['accuracy']:.1%} right")
                               for p in judged["curve"] if p["threshold"] in (0.0, 0.5, 0.8, 0.9))  # fmt: skip
            auc = "n/a" if judged["auroc"] is None else f"{judged['auroc']:.3f}"
            console.print(f"self-judge: AUROC of the confidence against the verifiers {auc}; by threshold: {points}; "
                          f"abstained at the run's threshold: {judged['abstained']} of {judged['prompts']}",
                          soft_wrap=True, highlight=False)  # fmt: skip
    err.print(f"wrote {out}/ (config.json, responses.jsonl, verdicts.jsonl, summary.json)", soft_wrap=True)
    if args.wandb:
        from adhere.report.wandb_log import log_run

        ident = log_run(out, args.wandb)
        err.print(f"logged to W&B: {args.wandb}, run {ident}", soft_wrap=True, highlight=False)
    return 0


def _eval_pairwise(args: argparse.Namespace, generation: Any) -> int:
    """``adhere eval alpaca-eval``: the model's outputs (made, or given) judged against the reference's."""
    import json
    import re
    from pathlib import Path

    from rich.console import Console

    from adhere.bench.failures import FailurePolicy, ModelCallsFailedError
    from adhere.bench.judging import (PairwiseJudge, generate_outputs, hub_reference, judge_pairs, match_outputs,
                                      read_outputs, read_template)  # fmt: skip
    from adhere.bench.pairwise import winrate
    from adhere.errors import InputError
    from adhere.jsonl import atomic_write
    from adhere.models.cache import ResponseCache

    if not args.judge:
        raise InputError("adhere eval alpaca-eval needs --judge SPEC: the model that judges (openai:NAME -J "
                         "base_url=URL, gguf:PATH, local)")  # fmt: skip
    if args.strategy or args.data or args.executor == "ray":
        raise InputError("--strategy, --data and --executor ray do not apply to alpaca-eval (its prompts are the "
                         "reference file's instructions)")  # fmt: skip
    judge = PairwiseJudge(read_template(args.judge_template))
    judge_options = model_options(args.judge, args.judge_options)
    references = read_outputs(args.reference, "reference outputs") if args.reference else hub_reference()
    if args.limit is not None:
        if args.limit < 1:
            raise InputError(f"--limit must be a positive number of instructions, got {args.limit}")
        references = references[: args.limit]
    err = Console(stderr=True)
    cache = None if args.no_cache else ResponseCache(args.cache)
    failures = FailurePolicy(max_failures=args.max_failures)
    if args.outputs:
        given = match_outputs(references, read_outputs(args.outputs, "model outputs"), args.outputs)
        outputs = [row["output"] for row in given]
        generator = str(given[0].get("generator") or Path(args.outputs).stem)
        name = generator
    else:
        name = args.model
        generator = args.model
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    out = Path(args.out_dir or f"runs/alpaca-eval-{slug}")
    if not args.outputs:
        backend_options = model_options(args.model, args.model_options)
        with generation_bar(err, str(out / "outputs"), "generating") as (progress, on_start):
            made = generate_outputs(args.model, backend_options, generation, [r["instruction"] for r in references],
                                    out / "outputs", cache, progress, failures, on_start)  # fmt: skip
        outputs = made
    pairs = [{"instruction": ref["instruction"], "output_1": ref["output"],
              "generator_1": str(ref.get("generator") or "reference"), "dataset": ref.get("dataset"),
              "output_2": output, "generator_2": generator}
             for ref, output in zip(references, outputs) if output is not None]  # fmt: skip
    if not pairs:
        raise ModelCallsFailedError(f"no output to judge: the model's {len(references)} calls all failed; see "
                                    f"{out}/outputs/responses.jsonl")  # fmt: skip
    rows, identity = judged_calls(args.judge, judge_options, "judging", len(pairs), err,
                                  lambda backend, advance: judge_pairs(judge, backend, pairs, cache, advance))
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "annotations.json") as handle:
        json.dump(rows, handle, ensure_ascii=False, indent=1)
    with atomic_write(out / "model_outputs.json") as handle:
        json.dump([{"instruction": p["instruction"], "output": p["output_2"], "generator": generator,
                    "dataset": p["dataset"]} for p in pairs], handle, ensure_ascii=False, indent=1)  # fmt: skip
    failed = [row for row in rows if row["error"]]
    judged = [row for row in rows if row["preference"] is not None]
    if not judged:
        raise ModelCallsFailedError(f"no judgment has a preference ({len(failed)} failed; first: "
                                    f"{failed[0]['error'] if failed else 'none'}); wrote {out}/annotations.json")  # fmt: skip
    result = {"judge": args.judge, "judge_identity": identity, "failed_judgments": len(failed),
              "instructions": len(references), "outputs_missing": len(references) - len(pairs), **winrate(rows)}  # fmt: skip
    with atomic_write(out / "winrate.json") as handle:
        json.dump(result, handle, ensure_ascii=False, indent=1)
    Console().print(f"{result['model']} against {result['reference']}, judged by {args.judge}: win rate "
                    f"{result['win_rate']:.2f} ± {result['standard_error']:.2f} ({result['n_wins']} wins, "
                    f"{result['n_wins_base']} losses, {result['n_draws']} draws of {result['n_total']}), discrete "
                    f"{result['discrete_win_rate']:.2f}, average length {result['avg_length']}", soft_wrap=True)  # fmt: skip
    err.print(f"wrote {out}/ (annotations.json, model_outputs.json, winrate.json); the length-controlled win rate: "
              f"adhere winrate {out}/annotations.json --lc", soft_wrap=True, highlight=False)  # fmt: skip
    if len(failed) > failures.max_failures:
        raise ModelCallsFailedError(f"{len(failed)} judgment(s) failed (first: {failed[0]['error']}); they are left "
                                    f"out of the win rate; --max-failures {len(failed)} accepts them, rerunning "
                                    "retries them")  # fmt: skip
    return 0


def _judge_check(args: argparse.Namespace) -> int:
    import json
    import re
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from adhere.bench.failures import ModelCallsFailedError
    from adhere.bench.items import Pairing, iter_items
    from adhere.bench.requirements import agreement, agreement_by_id, check_questions, judge_requirements, read_template
    from adhere.bench.scoring import _run_dir_files
    from adhere.errors import InputError
    from adhere.jsonl import atomic_write
    from adhere.models.cache import ResponseCache

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be a positive number of prompts, got {args.limit}")
    judge = read_template(args.template)
    judge_options = model_options(args.judge, args.judge_options)
    responses, inputs = args.responses, args.inputs
    if Path(responses).is_dir():
        responses, inputs = _run_dir_files(Path(responses), inputs)
    questions = check_questions(iter_items(responses, inputs, Pairing()), args.limit)
    if not questions:
        raise InputError(f"{args.responses}: no response with instructions to ask the judge about")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.judge).strip("-")
    out = Path(args.out_dir or f"runs/judge-check-{slug}")
    cache = None if args.no_cache else ResponseCache(args.cache)
    err = Console(stderr=True)
    rows, identity = judged_calls(args.judge, judge_options, "judging", len(questions), err,
                                  lambda backend, advance: judge_requirements(judge, backend, questions, cache,
                                                                              advance))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "judgments.jsonl") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    failed = [r for r in rows if r["error"] and r["answer"] is None]
    result = {"judge": args.judge, "judge_identity": identity, "responses": str(args.responses),
              "prompts": len({r["key"] for r in rows}), "failed_calls": len(failed), "overall": agreement(rows),
              "by_instruction_id": agreement_by_id(rows)}  # fmt: skip
    with atomic_write(out / "judge_check.json") as handle:
        json.dump(result, handle, ensure_ascii=False, indent=1)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        def cell(share: dict) -> str:
            if share["value"] is None:
                return "-"
            low, high = share["interval"]
            return f"{share['value']:.2f} [{low:.2f}, {high:.2f}]"

        table = Table("instruction id", "asked", "truth met", "agreement", "precision of met", "recall of met",
                      title=f"{args.judge} against the verifiers")  # fmt: skip
        for name, a in [*result["by_instruction_id"].items(), ("all", result["overall"])]:
            table.add_row(name, str(a["questions"]), cell(a["truth_met_rate"]), cell(a["agreement"]),
                          cell(a["precision"]), cell(a["recall"]), end_section=name == "all")  # fmt: skip
        console = Console()
        Console(width=max(console.width, 132) if not console.is_terminal else None).print(table)
        overall = result["overall"]
        auc = "n/a (no log-probabilities)" if overall["auroc"] is None else f"{overall['auroc']:.3f} on {overall['auroc_n']}"
        err.print(f"AUROC of the judge's P(YES): {auc}; without a verdict: {overall['no_verdict']}; wrote {out}/ "
                  "(judgments.jsonl, judge_check.json)", soft_wrap=True, highlight=False)  # fmt: skip
    if len(failed) > args.max_failures:
        raise ModelCallsFailedError(f"{len(failed)} judge call(s) failed (first: {failed[0]['error']}); rerun to try "
                                    f"them again, or --max-failures {len(failed)} to accept them")  # fmt: skip
    return 0


def _eval_requirements(args: argparse.Namespace, generation: Any) -> int:
    """``adhere eval requirements``: the model answers each row; the judge checks each requirement."""
    import json
    import re
    from pathlib import Path

    from rich.console import Console

    from adhere.bench.decomposed import REQUIREMENT_ID, decompose, read_rows, verdict_rows
    from adhere.bench.failures import FailurePolicy, ModelCallsFailedError
    from adhere.bench.items import Item
    from adhere.bench.judging import generate_outputs
    from adhere.bench.requirements import judge_requirements, read_template
    from adhere.bench.scoring import write_scores
    from adhere.errors import InputError
    from adhere.jsonl import atomic_write
    from adhere.models.cache import ResponseCache
    from adhere.report.terminal import print_summary

    if not args.judge:
        raise InputError("adhere eval requirements needs --judge SPEC: the model that checks each requirement")
    if not args.data:
        raise InputError("adhere eval requirements needs --data ROWS.jsonl: prompts, each with its 'requirements' "
                         "(or InFoBench's 'decomposed_questions'), or none to have them listed")  # fmt: skip
    if args.strategy or args.outputs or args.reference or args.executor == "ray":
        raise InputError("--strategy, --outputs, --reference and --executor ray do not apply to requirements")
    judge = read_template(args.judge_template)
    judge_options = model_options(args.judge, args.judge_options)
    rows = read_rows(args.data)
    if args.limit is not None:
        if args.limit < 1:
            raise InputError(f"--limit must be a positive number of prompts, got {args.limit}")
        rows = rows[: args.limit]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.model).strip("-")
    out = Path(args.out_dir or f"runs/requirements-{slug}")
    cache = None if args.no_cache else ResponseCache(args.cache)
    failures = FailurePolicy(max_failures=args.max_failures)
    err = Console(stderr=True)
    backend_options = model_options(args.model, args.model_options)
    with generation_bar(err, str(out), "generating") as (progress, on_start):
        responses = generate_outputs(args.model, backend_options, generation, [r["prompt"] for r in rows], out, cache,
                                     progress, failures, on_start, benchmark="requirements",
                                     keys=[r["key"] for r in rows])  # fmt: skip
    by_key = {row["key"]: response for row, response in zip(rows, responses)}

    decomposition: dict = {}
    undivided = [row for row in rows if row["requirements"] is None]
    if undivided:
        spec = args.decomposer or args.judge
        options = model_options(spec, args.judge_options if spec == args.judge else [])
        decomposition, _ = judged_calls(spec, options, "decomposing", len(undivided), err,
                                        lambda backend, advance: decompose(backend, undivided, cache, advance))
        with atomic_write(out / "decomposition.jsonl") as handle:
            for row in undivided:
                handle.write(json.dumps({"key": row["key"], "decomposer": spec, **decomposition[row["key"]]},
                                        ensure_ascii=False) + "\n")  # fmt: skip
        rows = [dict(row, requirements=decomposition[row["key"]]["requirements"]) if row["requirements"] is None
                else row for row in rows]  # fmt: skip
    questions = [{"key": row["key"], "index": index, "request": row["prompt"], "response": by_key[row["key"]],
                  "requirement": requirement}
                 for row in rows if by_key[row["key"]] is not None
                 for index, requirement in enumerate(row["requirements"])]  # fmt: skip
    judgments, _ = judged_calls(args.judge, judge_options, "judging", len(questions), err,
                                lambda backend, advance: judge_requirements(judge, backend, questions, cache, advance))
    with atomic_write(out / "judgments.jsonl") as handle:
        for judgment in judgments:
            handle.write(json.dumps({k: v for k, v in judgment.items() if k not in ("request", "response")},
                                    ensure_ascii=False) + "\n")  # fmt: skip
    verdicts = verdict_rows(rows, by_key, judgments)
    items = [Item(row["key"], row["prompt"], tuple([REQUIREMENT_ID] * len(row["requirements"])), (), by_key[row["key"]])
             for row in rows if row["requirements"]]  # fmt: skip
    scored = [v for v in verdicts if v["instruction_id_list"]]
    failed_calls = sum(1 for j in judgments if j["answer"] is None)
    no_verdict = sum(1 for j in judgments if j["answer"] is not None and j["met"] is None)
    failed_decompositions = sum(1 for d in decomposition.values() if d["error"])
    extra = {"judge": args.judge, "decomposer": (args.decomposer or args.judge) if undivided else None,
             "requirements": len(questions), "judge_failed_calls": failed_calls, "judge_no_verdict": no_verdict,
             "decomposed_prompts": len(undivided), "failed_decompositions": failed_decompositions}  # fmt: skip
    if not items:
        raise ModelCallsFailedError(f"no prompt has requirements to judge (decompositions failed: "
                                    f"{failed_decompositions}); wrote {out}/")  # fmt: skip
    summary = write_scores(items, out, "requirements", source=str(args.data), extra=extra,
                           scorer=lambda _items: iter(scored))  # fmt: skip
    print_summary(summary, Console())
    err.print(f"DRFR (requirements met) is the instruction-level accuracy; no verdict from the judge on {no_verdict} "
              f"of {len(questions)} requirements (counted as not met); wrote {out}/ (responses.jsonl, judgments.jsonl, "
              f"verdicts.jsonl, summary.json{', decomposition.jsonl' if undivided else ''})", soft_wrap=True,
              highlight=False)  # fmt: skip
    problems = failed_calls + failed_decompositions
    if problems > failures.max_failures:
        raise ModelCallsFailedError(f"{failed_calls} judge call(s) and {failed_decompositions} decomposition(s) failed; "
                                    "their requirements count as not met; rerun to try them again, or --max-failures "
                                    f"{problems} to accept them")  # fmt: skip
    return 0


def _cache(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.models.cache import ResponseCache

    cache = ResponseCache(args.cache)
    console = Console()
    if args.action == "clear":
        deleted = cache.clear(args.model)
        console.print(f"deleted {deleted} cached responses from {cache.path}", soft_wrap=True)
        return 0
    info = cache.info()
    console.print(f"{info['path']}: {info['responses']} responses, {info['bytes'] / 1e6:.1f} MB", soft_wrap=True)
    for model, count in sorted(info["models"].items()):
        console.print(f"  {model}: {count}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from adhere.errors import InputError
    from adhere.jsonl import atomic_write, write_json
    from adhere.report.compare import build_report
    from adhere.report.html import render_html
    from adhere.report.runs import load_run
    from adhere.report.terminal import print_report

    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out}: is a directory; --out names the HTML file to write")
    from adhere.report.judged import kind_of, load_checks, load_pairwise, render_judged_html

    kinds = [kind_of(Path(path)) for path in args.runs]
    if any(kinds):
        if not all(kinds):
            raise InputError("judged runs (alpaca-eval, judge-check) and verifier runs go in separate reports: "
                             "give one kind at a time")  # fmt: skip
        pairwise = load_pairwise([Path(p) for p, k in zip(args.runs, kinds) if k == "pairwise"])
        checks = load_checks([Path(p) for p, k in zip(args.runs, kinds) if k == "judge-check"])
        with atomic_write(out) as handle:
            handle.write(render_judged_html(pairwise, checks))
        if args.json:
            write_json(args.json, {"pairwise": pairwise, "judge_checks": checks})
        console = Console()
        for run in pairwise:
            lc = f", LC {run['length_controlled_winrate']:.1f}" if "length_controlled_winrate" in run else ""
            console.print(f"{run['name']}: win rate {run['win_rate']:.1f} ± {run['standard_error']:.1f}{lc}",
                          soft_wrap=True, highlight=False)  # fmt: skip
        for check in checks:
            agree = check["overall"]["agreement"]["value"]
            console.print(f"{check['name']}: judge {check['judge']}, agreement with the verifiers "
                          f"{'–' if agree is None else f'{agree:.1%}'}", soft_wrap=True, highlight=False)  # fmt: skip
        Console(stderr=True).print(f"wrote {out}", soft_wrap=True)
        return 0
    runs = [load_run(path) for path in args.runs]
    names = [run.name for run in runs]
    for run in runs:  # two runs named alike (a/run, b/run) get their parent folder in the name
        if names.count(run.name) > 1:
            run.name = f"{run.path.resolve().parent.name}/{run.name}"
    if len({run.name for run in runs}) < len(runs):
        raise InputError("the same run directory is given twice; pass each run once")
    report = build_report(runs)
    with atomic_write(out) as handle:
        handle.write(render_html(report))
    if args.json:
        write_json(args.json, report)
    print_report(report, Console())
    Console(stderr=True).print(f"wrote {out}", soft_wrap=True)
    return 0


def _synth(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.constraints.sampling import parse_weights
    from adhere.synth.seeds import builtin_seeds
    from adhere.synth.sources import eval_prompts, load_seeds
    from adhere.synth.synthesize import SynthConfig, write_prompts

    from adhere.settings import from_arguments

    ids = tuple(i.strip() for i in args.ids.split(",") if i.strip()) if args.ids else None
    config = from_arguments(SynthConfig, args, ids=ids, weights=parse_weights(args.weights))
    if args.focus:
        from pathlib import Path

        from adhere.synth.focus import FOCUS_WEIGHT, focused

        strength = FOCUS_WEIGHT if args.focus_weight is None else args.focus_weight
        config = focused(config, Path(args.focus), strength, args.focus_on or "failed")
    elif args.focus_weight is not None or args.focus_on is not None:
        from adhere.errors import InputError

        flag = "--focus-weight" if args.focus_weight is not None else "--focus-on"
        raise InputError(f"{flag} applies with --focus RUN_DIR only; add --focus or drop it")
    if args.ngram < 3:
        from adhere.errors import InputError

        raise InputError(f"--ngram must be at least 3, got {args.ngram}")
    seeds, seeds_source = (load_seeds(args.seeds), args.seeds) if args.seeds else (list(builtin_seeds()), "builtin")
    against = [pair for path in args.decontaminate for pair in eval_prompts(path)]
    kept, dropped, path = write_prompts(config, seeds, seeds_source, args.out, against=against,
                                        against_names=args.decontaminate, ngram=args.ngram)  # fmt: skip
    console = Console(stderr=True)
    console.print(f"wrote {len(kept)} prompts to {args.out} and their card to {path}", soft_wrap=True)
    if dropped:
        console.print(f"decontamination dropped {len(dropped)} prompts (listed in the card)", soft_wrap=True)
    return 0


def _make_data(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.settings import from_arguments
    from adhere.synth.datasets import why_empty, write_training_data
    from adhere.synth.settings import RowSettings

    kind = "sft" if args.command == "make-sft" else "pairs"
    settings = from_arguments(RowSettings, args)
    settings.check()
    rows, card, path = write_training_data(args.run, kind, args.out, repair=settings.repair,
                                           keep_cut_off=settings.keep_cut_off, end_cut_off=settings.end_cut_off,
                                           max_repetition=settings.max_repetition)  # fmt: skip
    err = Console(stderr=True)
    err.print(f"wrote {len(rows)} rows to {args.out} and their card to {path}", soft_wrap=True)
    if not rows:
        reason = why_empty(card, "the run's --max-tokens")
        err.print(f"[yellow]warning:[/yellow] no rows: {reason}", soft_wrap=True, highlight=False)
    return 0


def _self_instruct(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from adhere.errors import InputError
    from adhere.jsonl import atomic_write
    from adhere.models.base import load_backend, parse_spec
    from adhere.models.cache import ResponseCache
    from adhere.models.config import GenerationConfig
    from adhere.synth.card import write_card
    from adhere.synth.decontaminate import NgramIndex
    from adhere.synth.seeds import builtin_seeds
    from adhere.synth.self_instruct import SelfInstructConfig, self_instruct
    from adhere.synth.sources import eval_prompts, load_seeds

    from adhere.settings import from_arguments

    config = from_arguments(SelfInstructConfig, args)
    config.validate()
    if args.ngram < 3:
        raise InputError(f"--ngram must be at least 3, got {args.ngram}")
    generation = GenerationConfig(temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed)
    seeds = load_seeds(args.seeds) if args.seeds else list(builtin_seeds())
    against = NgramIndex([p for path in args.decontaminate for p in eval_prompts(path)], args.ngram)
    options = model_options(args.model, args.model_options)
    if parse_spec(args.model)[0] in ("local", "gguf"):
        options.setdefault("n_parallel", args.batch)  # decode as many requests together as are in flight
    backend = load_backend(args.model, **options)
    err = Console(stderr=True)
    columns = (TextColumn("new tasks"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with progress_bar(columns, err) as bar:
        task = bar.add_task("tasks", total=config.count)
        rows, card = asyncio.run(self_instruct(backend, ResponseCache(args.cache), seeds, config, generation,
                                               against=against or None, progress=lambda n: bar.advance(task, n)))  # fmt: skip
    with atomic_write(args.out) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    path = write_card(args.out, {**card, "file": str(args.out), "seeds": args.seeds or "builtin",
                                 "decontaminate": args.decontaminate})  # fmt: skip
    err.print(f"kept {len(rows)} new tasks of {card['candidates']} written in {card['requests']} requests "
              f"({', '.join(f'{k}: {v}' for k, v in card['dropped'].items()) or 'none dropped'}) in {args.out}; card: {path}",
              soft_wrap=True)  # fmt: skip
    if len(rows) < config.count:
        err.print(f"[yellow]warning:[/yellow] only {len(rows)} of {config.count} tasks after {card['requests']} requests; "
                  "raise --max-requests or loosen --rouge", soft_wrap=True)  # fmt: skip
    return 0


def _train(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.settings import from_arguments
    from adhere.train.trainer import TrainConfig, train

    config = from_arguments(TrainConfig, args, kind=args.kind, data=args.data, out=args.out_dir, model=args.model)
    with _config_written(args, args.out_dir):
        result = train(config)
    err = Console(stderr=True)
    err.print(
        f"trained {result['steps']} steps on {result['rows']} rows (loss {result['train_loss']:.4f}); "
        f"{'adapter' if result['adapter'] else 'model'} in {result['final']}", soft_wrap=True,
    )  # fmt: skip
    fit = fit_note(result)
    if fit:
        err.print(f"[yellow]warning:[/yellow] {fit}", soft_wrap=True)
    return 0


def fit_note(result: dict[str, Any]) -> str:
    """What a training result says of rows that did not fit ``max_length`` ("" when all did)."""
    from adhere.train.trainer import rows_not_fitting

    left_out, cut = rows_not_fitting(result)
    parts = ([f"{left_out} of {result['rows']} rows left out (the prompt alone fills max_length)"] if left_out else []) + (
        [f"{cut} cut at max_length (their answers' ends not learnt)"] if cut else [])  # fmt: skip
    return "; ".join(parts) + ("; raise max_length to keep them whole" if parts else "")


def _loop(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.recipe import loop
    from adhere.models.cache import ResponseCache
    from adhere.recipe import Reporter
    from adhere.report.loop import change_rows, change_text, headline_rows, headline_text
    from adhere.settings import parse_assignments

    params = parse_assignments(args.params, "--set", "PARAM=VALUE")
    err = Console(stderr=True)

    class Show(Reporter):
        def stage(self, name: str, label: str, why: str) -> None:
            note = {"resumes": " (resuming)", "re-runs": " (its settings or inputs changed: running again)"}.get(why, "")
            err.print(f"[bold]▶ {name}[/bold]: {label}{note}", soft_wrap=True)

        def skipped(self, name: str, label: str) -> None:
            err.print(f"[dim]✓ {name}: {label} (done before)[/dim]", soft_wrap=True)

        def generation(self, label: str):  # noqa: ANN202
            return generation_bar(err, label, label)

        def training(self, label: str):  # noqa: ANN202
            return training_bar(err, label)

        def finished(self, name: str, kind: str, result: dict) -> None:
            fit = fit_note(result) if kind == "train" else ""
            if fit:
                err.print(f"[yellow]warning:[/yellow] {name}: {fit}", soft_wrap=True)

    settings = dict(recipe=args.recipe, out=args.out_dir, model=args.model, params=params, ifeval_data=args.ifeval_data,
                    ifbench_data=args.ifbench_data)  # fmt: skip
    if args.dry_run:
        plan = loop(**settings, dry_run=True)
        console = Console()
        console.print(f"{plan['recipe']} in {plan['out']}:", soft_wrap=True)
        width = max(len(stage["name"]) for stage in plan["stages"])
        for stage in plan["stages"]:
            console.print(f"  {stage['status']:<8} {stage['name']:<{width}}  {stage['does']}", soft_wrap=True, highlight=False)
        todo = sum(stage["status"] != "done" for stage in plan["stages"])
        console.print(f"{todo} of {len(plan['stages'])} stages to run", soft_wrap=True)
        return 0
    # The recipe is read and checked before the executor starts, so Ray starts only for a loop that can run.
    from adhere.recipe import load_recipe

    recipe = load_recipe(args.recipe, params)
    with _config_written(args, args.out_dir):
        summary = loop(**{**settings, "recipe": recipe, "params": None}, cache=ResponseCache(args.cache),
                       executor=_executor(args), reporter=Show())  # fmt: skip
    console = Console()
    for row in headline_rows(summary):
        console.print(headline_text(row), soft_wrap=True, highlight=False)
    for row in change_rows(summary):
        console.print(change_text(row), soft_wrap=True, highlight=False)
    err.print(f"wrote {args.out_dir}/report.html and loop.json (total {summary['total_seconds'] / 60:.1f} min)", soft_wrap=True)
    return 0


def _recipes(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.recipe import builtin_names, load_recipe
    from adhere.recipe.spec import recipe_text

    console = Console()
    if args.name:
        sys.stdout.write(recipe_text(args.name)[0])
        return 0
    for name in builtin_names():
        recipe = load_recipe(name)
        console.print(f"{name}: {recipe.description} ({len(recipe.stages)} stages)", soft_wrap=True, highlight=False)
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from adhere.train.export import export

    with Console(stderr=True).status(f"writing {args.out}"):
        result = export(Path(args.run), Path(args.out), args.type, base=args.base)
    use = f"--model local -M lora={args.out}" if args.type == "lora" else f"--model gguf:{args.out}"
    Console(stderr=True).print(
        f"wrote {args.out} ({args.type}, {result['bytes'] / 2**20:.0f} MiB, {result['tensors_changed']} trained "
        f"tensors, base {Path(result['base']).name}); evaluate it with: adhere eval ifeval {use}", soft_wrap=True,
    )  # fmt: skip
    return 0


def _average(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.train.average import average

    result = average(args.runs, args.out_dir, base=args.base)
    what = f"one LoRA adapter of rank {result['rank']}" if result["adapter"] else "one fully trained model"
    Console(stderr=True).print(
        f"averaged {result['models']} models trained from {result['base']} into {what} in {result['weights']}; "
        f"export it with: adhere export {args.out_dir} --out soup.gguf", soft_wrap=True,
    )  # fmt: skip
    return 0


def _select(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from adhere.errors import InputError
    from adhere.jsonl import atomic_write, read_jsonl
    from adhere.synth import select
    from adhere.synth.card import write_card

    from adhere.settings import from_arguments

    settings = from_arguments(select.SelectSettings, args)
    settings.check()
    rule = settings.effective_rule()
    weights = select.parse_rule(rule)
    rows, examples = [], []
    for line, row in read_jsonl(args.data):
        examples.append(select.example(row, line, args.data))
        rows.append(row)
    if not rows:
        raise InputError(f"{args.data}: no rows")
    scorer = None
    if "perplexity" in weights:
        from adhere.models.perplexity import Perplexity

        scorer = Perplexity(settings.perplexity_model)
    err = Console(stderr=True)
    columns = (TextColumn("indicators"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with progress_bar(columns, err) as bar:
            task = bar.add_task("indicators", total=len(rows))
            values = select.indicators(examples, list(weights), scorer, progress=lambda n: bar.advance(task, n))
    finally:
        if scorer is not None:
            scorer.close()
    kept, card = select.select(rows, examples, values, rule=rule, keep=settings.keep, raw=settings.raw,
                               dedup_threshold=settings.dedup, where=str(args.data))  # fmt: skip
    with atomic_write(args.out) as handle:
        for row in kept:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    card = {**card, "source": str(args.data), "file": str(args.out), "perplexity_model": settings.perplexity_model}
    path = write_card(args.out, card)
    removed = card["near_duplicates"]["removed"]
    err.print(f"kept {len(kept)} of {len(rows)} rows ({removed} near-duplicates removed) in {args.out}; card: {path}",
              soft_wrap=True)  # fmt: skip
    return 0


def _constraints(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from adhere.constraints import get, ids
    from adhere.constraints.sampling import samplers
    from adhere.errors import InputError
    from adhere.settings import closest

    known = sorted({get(cid).benchmark for cid in ids()})
    if args.benchmark is not None and args.benchmark not in known:
        raise InputError(f"--benchmark {args.benchmark!r}: no constraints{closest(args.benchmark, known)}; "
                         f"benchmarks: {', '.join(known)}")  # fmt: skip
    rows = []
    for cid in ids(args.benchmark):
        cls = get(cid)
        rows.append({"id": cid, "benchmark": cls.benchmark, "kwargs": cls.schema(),
                     "checks": (cls.__doc__ or "").strip().splitlines()[0], "instruction": getattr(cls, "template", None),
                     "samplable": cid in samplers()})  # fmt: skip
    if args.json:
        import json

        sys.stdout.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return 0
    console = Console()
    if not console.is_terminal:  # piped: whole lines, never cut to a terminal's width
        for row in rows:
            kwargs = ", ".join(f"{k}: {t}" for k, t in row["kwargs"].items()) or "-"
            sys.stdout.write(f"{row['id']}\t{kwargs}\t{row['checks']}\n")
        return 0
    table = Table("id", "kwargs", "checks")
    for row in rows:
        table.add_row(row["id"], ", ".join(f"{k}: {t}" for k, t in row["kwargs"].items()) or "-", row["checks"])
    console.print(table)
    return 0


@contextlib.contextmanager
def _config_written(args: argparse.Namespace, folder: Any, *kept: type[BaseException]) -> Iterator[None]:
    """Write ``folder/command.toml`` when the block succeeds, or fails with one of ``kept`` (a run
    that started and keeps what it made); never for a run refused before it started (the folder
    may be another run's)."""
    try:
        yield
    except kept:
        args.write_config(folder)
        raise
    args.write_config(folder)


def _write_config(parser: argparse.ArgumentParser, args: argparse.Namespace, folder: Any) -> None:
    """``FOLDER/command.toml``: the command's every option as it ran (``--config`` of it reruns it)."""
    from pathlib import Path

    from adhere.config import effective_config
    from adhere.jsonl import atomic_write

    if Path(folder).is_dir():
        with atomic_write(Path(folder) / "command.toml") as handle:
            handle.write(effective_config(parser, args))


def describe_os_error(error: OSError) -> str:
    """One line for an operating-system error: what failed, where, and what to do."""
    import errno

    where = f"{error.filename}: " if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}{reason}; free some space and rerun the same command (what was written is kept)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}{reason}; choose a folder you can write to"
    return f"{where}{reason}"


def _winrate(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from adhere.bench.pairwise import read_annotations, winrate

    err = Console(stderr=True)
    sets = [(path, read_annotations(path)) for path in args.annotations]
    results = [{"file": path, **winrate(rows)} for path, rows in sets]
    lc = bool(args.lc or args.difficulty or args.gamed or args.save_difficulty)
    if lc:
        for result, control in zip(results, _length_control(args, sets)):
            result.update(control)
            if _extreme_change(result["win_rate"], result["length_controlled_winrate"]):
                err.print(f"[yellow]warning:[/yellow] {result['file']}: the length-controlled win rate "
                          f"({result['length_controlled_winrate']:.1f}) is very far from the raw one "
                          f"({result['win_rate']:.1f}); the GLM may have failed (AlpacaEval warns alike)",
                          soft_wrap=True)  # fmt: skip
    if args.json:
        for result in results:
            print(json.dumps(result, ensure_ascii=False))
        return 0
    references = {r["reference"] for r in results}
    one_reference = len(references) == 1 and None not in references
    columns = ["model"] + ([] if one_reference else ["against"]) + ["win rate", "± SE"]
    columns += (["LC win rate", "± SE "] if lc else []) + ["wins", "losses", "draws", "judged", "discrete", "length"]
    table = Table(*columns, title=f"against {references.pop()}" if one_reference else None)
    for r in results:
        cells = [r["model"] or r["file"]] + ([] if one_reference else [r["reference"] or ""])
        cells += [f"{r['win_rate']:.2f}", f"{r['standard_error']:.2f}"]
        if lc:
            cells += [f"{r['length_controlled_winrate']:.2f}", f"{r['lc_standard_error']:.2f}"]
        table.add_row(*cells, str(r["n_wins"]), str(r["n_wins_base"]), str(r["n_draws"]), str(r["n_total"]),
                      f"{r['discrete_win_rate']:.2f}", str(r["avg_length"] or ""))  # fmt: skip
    # Piped, rich would squeeze the table into 80 columns; the table's own width is kept instead.
    console = Console()
    Console(width=max(console.width, 132) if not console.is_terminal else None).print(table)
    if lc:
        glm = results[0]["glm"]
        source = {"hub": "AlpacaEval's (Hub)", "fit": "fitted on these files"}.get(args.difficulty or "hub",
                                                                                    args.difficulty)  # fmt: skip
        err.print(f"length control: {glm}, instruction difficulties {source}", soft_wrap=True)
    for r in results:
        if r["not_judged"]:
            err.print(f"[yellow]warning:[/yellow] {r['file']}: {r['not_judged']} judgment(s) without a "
                      "preference were left out", soft_wrap=True)  # fmt: skip
    return 0


def _length_control(args: argparse.Namespace, sets: list) -> list[dict]:
    """The length-controlled win rate of each annotations file, with the difficulties and gamed rows asked for."""
    from adhere.bench.length_control import (fit_difficulty, hub_files, length_controlled, read_difficulty,
                                             read_gamed, write_difficulty)  # fmt: skip
    from adhere.errors import InputError

    source = args.difficulty or "hub"
    gamed_source = args.gamed or ("hub" if source == "hub" else "none")
    if args.save_difficulty and source != "fit":
        raise InputError("--save-difficulty writes fitted difficulties: give --difficulty fit with it")
    hub = hub_files() if "hub" in (source, gamed_source) else None
    if source == "hub":
        difficulty = hub[0]
    elif source == "fit":
        difficulty = fit_difficulty([rows for _, rows in sets])
        if args.save_difficulty:
            write_difficulty(args.save_difficulty, difficulty)
    else:
        difficulty = read_difficulty(source)
    gamed = hub[1] if gamed_source == "hub" else None if gamed_source == "none" else read_gamed(gamed_source)
    label = "--difficulty fit" if source == "fit" else "AlpacaEval's difficulties" if source == "hub" else source
    return [length_controlled(rows, difficulty, gamed=gamed, source=label) for _, rows in sets]


def _extreme_change(raw: float, controlled: float) -> bool:
    """AlpacaEval's test for a length-controlled win rate suspiciously far from the raw one: beyond
    max(10 points, a quarter) lower, or beyond max(10 points, a quarter of the headroom) higher."""
    too_low = controlled < min(raw - raw / 4, raw - 10)
    too_high = controlled > max(raw + (100 - raw) / 4, raw + 10)
    return too_low or too_high


def _push(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adhere.errors import InputError
    from adhere.report.publish import push, write_dataset

    err = Console(stderr=True)
    if not args.repo and not args.out_dir:
        raise InputError("adhere push needs --repo USER/NAME (the Hub dataset) or --out-dir DIR (a local folder)")
    if args.repo:
        url = push(args.run, args.repo, private=args.private, token_env=args.token_env, folder=args.out_dir)
        err.print(f"pushed {args.run} to {url}", soft_wrap=True)
    else:
        written = write_dataset(args.run, args.out_dir)
        err.print(f"wrote {written['rows']} rows and a dataset card to {args.out_dir} "
                  "(datasets.load_dataset of the folder reads it)", soft_wrap=True)  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from adhere.config import parse_arguments

    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_arguments(parser, argv)
    except AdhereError as error:  # the --config file itself
        print(f"adhere: error: {error}", file=sys.stderr)
        return error.exit_code
    handlers = {"score": _score, "eval": _eval, "cache": _cache, "report": _report, "synth": _synth, "make-sft": _make_data, "make-pairs": _make_data, "select": _select, "self-instruct": _self_instruct, "train": _train, "export": _export, "average": _average, "loop": _loop, "recipes": _recipes, "constraints": _constraints, "push": _push, "winrate": _winrate, "judge-check": _judge_check}
    args.write_config = lambda folder: _write_config(parser, args, folder)
    try:
        return handlers[args.command](args)
    except AdhereError as error:
        print(f"adhere: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`adhere constraints | head`): not an error. Python would still try
        # to flush stdout at exit and complain, so stdout goes nowhere from here.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        # A full disk, a read-only folder, a missing permission: the machine's problem, in one
        # line. Every file adhere writes is written atomically or appended line by line, so
        # what was written before is intact, and a rerun resumes.
        print(f"adhere: error: {describe_os_error(error)}", file=sys.stderr)
        return 1
    except Exception as error:
        if type(error).__module__ == "sqlite3":  # the response cache: a full disk, a locked or broken file
            print(f"adhere: error: response cache: {error}; free space or pass --cache FILE / --no-cache, "
                  "then rerun the same command", file=sys.stderr)  # fmt: skip
            return 1
        raise
    except KeyboardInterrupt:
        if args.command in ("eval", "loop", "train"):  # runs that resume where they stopped
            print("adhere: interrupted; rerun the same command to resume", file=sys.stderr)
        else:
            print("adhere: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
