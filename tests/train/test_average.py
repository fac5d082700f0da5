"""`adhere average`: a model soup, the uniform average of models trained from one model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from adhere.errors import InputError
from adhere.train.average import average
from adhere.train.export import _adapter, _scale

Q, K, V = ("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.1.mlp.up_proj")
SHAPES = {Q: (8, 6), K: (4, 6), V: (10, 6)}  # (out, in)


def lora_run(folder, seed, r, alpha, modules=(Q, K, V), model="local"):
    """A training folder of adhere train holding a random LoRA adapter."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for module in modules:
        out, inp = SHAPES[module]
        tensors[f"base_model.model.{module}.lora_A.weight"] = rng.normal(size=(r, inp)).astype(np.float32)
        tensors[f"base_model.model.{module}.lora_B.weight"] = rng.normal(size=(out, r)).astype(np.float32)
    final = folder / "final"
    final.mkdir(parents=True)
    save_file(tensors, str(final / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": ["q_proj"], "rank_pattern": {}}
    (final / "adapter_config.json").write_text(json.dumps(config))
    (final / "tokenizer_config.json").write_text("{}")
    (folder / "train_config.json").write_text(json.dumps({"model": model}))
    return folder


def full_run(folder, tensors):
    """A training folder of adhere train holding a fully trained model of ``tensors``."""
    final = folder / "final"
    final.mkdir(parents=True)
    save_file(tensors, str(final / "model.safetensors"))
    (final / "config.json").write_text("{}")
    (folder / "train_config.json").write_text(json.dumps({"model": "local"}))
    return folder


def deltas(folder):
    config, pairs = _adapter(folder)
    return {name: _scale(config) * (b @ a) for name, (a, b) in pairs.items()}


def test_a_soup_of_adapters_is_the_mean_of_their_weight_deltas(tmp_path):
    runs = [lora_run(tmp_path / "a", 1, 2, 4), lora_run(tmp_path / "b", 2, 3, 12),
            lora_run(tmp_path / "c", 3, 2, 2, modules=(Q, V))]  # fmt: skip
    result = average(runs, tmp_path / "soup")
    assert result["models"] == 3 and result["adapter"] and result["rank"] == 7 and result["base"] == "local"
    soup = deltas(tmp_path / "soup" / "final")
    each = [deltas(run / "final") for run in runs]
    for name in (Q + ".weight", V + ".weight"):
        np.testing.assert_allclose(soup[name], sum(d[name] for d in each) / 3, rtol=1e-5, atol=1e-5)
    # c never trained K: its share of the mean is zero, not left out.
    np.testing.assert_allclose(soup[K + ".weight"], (each[0][K + ".weight"] + each[1][K + ".weight"]) / 3, rtol=1e-5, atol=1e-5)
    assert not np.allclose(soup[Q + ".weight"], each[0][Q + ".weight"])
    saved = json.loads((tmp_path / "soup" / "train_config.json").read_text())
    assert saved["model"] == "local" and len(saved["averaged"]) == 3
    assert (tmp_path / "soup" / "final" / "tokenizer_config.json").exists()
    assert not (tmp_path / "soup" / "final.partial").exists()
    # Written again (a rerun), the soup is replaced whole.
    average(runs[:2], tmp_path / "soup")
    assert load_file(str(tmp_path / "soup" / "final" / "adapter_model.safetensors"))[
        f"base_model.model.{Q}.lora_A.weight"].shape == (5, 6)  # fmt: skip


def test_a_soup_of_fully_trained_models_is_their_mean(tmp_path):
    rng = np.random.default_rng(0)
    runs = [full_run(tmp_path / name, {"w": rng.normal(size=(3, 4)).astype(np.float32),
                                       "b": rng.normal(size=(3,)).astype(np.float32)})
            for name in ("a", "b")]  # fmt: skip
    result = average(runs, tmp_path / "soup")
    assert not result["adapter"] and result["tensors"] == 2
    a, b = (load_file(str(run / "final" / "model.safetensors")) for run in runs)
    soup = load_file(str(tmp_path / "soup" / "final" / "model.safetensors"))
    np.testing.assert_allclose(soup["w"], (a["w"] + b["w"]) / 2, rtol=1e-6)
    assert (tmp_path / "soup" / "final" / "config.json").exists()


def test_what_cannot_be_averaged_is_one_clear_error(tmp_path):
    a, b = lora_run(tmp_path / "a", 1, 2, 4), lora_run(tmp_path / "b", 2, 2, 4, model="gguf:other.gguf")
    with pytest.raises(InputError, match="at least 2 trained models, got 1"):
        average([a], tmp_path / "soup")
    with pytest.raises(InputError, match="cannot average models trained from different bases"):
        average([a, b], tmp_path / "soup")
    average([a, b], tmp_path / "soup", base="local")  # --base: the user says they share one
    full = full_run(tmp_path / "full", {"w": np.zeros((2, 2), np.float32)})
    with pytest.raises(InputError, match="cannot average LoRA adapters .* with fully trained models"):
        average([a, full], tmp_path / "soup2")
    other = full_run(tmp_path / "full2", {"w": np.zeros((3, 2), np.float32)})
    with pytest.raises(InputError, match="holds other tensors than"):
        average([full, other], tmp_path / "soup2")
    assert not (tmp_path / "soup2" / "final.partial").exists()  # a refused soup leaves nothing half-written
    before = (a / "final" / "adapter_model.safetensors").read_bytes()
    with pytest.raises(InputError, match="holds a training run of adhere train; write the soup to a folder of its own"):
        average([a, tmp_path / "soup"], a)
    assert (a / "final" / "adapter_model.safetensors").read_bytes() == before  # nothing written over
    (tmp_path / "other" / "final").mkdir(parents=True)  # a model written by something else
    with pytest.raises(InputError, match="holds a training run"):
        average([a, tmp_path / "soup"], tmp_path / "other")
    with pytest.raises(InputError, match="does not exist"):
        average([a, tmp_path / "nope"], tmp_path / "soup3")


def test_adhere_average_from_the_command_line(tmp_path):
    a, b = lora_run(tmp_path / "a", 1, 2, 4), lora_run(tmp_path / "b", 2, 2, 4)
    cli = [sys.executable, "-m", "adhere.cli", "average"]
    done = subprocess.run([*cli, str(a), str(b), "--out-dir", str(tmp_path / "soup")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "into one LoRA adapter of rank 4" in done.stderr and f"adhere export {tmp_path / 'soup'}" in done.stderr
    bad = subprocess.run([*cli, str(a), "--out-dir", str(tmp_path / "s2")], capture_output=True, text=True)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "a soup averages at least 2 trained models, got 1" in bad.stderr
