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
    #: only set when asked for with include_gold (never in the annotator flow)
    is_gold: bool | None = None


class Label(BaseModel):
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


class Adjudication(BaseModel):
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
