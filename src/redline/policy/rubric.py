"""The rubric model: a guideline pack that scores items on criteria instead of a harm taxonomy.

A guideline pack is either a harm taxonomy (:class:`~redline.policy.model.Policy`, the default)
or, with ``kind: rubric`` at the top of its YAML, a :class:`Rubric`: named, versioned
``criteria``, each with ordered scoring ``levels`` (an integer ``value``, a short ``label`` and
a ``descriptor`` saying what an answer at that level looks like), ``examples`` per level, and a
``casebook`` of worked items whose scores are fixed for every criterion they name.

A criterion without ``levels`` uses the pack's ``levels`` (the default scale). The model accepts
levels in any order; ``redline policy lint`` reports levels that are not ascending and
contiguous, empty descriptors, levels without examples, and casebook scores for unknown
criteria or outside a criterion's scale.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from redline.policy.model import ID_PATTERN, ChangelogEntry, content_hash_of

CaseTag = Literal["clear", "borderline", "adjudicated"]
#: names a label form already uses: a criterion cannot have them as its id
RESERVED_IDS = frozenset({"reason", "rationale", "note", "item_id", "csrf", "csrf_token", "duration_s"})


class LevelExample(BaseModel):
    """An answer that earns a given level (optionally with the question it answers)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str | None = None
    response: str = Field(min_length=1)
    note: str = ""


class ScoreLevel(BaseModel):
    """One step of a criterion's scale: its value, label, descriptor and examples."""

    model_config = ConfigDict(extra="forbid")
    value: int = Field(ge=0, le=100)
    label: str = Field(min_length=1)
    descriptor: str = ""  # `redline policy lint` reports empty descriptors
    examples: list[LevelExample] = Field(default_factory=list)


class Criterion(BaseModel):
    """A criterion items are scored on (its own scale, or the pack's ``levels``)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    description: str = ""
    levels: list[ScoreLevel] = Field(default_factory=list)  # empty: the pack's levels

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_IDS:
            raise ValueError(f"criterion id {v!r} is reserved by the label form; rename the criterion "
                             f"(reserved: {', '.join(sorted(RESERVED_IDS))})")
        return v


class RubricCase(BaseModel):
    """A worked item: a question, an answer and its correct score on one or more criteria."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    tag: CaseTag = "clear"
    prompt: str = Field(min_length=1)
    response: str = Field(min_length=1)
    scores: dict[str, int] = Field(min_length=1)  # criterion id → level value
    reasoning: str = Field(min_length=1)
    adjudication: str | None = None


class Rubric(BaseModel):
    """A rubric guideline pack. ``content_hash`` identifies exactly this content."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["rubric"] = "rubric"
    name: str = Field(min_length=1)
    version: str
    description: str = ""
    owners: list[str] = Field(default_factory=list)
    changelog: list[ChangelogEntry] = Field(default_factory=list)
    audience: str | None = None
    data: str | None = None  # the built-in data file (packs/suites/NAME.jsonl) that goes with it
    levels: list[ScoreLevel] = Field(default_factory=list)  # the default scale
    criteria: list[Criterion] = Field(min_length=1)
    casebook: list[RubricCase] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _unique_and_scaled(self) -> Rubric:
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"duplicate criterion id {c.id!r}; give every criterion a unique id")
            seen.add(c.id)
            if not c.levels and not self.levels:
                raise ValueError(f"criterion {c.id!r} has no levels and the pack gives no default "
                                 "'levels'; add levels to the criterion or to the pack")
        case_ids: set[str] = set()
        for case in self.casebook:
            if case.id in case_ids:
                raise ValueError(f"duplicate casebook case id {case.id!r}; give every case a unique id")
            case_ids.add(case.id)
        return self

    _hash: str | None = PrivateAttr(default=None)

    @property
    def content_hash(self) -> str:
        """``sha256:<16 hex>`` over the content (computed once: treat a loaded pack as read-only)."""
        if self._hash is None:
            self._hash = content_hash_of(self)
        return self._hash

    @property
    def criterion_ids(self) -> list[str]:
        """The criteria's ids, in file order."""
        return [c.id for c in self.criteria]

    @property
    def category_ids(self) -> list[str]:
        """A rubric has no harm categories (always empty; lets project code treat packs alike)."""
        return []

    def criterion(self, cid: str) -> Criterion:
        """Find a criterion by id.

        Args:
            cid: The criterion's id.

        Returns:
            The criterion.

        Raises:
            KeyError: No criterion has that id.
        """
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def levels_for(self, cid: str) -> list[ScoreLevel]:
        """Give the scale that applies to a criterion: its own levels, else the pack's.

        Args:
            cid: The criterion's id.

        Returns:
            The levels, in file order.

        Raises:
            KeyError: No criterion has that id.
        """
        return list(self.criterion(cid).levels or self.levels)

    def values_for(self, cid: str) -> list[int]:
        """List a criterion's level values, lowest first.

        Args:
            cid: The criterion's id.

        Returns:
            The sorted, distinct values of its scale.

        Raises:
            KeyError: No criterion has that id.
        """
        return sorted({lv.value for lv in self.levels_for(cid)})

    def cases_for(self, cid: str) -> list[RubricCase]:
        """List the casebook entries that score a criterion.

        Args:
            cid: The criterion's id.

        Returns:
            The matching cases, in casebook order.
        """
        return [c for c in self.casebook if cid in c.scores]
