"""One OpenAI message converter for the ``openai`` format and the ``openai`` target.

The two used to disagree on a message with several text parts: the target joined them with
newlines (text the user never wrote), the format kept the parts. The OpenAI API takes a list of
content parts as it is, so both now keep the parts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.data.messages import to_openai_messages
from redline.data.schema import Message

TWO_TEXTS = {"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]}
PARTS = [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]


def _msg(d: dict) -> Message:
    return Message.model_validate(d)


def test_one_text_part_is_a_string_and_several_stay_parts() -> None:
    out = to_openai_messages([_msg({"role": "system", "content": "Be brief."}), _msg(TWO_TEXTS)])
    assert out == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PARTS}]


def test_images_use_the_given_url_function_and_extras_are_merged() -> None:
    m = _msg({"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                          {"type": "image", "url": "https://example.test/x.png"}]})
    out = to_openai_messages([m], image_url=lambda p: f"checked:{p.url}", extras=[{"weight": 0}])
    assert out == [{"role": "user", "weight": 0, "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "checked:https://example.test/x.png"}}]}]


def test_an_empty_message_is_the_empty_string() -> None:
    assert to_openai_messages([_msg({"role": "assistant", "content": []})]) == [{"role": "assistant", "content": ""}]


def test_target_and_format_send_the_same_content(tmp_path: Path) -> None:
    from redline.data.io import convert
    from redline.targets.openai import to_openai_messages as target_messages

    assert target_messages([_msg(TWO_TEXTS)]) == [{"role": "user", "content": PARTS}]  # not "Part one.\nPart two."
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "messages": [TWO_TEXTS, {"role": "assistant", "content": "Sure."}]}) + "\n")
    out = tmp_path / "out.oa.jsonl"
    convert(src, out, to="openai")
    written = json.loads(out.read_text())
    assert written["messages"][0] == {"role": "user", "content": PARTS}
    assert written["messages"][0] == target_messages([_msg(TWO_TEXTS)])[0]


def test_target_still_refuses_file_urls() -> None:
    from redline.targets.base import SampleError
    from redline.targets.openai import to_openai_messages as target_messages

    m = _msg({"role": "user", "content": [{"type": "image", "url": "file:///etc/passwd"}]})
    with pytest.raises(SampleError, match="not sent"):
        target_messages([m])
