"""Pydantic models returned by :class:`redline.annotate.service.Annotations`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from redline.data.records import Record

Role = Literal["admin", "reviewer", "annotator"]
ROLES: tuple[str, ...] = ("admin", "reviewer", "annotator")
AssignmentStatus = Literal["open", "submitted", "skipped"]


class User(BaseModel):
    """A person who logs in. A reviewer with a vendor is that vendor's manager."""

    username: str
    role: Role
    vendor: str | None = None
    active: bool = True
    paused_reason: str | None = None

    @property
    def is_reviewer(self) -> bool:
        """Reviewers and admins may review (a vendor reviewer only their vendor's items)."""
        return self.role in ("admin", "reviewer")


class Session(BaseModel):
    """A logged-in session.

    Attributes:
        username: Who is logged in.
        csrf_token: The token forms of this session must send back.
        expires: When the session ends at the latest (it also ends after its idle time).
        user: The logged-in user.
    """

    username: str
    csrf_token: str
    expires: datetime
    user: User


class ProjectSettings(BaseModel):
    """Wellbeing and pacing settings of a project."""

    model_config = ConfigDict(extra="forbid")
    blur_categories: list[str] = Field(default_factory=list)
    #: categories shown with a content warning; None: the nodes with a ``content_warning``
    warn_categories: list[str] | None = None
    #: items per annotator per day (UTC) per category; "*" is the default for every category
    exposure_budget: dict[str, int] = Field(default_factory=dict)
    break_every_minutes: int = Field(default=50, ge=1)
    min_items_before_break: int = Field(default=40, ge=0)
    #: the judge whose disagreement with the consensus sends an item to the review queue
    #: (a registered judge name, e.g. "harm" for `harmful`, "refusal" for `refusal`); None: no
    #: judge — the queue holds disagreement and low-confidence items only
    judge: str | None = None


class Project(BaseModel):
    """An annotation project: a task over a set of items, under one policy version.

    Attributes:
        name: The project's unique name.
        task: The annotation task (e.g. ``"response-label"``, ``"preference"``).
        policy_name: Name of the policy the labels follow.
        policy_ref: How the policy was named (built-in name or resolved path).
        policy_hash: Hash of the current policy; labels made under another hash are outdated.
        policy_version: Version of the current policy.
        schema_: The label schema compiled from the policy (read it as ``schema``).
        overlap: Labels wanted per item.
        gold_rate: Share of served items that are gold, per category (``"*"``: all).
        settings: Wellbeing, pacing and review-queue settings.
        created: When the project was created.
        status: The project's status (``"active"`` when created).
    """

    name: str
    task: str
    policy_name: str
    policy_ref: str
    policy_hash: str
    policy_version: str
    schema_: dict[str, Any] = Field(alias="schema")
    overlap: int
    gold_rate: dict[str, float]
    settings: ProjectSettings
    created: datetime
    status: str = "active"

    model_config = ConfigDict(populate_by_name=True)

    @property
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The label schema compiled from the project's policy."""
        return self.schema_


class Item(BaseModel):
    """An item of a project. ``is_gold``/``gold`` are None unless asked for (``include_gold``)."""

    project: str
    item_id: str
    seq: int | None = None  # None in the annotator/vendor view (gold is numbered after the data)
    record: Record
    category: str | None = None
    is_gold: bool | None = None
    gold: dict[str, Any] | None = None
    origin: str | None = None
    vendor: str | None = None


class Assignment(BaseModel):
    """An item handed to an annotator, and what became of it.

    Attributes:
        project: The project's name.
        item_id: The item assigned.
        username: The annotator it was assigned to.
        vendor: The annotator's vendor, None for in-house.
        status: ``"open"``, ``"submitted"`` or ``"skipped"``.
        assigned_at: When it was assigned.
        done_at: When it was submitted or skipped.
        skip_reason: The annotator's reason for a skip.
        item: The item itself.
    """

    project: str
    item_id: str
    username: str
    vendor: str | None = None
    status: AssignmentStatus
    assigned_at: datetime
    done_at: datetime | None = None
    skip_reason: str | None = None
    #: preference tasks: the candidate indices in the order they were presented (A, B, …)
    order: list[int] | None = None
    item: Item
    #: the anchoring experiment's arm: "shown" / "hidden"; None when the item has no suggestion
    #: or is gold (suggestions are never shown on gold items)
    suggestion_arm: str | None = None
    #: only set when asked for with include_gold (never in the annotator flow)
    is_gold: bool | None = None


class Label(BaseModel):
    """One annotator's submitted label on one item.

    Attributes:
        id: The label's id (labels are numbered in the order they were made).
        project: The project's name.
        item_id: The item labelled.
        username: The annotator.
        vendor: The annotator's vendor, None for in-house.
        values: The answer, field by field.
        policy_hash: Hash of the policy the label was made under.
        policy_version: Version of that policy.
        is_gold: Whether the item was gold (None in the blind view).
        duration_s: Seconds the annotator spent on it, if known.
        created: When it was submitted.
        source: Where it came from, e.g. ``"web"`` or ``"import:<file name>"`` (a vendor import).
        outdated: Made under another policy version than the project's current one.
        suggestion_arm: The anchoring experiment's arm of the assignment (``"shown"`` /
            ``"hidden"``); None when the item had no suggestion or was gold.
        suggestion: The model suggestion the annotator saw (None unless shown).
    """

    id: int
    project: str
    item_id: str
    username: str
    vendor: str | None = None
    values: dict[str, Any]
    policy_hash: str
    policy_version: str
    is_gold: bool | None = None
    duration_s: float | None = None
    created: datetime
    source: str
    outdated: bool = False
    suggestion_arm: str | None = None
    suggestion: dict[str, Any] | None = None


class Adjudication(BaseModel):
    """A reviewer's final answer for an item, overriding the annotators' labels.

    Attributes:
        project: The project's name.
        item_id: The item adjudicated.
        reviewer: The reviewer or admin who decided.
        values: The decided answer, field by field.
        rationale: Why this is the right label (it becomes case law).
        created: When the item was first adjudicated.
        promoted_casebook: Whether the decision was added to the policy casebook.
        promoted_gold: Whether the item became a gold item with this answer.
    """

    project: str
    item_id: str
    reviewer: str
    values: dict[str, Any]
    rationale: str
    created: datetime
    promoted_casebook: bool = False
    promoted_gold: bool = False


class Progress(BaseModel):
    """One definition of progress (see :meth:`Annotations.progress`): data items are items whose
    origin is not "gold" (a promoted item stays one); gold labels are counted apart
    (``gold_labels``, only with include_gold)."""

    items: int  # data items in view
    target_labels: int  # items × overlap
    labels: int  # submitted labels on data assignments (blind view: all, capped at target)
    open: int
    skipped: int
    done_items: int = 0  # data items with ≥ overlap labels
    gold_labels: int = 0  # labels made on gold assignments (include_gold only)
    per_user: dict[str, dict[str, int]] = Field(default_factory=dict)
