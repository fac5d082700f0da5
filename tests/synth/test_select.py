"""Data selection: MTLD, ROUGE-L, MinHash near-duplicates, perplexity, the rule, `adhere select`."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from adhere.errors import InputError
from adhere.synth import select
from adhere.synth.seeds import builtin_seeds
from adhere.synth.similarity import RougeL, near_duplicates, rouge_l, rouge_tokens
from adhere.text.diversity import mtld
from tests.conftest import IFEVAL, read_jsonl, write_jsonl


def test_mtld_by_hand():
    # Every second word repeats: the ratio hits 0.5 <= 0.72 after two words, twice: 2 factors.
    assert mtld("a a a a") == pytest.approx(2.0)
    # No stretch reaches the threshold; the whole text is a partial factor (1 - 5/6) / 0.28.
    assert mtld("the cat sat on the mat") == pytest.approx(6 / ((1 - 5 / 6) / 0.28))
    assert mtld("") == 0.0
    assert mtld("every word differs here") == 4.0
    varied = "Rivers carve canyons slowly while winds polish exposed stone into strange arches and spires."
    assert mtld(varied * 1) > mtld("the the the and the and the of the of the and") > 0


def test_rouge_l_equals_rouge_score():
    from rouge_score import rouge_scorer

    reference = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    prompts = [row["prompt"][:300] for row in read_jsonl(IFEVAL / "input_data.jsonl")]
    rng = random.Random(0)
    pool = RougeL(prompts[:40])
    for _ in range(40):
        text = rng.choice(prompts)
        expected = [reference.score(ref, text)["rougeL"].fmeasure for ref in prompts[:40]]
        assert pool.scores(text) == pytest.approx(expected, abs=1e-12)
    assert rouge_l("The cat sat.", "the CAT sat!") == 1.0
    assert rouge_l("", "anything") == 0.0
    assert rouge_tokens("Hello, wörld 42x") == ["hello", "w", "rld", "42x"]  # rouge_score drops non-ASCII letters


def test_minhash_finds_planted_near_duplicates_and_keeps_the_first_visited():
    seeds = list(builtin_seeds())[:60]  # the hand-written ones; the templated rest are near-duplicates by design
    planted = seeds[10].replace(".", ", please.") if "." in seeds[10] else seeds[10] + " please"
    texts = [*seeds, planted, seeds[20]]
    duplicates = near_duplicates(texts, threshold=0.7)
    assert duplicates[len(seeds)] == 10 and duplicates[len(seeds) + 1] == 20
    assert set(duplicates) == {len(seeds), len(seeds) + 1}
    # Visiting the copy first keeps the copy instead.
    order = [len(seeds) + 1, *range(len(texts) - 1)]
    assert near_duplicates(texts, threshold=0.7, order=order)[20] == len(seeds) + 1
    with pytest.raises(InputError, match="threshold"):
        near_duplicates(texts, threshold=0)


@pytest.mark.parametrize(
    ("rule", "weights"),
    [
        ("verifier", {"verifier": 1.0}),
        ("verifier + 0.5*mtld - 2*perplexity", {"verifier": 1.0, "mtld": 0.5, "perplexity": -2.0}),
        ("-length*1e-3+verifier", {"length": -0.001, "verifier": 1.0}),
        ("mtld + mtld", {"mtld": 2.0}),
    ],
)
def test_rules(rule, weights):
    assert select.parse_rule(rule) == pytest.approx(weights)


@pytest.mark.parametrize(
    ("rule", "message"),
    [("", "empty"), ("verifier +", "cannot read"), ("2 verifier", "cannot read"), ("verifier mtld", "cannot read"),
     ("quality", "unknown indicator 'quality'")],
)  # fmt: skip
def test_bad_rules(rule, message):
    with pytest.raises(InputError, match=message):
        select.parse_rule(rule)


def sft_row(prompt, response, strict):
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}],
            "provenance": {"strict": strict}}  # fmt: skip


def test_select_ranks_dedups_and_keeps_input_order():
    rows = [
        sft_row("Explain tides to a child.", "Tides rise and fall because the moon pulls on the sea.", 1.0),
        sft_row("Explain tides to a child!", "The moon the moon the moon pulls pulls the sea sea.", 1.0),
        sft_row("Write a haiku about rain.", "Soft rain on tin roofs, a quiet drum for the night, puddles hold the sky.", 0.5),
        sft_row("List three uses of vinegar.", "Cleaning glass, pickling vegetables, and removing limescale from kettles.", 1.0),
    ]
    examples = [select.example(row, i + 1, "d.jsonl") for i, row in enumerate(rows)]
    values = select.indicators(examples, ["verifier", "mtld"])
    kept, card = select.select(rows, examples, values, rule="verifier + 0.5*mtld", keep=1.0, dedup_threshold=0.5)
    # Row 2 repeats row 1's prompt and ranks lower (less diverse): it is the one removed.
    assert [r["messages"][0]["content"] for r in kept] == [rows[i]["messages"][0]["content"] for i in (0, 2, 3)]
    assert card["near_duplicates"]["removed_lines"] == [{"line": 2, "duplicate_of_line": 1}]
    kept, card = select.select(rows, examples, values, rule="verifier", keep=0.5)
    assert len(kept) == 2 and all(r["selection"]["indicators"]["verifier"] == 1.0 for r in kept)
    assert [r["messages"][0]["content"] for r in kept] == [rows[0]["messages"][0]["content"], rows[1]["messages"][0]["content"]]
    assert card["kept_rows"] == 2 and card["input_rows"] == 4 and card["kept"]["verifier"]["mean"] == 1.0


def test_row_shapes_and_verifier_scores():
    pair = {"prompt": [{"role": "user", "content": "Say hi"}], "chosen": [{"role": "assistant", "content": "hi"}],
            "rejected": [{"role": "assistant", "content": "Hello, friend"}], "provenance": {"chosen": {"strict": 1.0}}}  # fmt: skip
    assert select.example(pair, 1, "p").verifier == 1.0 and select.example(pair, 1, "p").response == "hi"
    ifeval_style = {"prompt": "Answer without commas.", "response": "yes, no", "instruction_id_list": ["punctuation:no_comma"],
                    "kwargs": [{}]}  # fmt: skip
    assert select.example(ifeval_style, 3, "p").verifier == 0.0
    plain = {"prompt": "Say hi", "completion": "hi"}
    assert select.example(plain, 1, "p").verifier is None
    with pytest.raises(InputError, match="p:7: expected 'messages'"):
        select.example({"text": "hi"}, 7, "p")
    with pytest.raises(InputError, match="p:2: expected"):
        select.example({"messages": [{"role": "user", "content": "hi"}]}, 2, "p")
    examples = [select.example(plain, 1, "p"), select.example(plain, 2, "p")]
    values = select.indicators(examples, ["verifier"])
    with pytest.raises(InputError, match="p:1: the rule uses verifier but this row has no verifier score"):
        select.select([plain, plain], examples, values, rule="verifier", keep=1.0, where="p")


def test_perplexity_prefers_fluent_text():
    from adhere.models.perplexity import Perplexity

    scorer = Perplexity("local", n_ctx=512, n_threads=1)
    try:
        fluent = scorer("What is the capital of France?", "The capital of France is Paris.")
        scrambled = scorer("What is the capital of France?", "Paris France capital the of is banana purple.")
        assert 1.0 < fluent < scrambled
        assert scorer("Hello", "") != scorer("Hello", "")  # empty response: nan
        long = scorer("Repeat after me.", "word " * 2000)  # longer than the window: cut, still a number
        assert long == long
    finally:
        scorer.close()
    with pytest.raises(InputError, match="'local' or 'gguf:PATH'"):
        Perplexity("openai:gpt-4o")


def test_perplexity_on_an_amx_build_loads_the_weights_into_plain_buffers(monkeypatch):
    """llama_cpp.Llama takes no use_extra_bufts: on an AMX build (llama.cpp#20824) the scorer loads
    its model with them off all the same, and leaves llama-cpp-python's defaults as they were."""
    import llama_cpp.llama_cpp as low

    from adhere.models import llama_engine
    from adhere.models.perplexity import Perplexity

    monkeypatch.setattr(llama_engine, "amx_build", lambda: True)
    scorer = Perplexity("local", n_ctx=256, n_threads=1)
    try:
        assert scorer._llm.model_params.use_extra_bufts is False
        assert 1.0 < scorer("What is the capital of France?", "The capital of France is Paris.")
    finally:
        scorer.close()
    assert low.llama_model_default_params().use_extra_bufts is True
    monkeypatch.setattr(llama_engine, "amx_build", lambda: False)
    scorer = Perplexity("local", n_ctx=256, n_threads=1)
    try:
        assert scorer._llm.model_params.use_extra_bufts is True
    finally:
        scorer.close()


def adhere(*args):
    return subprocess.run([sys.executable, "-m", "adhere.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_select_with_perplexity_writes_rows_and_card(tmp_path):
    data = tmp_path / "sft.jsonl"
    rows = [sft_row(f"Describe item {i} of a picnic basket.", text, s) for i, (text, s) in enumerate([
        ("A wicker basket holds bread, cheese and fresh fruit for the park.", 1.0),
        ("basket basket basket basket basket", 1.0),
        ("A checked blanket, cold lemonade and sandwiches wrapped in paper.", 1.0),
        ("Plates.", 0.0),
    ])]  # fmt: skip
    write_jsonl(data, rows)
    out = tmp_path / "kept.jsonl"
    result = adhere("select", data, "--out", out, "--keep", "0.5", "--perplexity-model", "local", "--dedup", "0.9")
    assert result.returncode == 0, result.stderr
    kept = read_jsonl(out)
    assert len(kept) == 2 and {r["messages"][1]["content"][:5] for r in kept} == {"A wic", "A che"}
    assert all(r["selection"]["indicators"]["perplexity"] > 1 for r in kept)
    card = json.loads((tmp_path / "kept.card.json").read_text())
    assert card["rule"] == select.DEFAULT_RULE and card["perplexity_model"] == "local" and card["input_rows"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "perplexity"], "pass --perplexity-model"),
        (["--keep", "0"], "--keep must be a fraction"),
        (["--rule", "verifier *"], "cannot read the rule"),
        (["--perplexity-model", "openai:x"], "'local' or 'gguf:PATH'"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    data = tmp_path / "sft.jsonl"
    write_jsonl(data, [sft_row("Say hi", "hi", 1.0)])
    out = tmp_path / "out.jsonl"
    result = adhere("select", data, "--out", out, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_bad_row_names_the_line(tmp_path):
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps(sft_row("Say hi", "hi", 1.0)) + "\n" + json.dumps({"text": "x"}) + "\n")
    result = adhere("select", data, "--out", tmp_path / "o.jsonl")
    assert result.returncode == 2 and f"{data}:2:" in result.stderr
