"""Issue 19, review of the security fixes: what still got through an adversarial pass.

- ``redact`` took time quadratic in the length of text with long runs of ``a-b.c+…`` (a server's
  error body, a judge's answer): a hostile server could stall ``eval`` for hours;
- credentials in JSON bodies (``"api_key": "…"``), query parameters with a prefix
  (``subscription-key=``), ``Bearer%20…`` and a token as a base URL's user name were kept;
- a placeholder key (``OPENAI_API_KEY=EMPTY``, as vLLM users set) masked that word in every
  answer, changing the text that is graded;
- ``redline sql --timeout inf`` (or over ~24 days) crashed on PostgreSQL, and the library took
  negative or NaN timeouts;
- ``REDLINE_MAX_IMAGE_MB=inf`` crashed every read of a local image.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli, run_cli

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


# ------------------------------------------------------------------ redaction


def test_redact_finishes_on_long_hostile_text() -> None:
    """1 MB of scheme-like characters: the quadratic version needs over an hour; the limit only
    stops a hang (it is not a speed assertion)."""
    code = (
        "from redline.redact import redact\n"
        "from redline.targets.openai import OpenAITarget\n"
        "t = OpenAITarget('m', 'http://h/v1', 'sk-test-0123456789abcdefSECRET')\n"
        "for s in ('a-' * 500_000, 'sk.' * 300_000, 'x+y' * 300_000):\n"
        "    assert len(redact(s)) == len(s)\n"
        "    assert len(t._redact(s)) == len(s)\n"
        "print('done')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and p.stdout.strip() == "done", p.stderr[-2000:]


def test_redact_masks_more_credential_shapes() -> None:
    from redline.redact import redact

    cases = {
        '{"error": {"api_key": "zq81kd0aVV"}}': "zq81kd0aVV",
        "{'apiKey': 'zq81kd0aVV'}": "zq81kd0aVV",
        '{"access_token": "zq81kd0aVV", "n": 1}': "zq81kd0aVV",
        '{"client_secret":"zq81kd0aVV"}': "zq81kd0aVV",
        '{"password": "hunter2hunter2"}': "hunter2hunter2",
        "GET https://h/x?subscription-key=zq81kd0aVV&a=1": "zq81kd0aVV",
        "GET https://h/x?a=1&x-goog-api-key=zq81kd0aVV": "zq81kd0aVV",
        "GET https://h/x?refresh_token=zq81kd0aVV": "zq81kd0aVV",
        "Authorization%3A%20Bearer%20zq81kd0aVV": "zq81kd0aVV",
        "auth=Bearer+zq81kd0aVV": "zq81kd0aVV",
        "ocp-apim-subscription-key: zq81kd0aVV": "zq81kd0aVV",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), text
    # ordinary content stays readable: error codes, token counts, API versions
    keep = ('{"error": {"code": "invalid_api_key", "type": "invalid_request_error"}, '
            '"usage": {"prompt_tokens": 12, "max_tokens": 5}} https://h/v1?api-version=2024-02-01&limit=3')
    assert redact(keep) == keep


def test_url_secrets_include_a_token_given_as_user_name() -> None:
    from redline.redact import url_secrets
    from redline.targets.openai import OpenAITarget

    assert "ghtokzq81kd0aVV" in url_secrets("https://ghtokzq81kd0aVV@h.example/v1")
    # a key-named query value as sent (encoded) and decoded: a server may echo either
    assert {"a%2Bb9999", "a+b9999"} <= set(url_secrets("https://h/v1?x=1&subscription-key=a%2Bb9999"))
    t = OpenAITarget("m", "https://ghtokzq81kd0aVV@h.example/v1", None)
    assert "ghtokzq81kd0aVV" not in t._redact("proxy said: token ghtokzq81kd0aVV is not valid")
    assert "ghtokzq81kd0aVV" not in t._shown_url


def test_placeholder_keys_do_not_change_graded_answers() -> None:
    from redline.redact import redact
    from redline.targets.openai import OpenAITarget

    for placeholder in ("EMPTY", "dummy", "none", "token", "placeholder"):
        t = OpenAITarget("m", "http://127.0.0.1:1/v1", placeholder)
        answer = f"The {placeholder} list: a token, a dummy and none EMPTY."
        assert t.redact_answer(answer) == answer, placeholder
    # real keys, short or of an unusual shape, are still masked everywhere
    for key in ("k9x2", "my.key/with+odd=chars", "ABCDEFGHIJKLMNOPQRST", "0123456789"):
        t = OpenAITarget("m", "http://127.0.0.1:1/v1", key)
        assert key not in t.redact_answer(f"you sent {key}!") and key not in t._redact(f"key={key}")
    assert redact("you sent 12345678", ["12345678"]) == "you sent ***"


# ------------------------------------------------------------------ sql --timeout


def test_sql_timeout_values_in_the_library(workspace: Path) -> None:
    from redline.errors import InputError
    from redline.workspace import Workspace

    db = Workspace.default().db
    for bad in (-1.0, math.nan):
        with pytest.raises(InputError, match="timeout"):
            db.query_readonly("SELECT 1", timeout=bad)
    assert db.query_readonly("SELECT 1", timeout=math.inf) == (["1"], [(1,)])  # no limit
    assert db.query_readonly("SELECT 1", timeout=0) == (["1"], [(1,)])


def test_sql_timeout_inf_and_huge_on_postgres(workspace: Path) -> None:
    from tests._pg import start_postgres

    url, stop = start_postgres()
    try:
        assert run_cli("sql", "--db", url, "SELECT 1").returncode == 0
        for t in ("inf", "1e12", "0"):
            p = run_cli("sql", "--db", url, "--no-sync", "SELECT 41 + 1 AS n", "--format", "csv", "--timeout", t)
            assert p.returncode == 0 and p.stdout.splitlines() == ["n", "42"], (t, p.stderr[-800:])
        # a finite timeout still stops a runaway statement
        p = cli("sql", "--db", url, "--no-sync", RUNAWAY, "--timeout", "1", timeout=90)
        assert p.returncode == 2 and "query stopped after 1 s" in p.stderr, p.stderr[-800:]
    finally:
        stop()


# ------------------------------------------------------------------ image size limit


@pytest.mark.parametrize("raw", ["inf", "1e400", "-inf", "nan"])
def test_non_finite_image_size_limit_falls_back_to_the_default(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from redline.data.images import DEFAULT_MAX_IMAGE_MB, MAX_IMAGE_ENV, default_max_bytes

    monkeypatch.setenv(MAX_IMAGE_ENV, raw)
    assert default_max_bytes() == DEFAULT_MAX_IMAGE_MB * 1024 * 1024
    monkeypatch.setenv(MAX_IMAGE_ENV, "0.5")
    assert default_max_bytes() == 512 * 1024
    assert os.environ[MAX_IMAGE_ENV] == "0.5"


def test_known_key_is_masked_in_the_forms_servers_echo_it() -> None:
    """A key with ``/``, ``+``, ``=`` or ``"`` comes back JSON-escaped, as PHP's ``\\/`` or
    URL-encoded; each form is masked, in answers too (where only known secrets are)."""
    from redline.targets.openai import OpenAITarget

    key = 'gw/Zq81+kd0a=="x'
    t = OpenAITarget("m", "http://127.0.0.1:1/v1", key)
    for echoed in ('gw\\/Zq81+kd0a==\\"x', 'gw/Zq81+kd0a==\\"x', "gw%2FZq81%2Bkd0a%3D%3D%22x",
                   "gw/Zq81%2Bkd0a%3D%3D%22x"):
        for out in (t.redact_answer(f"you sent [{echoed}]"), t._redact(f"you sent [{echoed}]")):
            assert out == "you sent [***]", (echoed, out)


def test_unencodable_image_path_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    from redline.data.images import ImageRejected, image_access, read_image
    from redline.data.schema import ImagePart

    (tmp_path / "s.jsonl").write_text("")
    with image_access(tmp_path / "s.jsonl"), pytest.raises(ImageRejected, match="not a valid path"):
        read_image("\ud800.png")
    with image_access(tmp_path / "s.jsonl"), pytest.raises(ValueError, match="not a valid path"):
        ImagePart(path="x\ud800.png").data_url()


ECHO = Path(__file__).with_name("fake_echo_server.py")


@pytest.fixture
def echo_base(tmp_path: Path):
    """The hostile echo server (tests/fake_echo_server.py): its base URL."""
    proc = subprocess.Popen([sys.executable, str(ECHO)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    proc.terminate()
    proc.wait(10)


def test_key_echoed_in_usage_or_finish_reason_is_not_stored(workspace: Path, echo_base: str) -> None:
    from tests.helpers import read_results, write_policy, write_suite

    key = "zq81kd0aVV-unusual.key"
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": "a", "prompt": "2+2?", "category": "violent_crimes", "expected": "comply"}])
    out = workspace / "run"
    p = run_cli("eval", "--target", "openai:echo-usage", "--base-url", echo_base, "--suite", str(suite),
            "--policy", str(policy), "--judge", "refusal", "--no-progress", "--out", str(out),
            "--max-retries", "0", env_extra={"OPENAI_API_KEY": key})
    assert p.returncode == 0, p.stderr[-2000:]
    r = read_results(out / "results.jsonl")[0]
    assert r["response"] == "Sure: 4." and r["error"] is None
    assert r["usage"] == {"prompt_tokens": None, "completion_tokens": 3, "total_tokens": None}
    stored = b"".join(f.read_bytes() for root in (out, workspace / "home") for f in root.rglob("*") if f.is_file())
    assert key.encode() not in stored
