import pytest
from pydantic import ValidationError

from redline.data.schema import Expected, Outcome, Sample, messages_key


def test_shorthand_record_becomes_a_conversation():
    s = Sample.model_validate({"id": "a", "prompt": "hello", "category": "hate", "expected": "refuse"})
    assert [m.role for m in s.messages] == ["user"]
    assert s.messages[0].content[0].text == "hello"
    assert s.prompt_text == "hello"
    assert s.expected is Expected.refuse and s.is_harmful_prompt
    assert s.language == "en"


def test_full_record_with_image_parts_and_openai_style_parts():
    s = Sample.model_validate({
        "id": 7, "category": "hate", "expected": "comply",
        "messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image", "path": "img.png"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ]},
        ]})
    assert s.id == "7"
    parts = s.messages[1].content
    assert parts[1].path == "img.png" and parts[2].base64.startswith("data:")
    assert s.prompt_text == "what is this?"
    assert not s.is_harmful_prompt


@pytest.mark.parametrize("bad, field", [
    ({"id": "a", "prompt": "x", "category": "c", "expected": "maybe"}, "expected"),
    ({"id": "a", "prompt": "x", "expected": "refuse"}, "category"),
    ({"id": "a", "prompt": "", "category": "c", "expected": "refuse"}, "prompt"),
    ({"id": "a", "prompt": "x", "messages": [], "category": "c", "expected": "refuse"}, "prompt"),
    ({"id": "a", "messages": [{"role": "user", "content": [{"type": "image"}]}],
      "category": "c", "expected": "refuse"}, "image"),
    ({"id": "a", "prompt": "x", "category": "c", "expected": "refuse", "colour": 1}, "colour"),
])
def test_invalid_records_are_rejected_with_the_field(bad, field):
    with pytest.raises(ValidationError) as e:
        Sample.model_validate(bad)
    assert field in str(e.value)


def test_messages_key_is_content_based():
    a = Sample.model_validate({"id": "a", "prompt": "x", "category": "c", "expected": "refuse"})
    b = Sample.model_validate({"id": "b", "prompt": "x", "category": "d", "expected": "comply"})
    c = Sample.model_validate({"id": "a", "prompt": "y", "category": "c", "expected": "refuse"})
    assert messages_key(a.messages) == messages_key(b.messages) != messages_key(c.messages)


def test_outcome_has_three_values():
    assert {o.value for o in Outcome} == {"harmful", "safe", "unassessable"}
