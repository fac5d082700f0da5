"""``adhere export``: a trained model back to llama.cpp, as a GGUF file the embedded backend runs.

The base GGUF (the file ``adhere train`` loaded) is the template: its metadata (architecture,
hyperparameters, tokenizer, chat template) is copied as it is, and its tensors are written in
their order, each either unchanged or replaced by the trained weights. Nothing but ``gguf``,
``numpy`` and ``safetensors`` runs, so it works offline and needs no llama.cpp checkout.

- ``q8_0`` / ``f16`` / ``f32``: the merged model. For a LoRA run each targeted weight becomes
  ``W + scale * B @ A`` where ``W`` is the base GGUF's own tensor, dequantized: exactly the
  weights the adapter was trained against. ``q8_0`` keeps what was learned (requantizing to the
  base's Q4_1 lost it in a trial here), at 1.5x the size of the Q4_1 base.
- ``lora``: a llama.cpp LoRA adapter GGUF (``general.type = adapter``) that llama.cpp applies at
  run time on top of the unchanged Q4_1 base (``adhere eval --model local -M lora=FILE``).

llama.cpp stores the query and key projections of llama-architecture models with each head's
rows reordered for its rotary embedding (rows ``[0, 2, 4, ..., 1, 3, 5, ...]`` of a head become
its first and second halves; transformers undoes this when it loads a GGUF). Trained q/k weights,
and the B matrices of q/k adapters (the reorder acts on output rows, so ``P(BA) = (PB)A``), are
reordered the same way before they are written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from adhere.errors import InputError, MissingExtraError

KINDS = ("q8_0", "f16", "f32", "lora")
INSTALL_HINT = "pip install 'adhere[train]'"
#: Architectures whose GGUF layout this exporter knows (llama: q/k rows reordered per head).
ARCHITECTURES = ("llama",)


def _imports() -> Any:
    try:
        import gguf
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError as error:
        raise MissingExtraError(f"export needs {error.name}: {INSTALL_HINT}") from None
    return gguf


def rope_reorder(weight: Any, n_head: int) -> Any:
    """The row order llama.cpp stores a llama q or k projection in (``weight``: [out, in]).

    Within each head, the rows come as interleaved pairs (transformers' rotate-half layout read
    as pairs); llama.cpp wants every pair's first member, then every pair's second member.
    """
    rows = weight.shape[0]
    if rows % (2 * n_head):
        raise InputError(f"cannot reorder a projection of {rows} rows over {n_head} heads")
    heads = weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
    return heads.swapaxes(1, 2).reshape(weight.shape)


def dense(tensor: Any) -> Any:
    """A GGUF reader tensor as float32, shaped [rows, columns] like the torch weight."""
    import numpy as np

    gguf = _imports()
    values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(tuple(reversed([int(n) for n in tensor.shape])))


def find_weights(path: Path) -> Path:
    """The folder holding the trained weights: a training folder's ``final/``, a checkpoint, or
    a folder saved by PEFT or transformers."""
    if not path.exists():
        raise InputError(f"{path} does not exist; give a training folder of `adhere train` or its final/")
    for folder in (path / "final", path):
        if (folder / "adapter_config.json").exists() or (folder / "model.safetensors").exists():
            return folder
    if (path / "train_config.json").exists():
        raise InputError(f"{path} holds a training run without final/ yet; finish it (rerun the train command) "
                         "or name one of its checkpoint-N folders")  # fmt: skip
    raise InputError(f"{path} holds no adapter_config.json or model.safetensors; "
                     "give a training folder of `adhere train`, its final/ or a checkpoint-N folder")  # fmt: skip


def base_spec(weights: Path, base: str | None) -> str:
    """The model spec the weights were trained from (``--base`` overrides the recorded one)."""
    if base:
        return base
    for folder in (weights, weights.parent, weights.parent.parent):
        saved = folder / "train_config.json"
        if saved.exists():
            return json.loads(saved.read_text(encoding="utf-8"))["model"]
    raise InputError(f"no train_config.json beside {weights} names the base model; pass --base local or --base gguf:PATH")


class _Base:
    """The base GGUF: its metadata fields and tensors, by name."""

    def __init__(self, path: Path):
        gguf = _imports()
        try:
            self.reader = gguf.GGUFReader(path)
        except (ValueError, OSError) as error:
            raise InputError(f"cannot read the base GGUF {path}: {error}") from None
        self.path = path
        self.arch = self.field("general.architecture")
        if self.arch not in ARCHITECTURES:
            raise InputError(f"{path}: exporting {self.arch!r} models is not supported yet "
                             f"(supported: {', '.join(ARCHITECTURES)}); use llama.cpp's convert_hf_to_gguf.py")  # fmt: skip
        self.n_head = int(self.field(f"{self.arch}.attention.head_count"))
        self.n_head_kv = int(self.field(f"{self.arch}.attention.head_count_kv") or self.n_head)
        self.n_blocks = int(self.field(f"{self.arch}.block_count"))
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, self.n_blocks)

    def field(self, key: str) -> Any:
        found = self.reader.fields.get(key)
        return found.contents() if found is not None else None

    def gguf_name(self, hf_name: str) -> str:
        """``model.layers.0.self_attn.q_proj.weight`` -> ``blk.0.attn_q.weight``."""
        name = self.names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None or name not in self.tensors:
            raise InputError(f"trained weight {hf_name} has no tensor in {self.path.name}; "
                             "were these weights trained from this base model?")  # fmt: skip
        return name

    def reorder(self, gguf_name: str, rows: Any) -> Any:
        """Rows of a trained weight (or of a LoRA B) in the order llama.cpp stores them."""
        if gguf_name.endswith("attn_q.weight"):
            return rope_reorder(rows, self.n_head)
        if gguf_name.endswith("attn_k.weight"):
            return rope_reorder(rows, self.n_head_kv)
        return rows

    def dense(self, name: str) -> Any:
        return dense(self.tensors[name])

    def copy_metadata(self, writer: Any, skip: tuple[str, ...] = ()) -> None:
        gguf = _imports()
        for key, found in self.reader.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture" or key in skip:
                continue
            vtype = found.types[0]
            sub_type = found.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            if vtype == gguf.GGUFValueType.ARRAY and len(found.types) > 2:
                raise InputError(f"{self.path.name}: nested array metadata ({key}) is not supported")
            writer.add_key_value(key, found.contents(), vtype, sub_type=sub_type)


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for a bad file
        raise InputError(f"cannot read {path}: {error}") from None


def _adapter(folder: Path) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """(adapter config, {HF weight name: (A, B)}) of a PEFT LoRA adapter folder."""
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        raise InputError(f"{folder}: only LoRA adapters can be exported, not {config.get('peft_type')}")
    if config.get("use_dora"):
        raise InputError(f"{folder}: DoRA adapters cannot be exported yet; merge them with PEFT and export the full model")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise InputError(f"{folder}: adapters with per-module ranks or alphas cannot be exported yet")
    if config.get("modules_to_save"):
        raise InputError(f"{folder}: adapters with modules_to_save cannot be exported yet")
    files = [folder / "adapter_model.safetensors"]
    if not files[0].exists():
        raise InputError(f"{folder} has no adapter_model.safetensors")
    pairs: dict[str, dict[str, Any]] = {}
    for key, value in _load_safetensors(files[0]).items():
        module, _, part = key.rpartition(".lora_")
        if part not in ("A.weight", "B.weight"):
            raise InputError(f"{folder}: unexpected adapter tensor {key}")
        module = module.removeprefix("base_model.model.")
        pairs.setdefault(module + ".weight", {})[part[0]] = value
    missing = [name for name, pair in pairs.items() if len(pair) != 2]
    if missing:
        raise InputError(f"{folder}: adapter tensor {missing[0]} lacks its lora_A or lora_B")
    return config, {name: (pair["A"], pair["B"]) for name, pair in pairs.items()}


def _scale(config: dict[str, Any]) -> float:
    rank, alpha = int(config["r"]), float(config["lora_alpha"])
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def export(path: Path, out: Path, kind: str = "q8_0", base: str | None = None) -> dict[str, Any]:
    """Write the trained model in ``path`` as ``out`` (a GGUF of ``kind``); returns a summary."""
    if kind not in KINDS:
        raise InputError(f"export type must be one of {', '.join(KINDS)}, got {kind!r}")
    gguf = _imports()
    import numpy as np

    from adhere.models.llamacpp import gguf_path

    weights = find_weights(path)
    spec = base_spec(weights, base)
    source = _Base(gguf_path(spec, "export").resolve())
    if out.suffix != ".gguf":
        raise InputError(f"--out must be a .gguf file, got {out}")
    is_adapter = (weights / "adapter_config.json").exists()
    if kind == "lora" and not is_adapter:
        raise InputError(f"{weights} holds a fully trained model, not a LoRA adapter; export it as q8_0, f16 or f32")

    trained: dict[str, Any] = {}  # GGUF tensor name -> new dense weight (llama.cpp row order)
    lora: dict[str, tuple[Any, Any]] = {}
    config: dict[str, Any] = {}
    if is_adapter:
        config, pairs = _adapter(weights)
        for hf_name, (a, b) in pairs.items():
            name = source.gguf_name(hf_name)
            lora[name] = (a.astype(np.float32), source.reorder(name, b.astype(np.float32)))
    else:
        tied = "output.weight" not in source.tensors  # the output projection is the embedding
        for hf_name, value in _load_safetensors(weights / "model.safetensors").items():
            if hf_name == "lm_head.weight" and tied:
                continue
            name = source.gguf_name(hf_name)
            trained[name] = source.reorder(name, value.astype(np.float32))

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), source.arch)
    if kind == "lora":
        writer.add_string("general.type", "adapter")
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        rank = int(config["r"])
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, _scale(config) * rank)  # llama.cpp: scale = alpha / rank
        name_field = source.field("general.name")
        if name_field:
            writer.add_string("general.name", f"{name_field} LoRA")
        for name, (a, b) in lora.items():
            writer.add_tensor(f"{name}.lora_a", a)
            writer.add_tensor(f"{name}.lora_b", b)
    else:
        file_type = {"q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "f16": gguf.LlamaFileType.MOSTLY_F16,
                     "f32": gguf.LlamaFileType.ALL_F32}[kind]  # fmt: skip
        source.copy_metadata(writer, skip=("general.file_type",))
        writer.add_file_type(int(file_type))
        scale = _scale(config) if config else 0.0
        for name, tensor in source.tensors.items():
            value = trained.get(name)
            if name in lora:
                a, b = lora[name]
                value = source.dense(name) + scale * (b @ a)
            _write_tensor(writer, name, tensor, value, kind)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
    finally:
        writer.close()
    partial.replace(out)
    return {
        "out": str(out), "type": kind, "base": str(source.path), "weights": str(weights),
        "adapter": is_adapter, "tensors_changed": len(lora) + len(trained), "bytes": out.stat().st_size,
    }  # fmt: skip


def _write_tensor(writer: Any, name: str, tensor: Any, value: Any, kind: str) -> None:
    """One tensor of a merged export: ``value`` (dense, new) or the base's own, in ``kind``."""
    import numpy as np

    gguf = _imports()
    q8 = gguf.GGMLQuantizationType.Q8_0
    if value is None and (tensor.tensor_type == gguf.GGMLQuantizationType.F32 or (kind == "q8_0" and tensor.tensor_type == q8)):
        # Unchanged and already in the target type: copied byte for byte.
        writer.add_tensor(name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
        return
    if value is None:
        value = dense(tensor)
    value = np.ascontiguousarray(value, dtype=np.float32)
    if value.ndim == 1 or kind == "f32":
        writer.add_tensor(name, value)
    elif kind == "q8_0" and value.shape[-1] % gguf.GGML_QUANT_SIZES[q8][0] == 0:
        writer.add_tensor(name, gguf.quants.quantize(value, q8), raw_dtype=q8)
    else:  # f16, or a row length q8_0 cannot block
        writer.add_tensor(name, value.astype(np.float16))

