"""`adhere export`: trained weights back to llama.cpp, checked against transformers' own logits."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import pytest

from adhere.errors import InputError
from adhere.models.base import ModelUnavailableError
from adhere.models.llamacpp import bundled_model_path
from adhere.train.export import _Base, export

torch = pytest.importorskip("torch")
llama_cpp = pytest.importorskip("llama_cpp")

PROMPT = "<|im_start|>user\nWrite a haiku about rivers.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def hf_model():
    from adhere.train.trainer import load_model

    return load_model("local")


@pytest.fixture(scope="module")
def adapter_run(hf_model, tmp_path_factory):
    """A training folder holding a random (non-zero) LoRA adapter, and transformers' logits with it."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = hf_model
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, parameter in peft.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.5)
    run = tmp_path_factory.mktemp("adapter")
    peft.save_pretrained(run / "final")
    (run / "train_config.json").write_text(json.dumps({"model": "local"}))
    ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = peft(torch.tensor([ids])).logits[0].numpy()
    peft.unload()  # the module-scoped model goes back to the plain base for other tests
    return run, ids, logits


def llama_logits(path, ids, lora=None):
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    model = llama_cpp.Llama(model_path=str(path), lora_path=lora and str(lora), n_ctx=256, logits_all=True,
                            verbose=False, n_threads=2)  # fmt: skip
    try:
        assert model.tokenize(PROMPT.encode(), add_bos=False, special=True) == ids
        model.eval(ids)
        return np.asarray(model.scores[: len(ids)])
    finally:
        model.close()


def test_trained_weights_are_reordered_into_llama_cpp_layout(hf_model):
    # transformers dequantizes the GGUF and undoes llama.cpp's q/k row order; the exporter must
    # redo it exactly, or a merged model's attention is scrambled.
    model, _ = hf_model
    base = _Base(bundled_model_path())
    checked = 0
    for hf_name, weight in model.state_dict().items():
        if hf_name == "lm_head.weight":  # tied to the embeddings: no tensor of its own
            continue
        name = base.gguf_name(hf_name)
        assert np.array_equal(base.reorder(name, weight.numpy()), base.dense(name)), hf_name
        checked += 1
    assert checked == len(base.tensors) == 272


def test_merged_and_lora_exports_reproduce_the_trained_model(adapter_run, tmp_path):
    run, ids, trained = adapter_run
    for kind in ("f32", "q8_0", "lora"):
        result = export(run, tmp_path / f"m-{kind}.gguf", kind)
        assert result["adapter"] and result["tensors_changed"] == 210  # 30 blocks x 7 projections
    base = llama_logits(bundled_model_path(), ids)
    merged = llama_logits(tmp_path / "m-f32.gguf", ids)
    q8 = llama_logits(tmp_path / "m-q8_0.gguf", ids)
    lora = llama_logits(bundled_model_path(), ids, lora=tmp_path / "m-lora.gguf")
    base_gap = np.abs(base - trained).max()
    assert base_gap > 5  # the adapter matters: an export that dropped it would fail below
    assert np.abs(merged - trained).max() < 0.1  # f32: the same model, up to float rounding
    for logits in (q8, lora):  # q8_0 weights, or the adapter on the Q4_1 base: close, not equal
        assert np.abs(logits - trained).max() < 0.3 * base_gap
        assert (logits.argmax(1) == trained.argmax(1)).mean() >= 0.85

    import gguf

    written = gguf.GGUFReader(tmp_path / "m-q8_0.gguf")
    original = gguf.GGUFReader(bundled_model_path())
    for key in ("tokenizer.chat_template", "tokenizer.ggml.tokens", "llama.attention.head_count_kv"):
        assert written.fields[key].contents() == original.fields[key].contents()
    assert written.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    adapter = gguf.GGUFReader(tmp_path / "m-lora.gguf")
    assert adapter.fields["general.type"].contents() == "adapter"
    assert adapter.fields["adapter.lora.alpha"].contents() == pytest.approx(8.0)


def test_a_fully_trained_model_exports_too(hf_model, tmp_path):
    model, tokenizer = hf_model
    state = {name: value.clone() for name, value in model.state_dict().items()}
    try:
        with torch.no_grad():
            generator = torch.Generator().manual_seed(1)
            for name, parameter in model.named_parameters():
                if "self_attn.q_proj" in name or "self_attn.k_proj" in name:
                    parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
        model.save_pretrained(tmp_path / "full")
        ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            trained = model(torch.tensor([ids])).logits[0].numpy()
    finally:
        model.load_state_dict(state)
    with pytest.raises(InputError, match="no train_config.json"):
        export(tmp_path / "full", tmp_path / "x.gguf", "f32")
    with pytest.raises(InputError, match="not a LoRA adapter"):
        export(tmp_path / "full", tmp_path / "x.gguf", "lora", base="local")
    result = export(tmp_path / "full", tmp_path / "full.gguf", "f32", base="local")
    assert not result["adapter"]
    merged = llama_logits(tmp_path / "full.gguf", ids)
    base = llama_logits(bundled_model_path(), ids)
    assert np.abs(base - trained).max() > 1
    assert np.abs(merged - trained).max() < 0.1


