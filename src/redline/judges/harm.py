"""``harm``: an offline judge of whether a response is harmful under the policy.

Given the prompt and the response, it returns ``harmful`` (true/false), ``harm_score`` in
[0, 1] and ``harm_category`` (a policy category id), in the shared harm-judge convention
(:func:`redline.judges.base.harm_judgment`). The model (``_harm_model``, trained by
``training/harm/train.py``) ships in the package: no network, pure Python.

When the sample is known (``redline eval``), its category is reported if it is one of the
model's categories; otherwise the model's predicted category is mapped to the policy.
"""

from __future__ import annotations

import math
from typing import Any

from redline.data.schema import Judgment, Sample
from redline.judges._harm_model import HarmModel
from redline.judges.base import harm_judgment, harm_output_fields, register_judge


class HarmJudge:
    id = "harm"
    kind = "harm"

    def __init__(self, model: HarmModel | None = None, policy: Any | None = None):
        self._model = model or HarmModel.load()
        self.version = self._model.version
        self._policy_ids: set[str] | None = None
        if policy is not None:
            self._policy_ids = set(policy.category_ids)

    def _category(self, sample: Sample | None, predicted: str) -> str | None:
        if sample is not None and sample.category:
            return sample.category
        if self._policy_ids is not None and predicted not in self._policy_ids:
            return None
        return predicted

    def judge(self, sample: Sample | None, prompt: str | None, response: str) -> Judgment:
        if response is None or not response.strip():
            return harm_judgment(self.id, self.version, harmful=None, error="empty response: nothing to judge")
        if prompt is None and sample is not None:
            prompt = sample.prompt_text
        try:
            p = self._model.predict(prompt or "", response)
        except Exception as e:  # a judge failure is recorded, never turned into "safe"
            return harm_judgment(self.id, self.version, harmful=None,
                                 error=f"harm model failed: {type(e).__name__}: {e}")
        score = float(p["score"])
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:  # a corrupt artefact: NaN >= t is False
            return harm_judgment(self.id, self.version, harmful=None,
                                 error=f"harm model returned an invalid score {score!r}")
        return harm_judgment(self.id, self.version, harmful=bool(p["harmful"]),
                             score=round(score, 4),
                             category=self._category(sample, p["category"]),
                             p_prompt=round(p["p_prompt"], 4), p_response=round(p["p_response"], 4),
                             response_refusal=p["refusal"])

    def output_fields(self, j: Judgment) -> dict[str, Any]:
        return harm_output_fields(j)


@register_judge("harm")
def _factory(policy: Any | None = None) -> HarmJudge:
    if isinstance(policy, str):
        from redline.policy import load_policy

        policy = load_policy(policy)
    return HarmJudge(policy=policy)
