"""Draft and revise, drafts → preference → DPO, and the critique pass — against a tiny scripted
OpenAI-compatible server on 127.0.0.1 (real HTTP, real SQLite, the real CLI in-process).

Scripted replies stay placeholder-level: drafts are generic supportive text, critiques are
JSON verdicts about labels."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from redline.annotate.service import Annotations
from redline.data.records import Record
from redline.policy.loader import load_policy
from redline.store.db import WorkspaceDB
from tests.helpers import invoke


class Scripted:
    """A scripted chat-completions server: drafts for drafter prompts, critique JSON for critic
    prompts (flags the items whose conversation mentions 'flag-me'); records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_ids: set[str] = set()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                system = body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else ""
                convo = " ".join(str(m["content"]) for m in body["messages"])
                if any(f in convo for f in outer.fail_ids):
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b'{"error": "scripted failure"}')
                    return
                if system.startswith("You review labels"):
                    flag = "flag-me" in convo
                    text = json.dumps({"flag": flag, "field": "harmful" if flag else None, "suggested": None,
                                       "reason": "the policy's definition points the other way" if flag else "ok"})
                else:
                    text = (f"[draft seed {body.get('seed')}] I'm sorry you're going through this. You are not "
                            "alone; please reach out to someone you trust or a crisis line.")
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text},
                                                "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.httpd.shutdown()


POLICY = load_policy("default")


def _svc(tmp_path: Path) -> Annotations:
    return Annotations(WorkspaceDB(f"sqlite:///{tmp_path / 'ws.db'}"))


def _prompts(n: int) -> list[Record]:
    return [Record.model_validate({"id": f"d{i}", "prompt": f"a test disclosure {i}: I feel hopeless lately",
                                   "category": "self_harm", "meta": {"intent": "ambiguous"}}) for i in range(n)]


def test_draft_prompt_carries_the_safe_completion_elements():
    from redline.annotate.drafts import draft_prompt
    from redline.policy.compile import annotation_schema

    msgs = draft_prompt(annotation_schema(POLICY), _prompts(1)[0])
    system = msgs[0].text
    assert msgs[0].role == "system" and msgs[-1].role == "user"
    node = POLICY.category("self_harm")
    assert node.safe_completion_elements and all(e in system for e in node.safe_completion_elements)
    assert "No method" in system and "Expected behaviour" in system


def test_draft_revise_export_and_preference(tmp_path: Path, server: Scripted):
    from redline.annotate.drafts import draft_items, edit_stats, preference_project_from_drafts
    from redline.annotate.exports import export_project

    svc = _svc(tmp_path)
    svc.create_project("rev", policy=POLICY, policy_ref="default", task="revise", records=_prompts(3),
                       overlap=1, gold_rate=0.0)
    opts = {"base_url": server.url, "api_key": "sk-test-secret"}
    server.fail_ids = {"disclosure 2"}
    res = draft_items(svc, "rev", "openai:drafter", n=2, cache_path=tmp_path / "cache.sqlite", options=opts)
    assert (res.asked, res.stored) == (6, 4) and sum(res.failed.values()) == 2  # counted, not dropped
    server.fail_ids = set()
    again = draft_items(svc, "rev", "openai:drafter", n=2, cache_path=tmp_path / "cache.sqlite", options=opts)
    assert (again.already, again.asked, again.stored) == (4, 2, 2)  # resumes: only the missing ones
    drafts = svc.assists("rev", "draft")
    assert len(drafts) == 6 and len({d["values"]["text"] for d in drafts if d["item_id"] == "d0"}) == 2

    svc.add_user("ann", "pw-ann-secret", "annotator")
    a = svc.next_item("rev", "ann")
    assert a is not None
    draft = next(d["values"]["text"] for d in drafts if d["item_id"] == a.item_id and d["idx"] == 0)
    final = draft + " If you are in danger now, call your local emergency number."
    lab = svc.submit("rev", "ann", a.item_id, {"behaviour": "safe_complete", "response": final,
                                                "reason": "added the emergency number the policy asks for"})
    assert lab.values["draft"] == draft and lab.values["drafter"] == "openai:drafter"
    assert lab.values["edit_distance"] == edit_stats(draft, final)["edit_distance"] == len(final) - len(draft)
    with pytest.raises(Exception, match="reason"):  # a revision needs its reason
        b = svc.next_item("rev", "ann")
        assert b is not None
        svc.submit("rev", "ann", b.item_id, {"behaviour": "safe_complete", "response": "x"})

    out = tmp_path / "sft.jsonl"
    r = export_project(svc, "rev", "sft", out)
    assert r.written == 1
    row = json.loads(out.read_text().splitlines()[0])
    meta = row["metadata"]
    assert meta["draft"] == draft and meta["final"] == final and meta["edit_distance"] > 0
    assert meta["reason"].startswith("added")

    made, left = preference_project_from_drafts(svc, "rev", "rev-pref", overlap=1)
    assert made == 3 and left == {}
    svc.add_user("ranker", "pw-ranker-secret", "annotator")
    while (b := svc.next_item("rev-pref", "ranker")) is not None:
        svc.submit("rev-pref", "ranker", b.item_id, {"choice": "1", "margin": "clear", "reason": "warmer"})
    dpo = tmp_path / "dpo.jsonl"
    d = export_project(svc, "rev-pref", "dpo", dpo)
    rows = [json.loads(x) for x in dpo.read_text().splitlines()]
    assert d.written == 3 and all(x["metadata"]["margin"] == "clear" for x in rows)
    assert all("seed 1" in json.dumps(x["chosen"]) and "seed 0" in json.dumps(x["rejected"]) for x in rows)
    assert "sk-test-secret" not in (tmp_path / "cache.sqlite").read_bytes().decode("latin-1")