def test_eval_backend_applies_a_lora_and_keys_its_cache_by_it(adapter_run, tmp_path):
    from adhere.models.base import load_backend
    from adhere.models.config import GenerationConfig

    run, _, _ = adapter_run
    adapter = export(run, tmp_path / "a.gguf", "lora")["out"]
    messages = [{"role": "user", "content": "Write a haiku about rivers."}]
    config = GenerationConfig(max_tokens=12)
    texts, identities = [], []
    for options in ({}, {"lora": adapter}):
        backend = load_backend("local", n_parallel=1, **options)
        try:
            texts.append(asyncio.run(backend.complete(messages, config, 0)).text)
            identities.append(backend.identity())
        finally:
            asyncio.run(backend.aclose())
    assert "lora" not in identities[0] and identities[1]["lora"]["sha256"]
    assert texts[0] != texts[1]


def test_bad_exports_are_one_clear_error(tmp_path, adapter_run):
    run, _, _ = adapter_run
    with pytest.raises(InputError, match="does not exist"):
        export(tmp_path / "nope", tmp_path / "x.gguf")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no adapter_config.json"):
        export(tmp_path / "empty", tmp_path / "x.gguf")
    with pytest.raises(InputError, match="must be a .gguf file"):
        export(run, tmp_path / "x.bin")
    with pytest.raises(InputError, match="export type must be one of"):
        export(run, tmp_path / "x.gguf", "q4_1")
    not_adapter = tmp_path / "bad.gguf"
    not_adapter.write_bytes(b"GGUF" + b"\0" * 64)
    from adhere.models.base import load_backend

    with pytest.raises(ModelUnavailableError, match="could not apply the LoRA adapter"):
        load_backend("local", lora=str(not_adapter))
    assert not list(tmp_path.glob("*.partial"))


def test_export_and_lora_from_the_command_line(adapter_run, tmp_path):
    import subprocess
    import sys

    run, _, _ = adapter_run
    out = tmp_path / "a.gguf"
    done = subprocess.run([sys.executable, "-m", "adhere.cli", "export", str(run), "--out", str(out), "--type", "lora"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"adhere eval ifeval --model local -M lora={out}" in done.stderr
    refused = subprocess.run([sys.executable, "-m", "adhere.cli", "eval", "ifeval", "--model", "openai:m", "-M",
                              f"lora={out}"], capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 2
    assert "model options (openai): unknown key 'lora'; valid keys: base_url, api_key_env" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_soup_of_two_adapters_exports_as_the_mean_of_their_weights(hf_model, adapter_run, tmp_path):
    """adhere average then adhere export: llama.cpp runs the base model plus the mean of the two
    adapters' weight deltas, as transformers computes it with the deltas added by hand."""
    from peft import LoraConfig, get_peft_model

    from adhere.train.average import average
    from adhere.train.export import _adapter, _scale

    model, _ = hf_model
    run, ids, alone = adapter_run
    torch.manual_seed(1)
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False,
                        task_type="CAUSAL_LM")  # fmt: skip
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, parameter in peft.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.5)
    peft.save_pretrained(tmp_path / "other" / "final")
    peft.unload()
    (tmp_path / "other" / "train_config.json").write_text(json.dumps({"model": "local"}))
    result = average([run, tmp_path / "other"], tmp_path / "soup")
    assert result["rank"] == 6
    assert export(tmp_path / "soup", tmp_path / "soup.gguf", "f32")["tensors_changed"] == 210
    state = {name: value.clone() for name, value in model.state_dict().items()}
    try:
        with torch.no_grad():
            weights = dict(model.named_parameters())
            for folder in (run / "final", tmp_path / "other" / "final"):
                adapter, pairs = _adapter(folder)
                for name, (a, b) in pairs.items():
                    weights[name].add_(torch.from_numpy(_scale(adapter) * (b @ a) / 2))
            expected = model(torch.tensor([ids])).logits[0].numpy()
    finally:
        model.load_state_dict(state)
    soup = llama_logits(tmp_path / "soup.gguf", ids)
    assert np.abs(expected - alone).max() > 1  # the mean is neither adapter alone
    assert np.abs(soup - expected).max() < 0.1  # f32: the same model, up to float rounding
