"""Model soups: the uniform average of models fine-tuned from one base (Wortsman et al., 2022).

Models fine-tuned from the same weights on different rows (or seeds) each gain on what they
practised and lose a little elsewhere, differently; their average keeps more of the gains. The
average of LoRA adapters is written as one adapter: the mean of the weight deltas ``s_i B_i A_i``
is exactly ``B A`` with ``A`` the adapters' ``A_i`` stacked and ``B`` their ``s_i B_i / k`` side by
side (rank: the sum of theirs), so ``adhere export`` merges it, or writes it as a LoRA GGUF, like
any adapter. Fully trained models are averaged tensor by tensor. Either way the result is a
training folder (``final/`` and ``train_config.json`` naming the base) that ``adhere export``
takes. Only numpy and safetensors: no model is loaded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.train.export import _adapter, _load_safetensors, _scale, base_spec, find_weights

#: Files of a trained model's folder besides its weights (tokenizer, config), copied from the first.
_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_config.json", "model.safetensors")


def average(runs: Sequence[str | Path], out: str | Path, base: str | None = None) -> dict[str, Any]:
    """Write the uniform average of the trained models in ``runs`` (training folders, their
    ``final/`` or checkpoints, all trained from one base) as the training folder ``out``."""
    if len(runs) < 2:
        raise InputError(f"a soup averages at least 2 trained models, got {len(runs)}")
    weights = [find_weights(Path(run)) for run in runs]
    bases = [base_spec(folder, base) for folder in weights]
    if len(set(map(_same_model, bases))) > 1:
        listed = "; ".join(f"{folder} from {spec}" for folder, spec in zip(weights, bases))
        raise InputError(f"cannot average models trained from different bases ({listed}); "
                         "a soup averages models fine-tuned from one model")  # fmt: skip
    adapters = [(folder / "adapter_config.json").exists() for folder in weights]
    if len(set(adapters)) > 1:
        mixed = ", ".join(str(f) for f, a in zip(weights, adapters) if a)
        raise InputError(f"cannot average LoRA adapters ({mixed}) with fully trained models; export the "
                         "adapters and train or average them apart")  # fmt: skip
    out = Path(out)
    saved = out / "train_config.json"
    ours = saved.exists() and "averaged" in json.loads(saved.read_text(encoding="utf-8"))
    if not ours and (saved.exists() or (out / "final").exists()):
        raise InputError(f"{out} holds a training run of adhere train; write the soup to a folder of its own")
    # Written beside, then moved in: a soup cut short leaves the last one whole.
    partial = out / "final.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        summary = _average_adapters(weights, partial) if adapters[0] else _average_full(weights, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # a refused input leaves nothing half-written behind
        raise
    for name in sorted(p.name for p in weights[0].iterdir() if p.is_file() and p.name not in _WEIGHT_FILES):
        if name.endswith((".json", ".jinja", ".txt", ".model")):
            shutil.copy(weights[0] / name, partial / name)
    final = out / "final"
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    saved.write_text(json.dumps({"model": bases[0], "averaged": [str(w) for w in weights]}, indent=2) + "\n",
                     encoding="utf-8")  # fmt: skip
    return {"models": len(weights), "averaged": [str(w) for w in weights], "base": bases[0],
            "adapter": adapters[0], "weights": str(final), **summary}  # fmt: skip


def _same_model(spec: str) -> str:
    """A model spec with a GGUF path resolved, so that two ways to name one file compare equal."""
    kind, _, path = spec.partition(":")
    return f"{kind}:{Path(path).resolve()}" if kind == "gguf" else spec


def _average_adapters(folders: list[Path], final: Path) -> dict[str, Any]:
    import numpy as np
    from safetensors.numpy import save_file

    k = len(folders)
    read, configs = [], []
    for folder in folders:
        config, pairs = _adapter(folder)
        configs.append(config)
        scale = _scale(config)
        read.append((int(config["r"]), {n: (a.astype(np.float32), b.astype(np.float32) * (scale / k))
                                        for n, (a, b) in pairs.items()}))  # fmt: skip
    names = sorted({name for _, pairs in read for name in pairs})
    tensors = {}
    for name in names:
        a_in = next(pairs[name][0].shape[1] for _, pairs in read if name in pairs)
        b_out = next(pairs[name][1].shape[0] for _, pairs in read if name in pairs)
        # A module one adapter did not train changes nothing there: zero rows keep every module
        # at one rank.
        parts = [pairs[name] if name in pairs else (np.zeros((r, a_in), np.float32), np.zeros((b_out, r), np.float32))
                 for r, pairs in read]  # fmt: skip
        module = "base_model.model." + name.removesuffix(".weight")
        tensors[f"{module}.lora_A.weight"] = np.concatenate([a for a, _ in parts], axis=0)
        tensors[f"{module}.lora_B.weight"] = np.concatenate([b for _, b in parts], axis=1)
    rank = sum(r for r, _ in read)
    config = dict(configs[0])
    modules = sorted({name.removesuffix(".weight").rsplit(".", 1)[-1] for name in names})
    # The scales are folded into B, so the soup's scale is 1 (alpha = r).
    config.update(r=rank, lora_alpha=rank, use_rslora=False, target_modules=modules)
    (final / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(tensors, str(final / "adapter_model.safetensors"))
    return {"rank": rank, "tensors": len(names)}


def _average_full(folders: list[Path], final: Path) -> dict[str, Any]:
    import numpy as np
    from safetensors.numpy import save_file

    states = [_load_safetensors(folder / "model.safetensors") for folder in folders]
    names = set(states[0])
    for folder, state in zip(folders[1:], states[1:]):
        if set(state) != names or any(state[n].shape != states[0][n].shape for n in names):
            raise InputError(f"{folder} holds other tensors than {folders[0]}; only models of one architecture average")
    mean = {n: (sum(s[n].astype(np.float32) for s in states) / len(states)).astype(states[0][n].dtype) for n in names}
    save_file(mean, str(final / "model.safetensors"), metadata={"format": "pt"})
    return {"tensors": len(mean)}