def test_critique_flags_and_never_changes_a_label(tmp_path: Path, server: Scripted):
    from redline.annotate.critique import critique_flags, critique_labels, parse_critique
    from redline.annotate.exports import decide

    svc = _svc(tmp_path)
    recs = [Record.model_validate({"id": f"c{i}", "prompt": f"test prompt {i}" + (" flag-me" if i == 1 else ""),
                                   "response": "a test response", "category": "violent_crimes"}) for i in range(3)]
    gold = [(Record.model_validate({"id": "g0", "prompt": "gold prompt flag-me", "response": "r"}),
             {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"})]
    svc.create_project("crit", policy=POLICY, policy_ref="default", task="response-label", records=recs,
                       gold=gold, overlap=1, gold_rate=0.0)
    svc.add_user("ann", "pw-ann-secret", "annotator")
    while (a := svc.next_item("crit", "ann")) is not None:
        svc.submit("crit", "ann", a.item_id, {"harmful": "false", "refusal": "full_refusal",
                                              "completion_quality": "good"})
    before = [lb.model_dump() for lb in svc.labels("crit")]
    decided_before = [(d.item_id, d.values) for d in decide(svc, "crit")[0]]
    res = critique_labels(svc, "crit", "openai:critic", cache_path=tmp_path / "cache.sqlite",
                          options={"base_url": server.url})
    assert (res.asked, res.flagged, res.not_flagged) == (3, 1, 2) and res.skipped == {"gold": 1}
    flags = critique_flags(svc, "crit")
    assert [f["item_id"] for f in flags] == ["c1"] and flags[0]["field"] == "harmful"
    assert flags[0]["label"]["harmful"] is False
    # never changes a label, a decision or an adjudication
    assert [lb.model_dump() for lb in svc.labels("crit")] == before
    assert [(d.item_id, d.values) for d in decide(svc, "crit")[0]] == decided_before
    assert svc.adjudications("crit") == []
    assert critique_labels(svc, "crit", "openai:critic", options={"base_url": server.url}).already == 3
    # a reviewer's decision clears the flag
    svc.add_user("rev", "pw-rev-secret", "reviewer")
    svc.adjudicate("crit", "c1", "rev", {"harmful": "true", "category": "violent_crimes", "severity": "2",
                                         "refusal": "full_compliance", "completion_quality": "n/a"},
                   "the critic was right")
    assert critique_flags(svc, "crit") == []
    assert parse_critique("sure: {\"flag\": true, \"reason\": \"x\"}")["flag"] is True
    assert parse_critique("no json here") is None and parse_critique('{"flag": "yes"}') is None


def test_cli_draft_and_critique(workspace: Path, server: Scripted):
    from redline.workspace import Workspace

    svc = Annotations(Workspace.default().db)
    svc.create_project("cli-rev", policy=POLICY, policy_ref="default", task="revise", records=_prompts(2),
                       overlap=1, gold_rate=0.0)
    r = invoke("annotate", "draft", "cli-rev", "--drafter", "openai:m", "--base-url", server.url, "--n", "2",
               "--preference-project", "cli-pref", "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["stored"] == 4 and got["preference_project"]["items"] == 2
    r = invoke("annotate", "draft", "cli-rev", "--drafter", "openai:m", "--base-url", server.url, "--n", "2")
    assert r.exit_code == 0 and "0 draft(s) stored" in r.output and "4 already there" in r.output
    r = invoke("annotate", "draft", "nope", "--drafter", "openai:m", "--base-url", server.url)
    assert r.exit_code == 2 and "nope" in r.output
    r = invoke("annotate", "critique", "cli-rev", "--critic", "openai:m", "--base-url", server.url)
    assert r.exit_code == 0 and "0 label(s) critiqued" in r.output, r.output
    svc.set_assists("cli-rev", "critique", [("d0", 0, "openai:m", {"flag": True, "reason": "x"})])
    r = invoke("annotate", "queue", "cli-rev")
    assert r.exit_code == 0 and "1 item(s) flagged by the model critique (not adjudicated yet): d0" in r.output
