"""Issue 19, security: local files never leave through image parts; secrets echoed by servers
are redacted everywhere they are stored; base URLs with a query; image_url strings."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import eval_args, read_results, run_cli, write_policy, write_suite

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SECRET = "sk-test-0123456789abcdefSECRET"
ECHO = Path(__file__).with_name("fake_echo_server.py")


@pytest.fixture
def echo_server(tmp_path: Path):
    """The hostile echo server (tests/fake_echo_server.py): ``(base_url, log_path)``."""
    log = tmp_path / "echo-requests.jsonl"
    proc = subprocess.Popen([sys.executable, str(ECHO), "--log", str(log)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    yield f"http://127.0.0.1:{int(line.split()[1])}/v1", log
    proc.terminate()
    proc.wait(10)


def _data_url(b: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(b).decode()


def _all_bytes(*roots: Path) -> bytes:
    out = b""
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                out += p.read_bytes()
    return out


# ------------------------------------------------------------------ item 1: image parts, unit level


def test_read_image_only_inside_allowed_folders(tmp_path: Path) -> None:
    from redline.data.images import ImageRejected, image_access, read_image

    data = tmp_path / "suite"
    data.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (data / "ok.png").write_bytes(PNG)
    (data / "sub").mkdir()
    (data / "sub" / "ok2.png").write_bytes(PNG)
    (outside / "secret.png").write_bytes(PNG)
    (data / "notes.png").write_text("OPENAI_API_KEY=sk-not-an-image\n")
    os.symlink(outside / "secret.png", data / "link.png")
    os.symlink("/etc/passwd", data / "passwd.png")
    os.mkfifo(data / "fifo.png")
    suite = data / "suite.jsonl"

    # no folder allowed at all (library use without image_access): nothing is read
    with pytest.raises(ImageRejected, match="none is set"):
        read_image(str(data / "ok.png"))
    with image_access(suite):
        assert read_image("ok.png") == (PNG, "image/png")  # relative to the data file's folder
        assert read_image("sub/ok2.png")[1] == "image/png"
        assert read_image(str(data / "ok.png"))[1] == "image/png"
        for bad in ("/proc/self/environ", "/etc/passwd", "../outside/secret.png", str(outside / "secret.png"),
                    "link.png", "passwd.png", "sub/../../outside/secret.png"):
            with pytest.raises(ImageRejected, match="outside the allowed folders"):
                read_image(bad)
        with pytest.raises(ImageRejected, match="not a PNG, JPEG, GIF or WebP"):
            read_image("notes.png")
        with pytest.raises(ImageRejected, match="not a regular file"):
            read_image("fifo.png")
        with pytest.raises(ImageRejected, match="not found"):
            read_image("missing.png")
        with image_access(extra_roots=[outside]):  # --allow-image-root
            assert read_image(str(outside / "secret.png"))[0] == PNG
            assert read_image("link.png")[0] == PNG  # the link now leads inside an allowed folder


def test_read_image_size_limit_and_real_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    PIL = pytest.importorskip("PIL.Image", reason="Pillow makes the reference images")
    from redline.data.images import ImageRejected, image_access, read_image, sniff_image

    img = PIL.new("RGB", (7, 5), (200, 30, 30))
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")):
        buf = io.BytesIO()
        img.save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        assert sniff_image(buf.getvalue()) == mime, fmt
        if fmt == "WEBP":
            buf = io.BytesIO()
            img.save(buf, fmt, quality=50)  # lossy VP8
            assert sniff_image(buf.getvalue()) == mime
        # truncated or corrupted: not an image
        with pytest.raises(ImageRejected):
            sniff_image(buf.getvalue()[:20])
    bad_crc = bytearray(PNG)
    bad_crc[20] ^= 0xFF
    with pytest.raises(ImageRejected, match="checksum"):
        sniff_image(bytes(bad_crc))
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * (2 * 1024 * 1024))
    monkeypatch.setenv("REDLINE_MAX_IMAGE_MB", "1")
    with image_access(tmp_path / "x.jsonl"), pytest.raises(ImageRejected, match="over the limit"):
        read_image("big.png")
    with image_access(tmp_path / "x.jsonl", max_bytes=10):
        with pytest.raises(ImageRejected, match="over the limit"):
            read_image(str(tmp_path / "big.png"))


# ------------------------------------------------------------------ item 1: eval and convert, end to end


def _hostile_suite(workspace: Path, answered: bool = False) -> tuple[Path, Path, Path]:
    """A suite folder whose image parts point everywhere; returns (suite, outside PNG, inside PNG).
    ``answered``: each row has an assistant turn (a chat data set, as the openai format needs)."""
    d = workspace / "downloaded-suite"
    d.mkdir()
    outside = workspace / "private"
    outside.mkdir()
    secret_png = outside / "holiday.png"
    secret_png.write_bytes(PNG + b"")  # a real image, but not the suite's
    (d / "ok.png").write_bytes(PNG)
    (d / "env.png").write_text(f"OPENAI_API_KEY={SECRET}\n")
    os.symlink("/proc/self/environ", d / "environ.png")
    paths = {"environ": "/proc/self/environ", "passwd": "/etc/passwd", "dotdot": "../private/holiday.png",
             "abs": str(secret_png), "link": "environ.png", "notimage": "env.png", "ok": "ok.png"}
    recs = [{"id": k, "category": "violent_crimes", "expected": "comply", "messages": [
        {"role": "user", "content": [{"type": "text", "text": f"What is in this picture? {k} [[comply]]"},
                                     {"type": "image", "path": v}]}]} for k, v in paths.items()]
    if answered:
        for r in recs:
            r["messages"].append({"role": "assistant", "content": "A picture."})
    return write_suite(d / "suite.jsonl", recs), secret_png, d / "ok.png"


def test_eval_never_reads_or_sends_files_outside_the_suite(workspace: Path, fake_server) -> None:
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite, secret_png, _ = _hostile_suite(workspace)
    out = workspace / "run"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out)), env_extra={"OPENAI_API_KEY": SECRET})
    assert p.returncode == 0, p.stderr
    reqs = server.requests()
    # the server got exactly one image: the suite's own
    assert [r["images"] for r in reqs] == [[_data_url(PNG)]]
    assert SECRET.encode() not in server.log.read_bytes()
    res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    assert res["ok"]["outcome"] == "safe" and res["ok"]["error"] is None
    for k in ("environ", "passwd", "dotdot", "abs", "link"):
        assert res[k]["outcome"] == "unassessable" and "outside the allowed folders" in res[k]["error"], k
        assert res[k]["response"] is None
    assert "not a PNG, JPEG, GIF or WebP image" in res["notimage"]["error"]
    assert SECRET.encode() not in _all_bytes(out, workspace / "home")
    # the owner allows the private folder explicitly: that image is now read and sent
    out2 = workspace / "run2"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out2), "--allow-image-root", str(secret_png.parent)))
    assert p.returncode == 0, p.stderr
    res = {r["sample"]["id"]: r for r in read_results(out2 / "results.jsonl")}
    assert res["abs"]["error"] is None and res["dotdot"]["error"] is None
    assert res["environ"]["error"] and res["passwd"]["error"] and res["link"]["error"]


def test_convert_to_openai_rejects_images_outside_the_input_folder(workspace: Path) -> None:
    suite, secret_png, _ = _hostile_suite(workspace, answered=True)
    out = workspace / "conv" / "oa.jsonl"
    p = run_cli("data", "convert", str(suite), str(out), "--to", "openai", "--no-register")
    assert p.returncode == 2, p.stderr
    text = out.read_text()
    assert len(text.splitlines()) == 1 and _data_url(PNG) in text  # only the suite's own image
    assert "root:" not in text and SECRET not in text
    q = [json.loads(x) for x in (workspace / "conv" / "oa.jsonl.rejected.jsonl").read_text().splitlines()]
    reasons = {r["raw"]["id"]: r["reason"] for r in q}
    assert set(reasons) == {"environ", "passwd", "dotdot", "abs", "link", "notimage"}
    assert all("outside the allowed folders" in reasons[k] for k in ("environ", "passwd", "dotdot", "abs", "link"))
    assert "not a PNG" in reasons["notimage"]
    p = run_cli("data", "convert", str(suite), str(out), "--to", "openai", "--no-register",
            "--allow-image-root", str(secret_png.parent))
    assert p.returncode == 2
    assert len(out.read_text().splitlines()) == 3  # ok, abs, dotdot


def test_only_http_and_data_image_urls_are_sent() -> None:
    from redline.data.schema import Message
    from redline.targets.base import SampleError
    from redline.targets.openai import to_openai_messages

    for url in ("file:///etc/passwd", "FILE:/proc/self/environ", "ftp://h/x.png"):
        m = Message.model_validate({"role": "user", "content": [{"type": "image", "url": url}]})
        with pytest.raises(SampleError, match="not sent"):
            to_openai_messages([m])
    m = Message.model_validate({"role": "user", "content": [{"type": "image", "url": "https://h/x.png"}]})
    assert to_openai_messages([m])[0]["content"][0]["image_url"]["url"] == "https://h/x.png"


# ------------------------------------------------------------------ item 6 (last part): image_url strings


def test_image_url_string_is_a_rejected_row_in_eval_and_judge(workspace: Path) -> None:
    policy = write_policy(workspace / "pol.yaml")
    bad_msgs = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                             {"type": "image_url", "image_url": "https://example.com/a.png"}]}]
    suite = write_suite(workspace / "s.jsonl", [
        {"id": "a", "category": "violent_crimes", "expected": "comply", "messages": bad_msgs},
        {"id": "b", "prompt": "hello", "category": "violent_crimes", "expected": "comply"}])
    p = run_cli("eval", "--suite", str(suite), "--policy", str(policy), "--target", "replay:" + str(suite),
            "--no-progress", "--out", str(workspace / "r"))
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "s.jsonl:1" in p.stderr and "image_url" in p.stderr
    inp = write_suite(workspace / "j.jsonl", [{"id": "a", "messages": bad_msgs, "response": "no"},
                                             {"id": "b", "prompt": "hi", "response": "no"}])
    out = workspace / "j.out.jsonl"
    p = run_cli("judge", "--input", str(inp), "--output", str(out), "--no-progress")
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    q = [json.loads(x) for x in (workspace / "j.out.jsonl.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in q] == [1] and q[0]["reason"].startswith("invalid record")
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["b"]


# ------------------------------------------------------------------ item 2: one redaction


def test_redact_masks_headers_tokens_url_keys_and_known_secrets() -> None:
    from redline.redact import redact, url_secrets

    text = ('got {"authorization": "Bearer sk-abcdefghijklmnopqrstuvwx", "x-api-key": "k123456"} '
            "Authorization: Basic dXNlcjpwYXNz\nfrom https://bob:hunter22@h/v1?api-version=2024&api_key=QSECRET1 "
            "and token Bearer eyJhbGciOi.abc.def and MYKEY-99 and hf_ABCDEFGHIJKLMNOPQRSTUV")
    out = redact(text, ["MYKEY-99"])
    for s in ("sk-abcdefghijklmnopqrstuvwx", "k123456", "dXNlcjpwYXNz", "hunter22", "QSECRET1",
              "eyJhbGciOi", "MYKEY-99", "hf_ABCDEFGHIJKLMNOPQRSTUV"):
        assert s not in out, s
    assert "api-version=2024" in out and "https://bob:***@h/v1" in out
    # answers graded as written: only the known secrets
    assert redact("use Authorization: Bearer <token> and MYKEY-99", ["MYKEY-99"], patterns=False) == \
        "use Authorization: Bearer <token> and ***"
    assert set(url_secrets("http://h/v1?api-version=1&key=QQQQ")) >= {"QQQQ", "api-version=1&key=QQQQ"}


def test_policy_llm_echo_of_the_key_is_never_stored(workspace: Path, fake_server, echo_server) -> None:
    base, _ = echo_server
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": f"s{i}", "prompt": f"question {i} [[comply]]", "category": "violent_crimes",
         "expected": "refuse" if i % 2 else "comply"} for i in range(4)])
    out = workspace / "run"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--judge", "refusal", "--judge", "policy-llm",
                       "--option", "policy-llm.model=openai:echo", "--option", f"policy-llm.base_url={base}",
                       "--option", "policy-llm.parse_retries=0", "--option", "policy-llm.max_retries=0"),
            env_extra={"REDLINE_JUDGE_API_KEY": SECRET})
    assert p.returncode == 0, p.stderr
    res = read_results(out / "results.jsonl")
    errs = [j["error"] for r in res for j in r["judgments"] if j.get("error")]
    assert len(errs) == 4 and all("unparseable verdict" in e and "Authorization: ***" in e for e in errs), errs
    # nowhere: results, summary, report, workspace database, caches, stdout/stderr
    p2 = run_cli("sql", "SELECT judgments FROM results")
    assert p2.returncode == 0
    blob = _all_bytes(out, workspace / "home") + p.stdout.encode() + p.stderr.encode() + p2.stdout.encode()
    assert SECRET.encode() not in blob
    # `redline judge` with a verdict whose rationale quotes the header
    inp = write_suite(workspace / "j.jsonl", [{"id": 1, "prompt": "q", "response": "an answer"}])
    jout = workspace / "j.out.jsonl"
    p = run_cli("judge", "--judge", "policy-llm", "--input", str(inp), "--output", str(jout), "--no-progress",
            "--option", "model=openai:echo-json", "--option", f"base_url={base}",
            env_extra={"REDLINE_JUDGE_API_KEY": SECRET, "REDLINE_HOME": str(workspace / "home")})
    assert p.returncode == 0, p.stderr
    assert SECRET not in jout.read_text() and '"harmful": false' in jout.read_text()
    assert SECRET.encode() not in _all_bytes(workspace / "home")  # the verdict cache holds the rationale
    assert b"Authorization: ***" in _all_bytes(workspace / "home")


def test_target_echo_of_the_key_is_not_stored(workspace: Path, echo_server) -> None:
    base, _ = echo_server
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": "a", "prompt": "hello", "category": "violent_crimes", "expected": "comply"}])
    for model in ("echo", "err", "err-cut"):
        out = workspace / f"run-{model}"
        p = run_cli("eval", "--target", f"openai:{model}", "--base-url", base, "--suite", str(suite), "--policy",
                str(policy), "--no-progress", "--out", str(out), "--max-retries", "0",
                env_extra={"OPENAI_API_KEY": SECRET})
        assert p.returncode == 0, p.stderr
        assert SECRET.encode() not in _all_bytes(out, workspace / "home") + p.stdout.encode() + p.stderr.encode()
        assert SECRET[:10].encode() not in _all_bytes(out)  # not even the part before a cut
    r = read_results(workspace / "run-err" / "results.jsonl")[0]
    assert "HTTP 400" in r["error"] and "***" in r["error"]
    r = read_results(workspace / "run-err-cut" / "results.jsonl")[0]
    assert "HTTP 400" in r["error"] and r["error"].rstrip("'\"}").endswith("xx***"), r["error"]


# ------------------------------------------------------------------ item 5: base URL with a query


def test_endpoint_url_keeps_the_query() -> None:
    from redline.targets.openai import endpoint_url

    assert endpoint_url("http://h:1/v1?api-version=2024-02-01", "chat/completions") == \
        "http://h:1/v1/chat/completions?api-version=2024-02-01"
    assert endpoint_url("http://h/openai/deployments/x/?a=1&b=2#frag", "/completions") == \
        "http://h/openai/deployments/x/completions?a=1&b=2"
    assert endpoint_url("https://h", "chat/completions") == "https://h/chat/completions"


def test_base_url_query_is_sent_and_never_shown(workspace: Path, echo_server) -> None:
    base, log = echo_server
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": "a", "prompt": "hello", "category": "violent_crimes", "expected": "comply"}])
    qbase = base + "?api-version=2024-02-01&key=QKEY-77777777"
    out = workspace / "run"
    p = run_cli("eval", "--target", "openai:err", "--base-url", qbase, "--suite", str(suite), "--policy", str(policy),
            "--no-progress", "--out", str(out), "--max-retries", "0")
    assert p.returncode == 0, p.stderr
    reqs = [json.loads(x) for x in log.read_text().splitlines()]
    assert reqs == [{"path": "/v1/chat/completions", "query": "api-version=2024-02-01&key=QKEY-77777777",
                     "images": []}]
    err = read_results(out / "results.jsonl")[0]["error"]
    assert "/v1/chat/completions" in err and "HTTP 400" in err
    assert b"QKEY-77777777" not in _all_bytes(out, workspace / "home") + p.stdout.encode() + p.stderr.encode()
    # the guard judge's completions endpoint is built the same way
    from redline.judges.guard import _CompletionsTarget

    t = _CompletionsTarget("lg", qbase, None, 5.0, 1)
    assert t._chat.url_for("completions") == base + "/completions?api-version=2024-02-01&key=QKEY-77777777"
    assert "QKEY" not in t._chat._shown_url and "QKEY" not in json.dumps(t.manifest())
