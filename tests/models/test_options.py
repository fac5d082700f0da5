"""Backend options (``-M key=value``): each backend checks its own, before any work."""

from __future__ import annotations

import pytest

from adhere.cli import main
from adhere.errors import InputError
from adhere.models.base import check_options, options_type


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("openai:m", {"base_ur": "http://x"}, r"model options \(openai\): unknown key 'base_ur' \(did you mean "
                                              r"'base_url'\?\); valid keys: base_url, api_key_env, timeout"),
        ("local", {"n_parallel": "many"}, r"model options \(local\) n_parallel: expected an integer, got 'many'"),
        ("local", {"n_ctx": 0}, r"model options \(local\): n_ctx must be at least 1, got 0"),
        ("gguf:x.gguf", {"batch_size": 4}, r"unknown key 'batch_size'; valid keys: n_ctx, n_parallel, n_threads, lora"),
        ("hf:m", {"n_parallel": 2}, r"model options \(hf\): unknown key 'n_parallel'; valid keys: batch_size"),
        ("vllm:m", {"gpu_memory_utilization": 1.5}, r"gpu_memory_utilization must be in \(0, 1\], got 1.5"),
    ],
)
def test_a_bad_option_is_one_line_naming_the_backend_and_key(spec, options, message):
    with pytest.raises(InputError, match=message) as caught:
        check_options(spec, options)
    assert "\n" not in str(caught.value)


def test_options_are_converted_and_only_the_given_ones_kept():
    assert check_options("openai:m", {"timeout": 5, "base_url": "http://h/v1"}) == {"timeout": 5.0, "base_url": "http://h/v1"}
    assert check_options("local", {}) == {}
    assert options_type("gguf:x").__name__ == "LlamaCppOptions"


def test_the_cli_reads_dash_m_as_toml_values_and_refuses_bad_ones(tmp_path, capsys):
    from adhere.cli import model_options

    assert model_options("openai:m", ["timeout=2.5", "concurrency=3", "base_url=http://127.0.0.1:1/v1"]) == {
        "timeout": 2.5, "concurrency": 3, "base_url": "http://127.0.0.1:1/v1"}  # fmt: skip
    out = tmp_path / "run"
    assert main(["eval", "ifeval", "--model", "openai:m", "-M", "timeout", "--out-dir", str(out)]) == 2
    assert "-M takes KEY=VALUE, got 'timeout'" in capsys.readouterr().err
    assert main(["eval", "ifeval", "--model", "local", "-M", "lora_path=x.gguf", "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key 'lora_path'" in err[0] and "valid keys: n_ctx, n_parallel, n_threads, lora" in err[0]
    assert not out.exists()
