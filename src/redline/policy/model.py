"""The policy model: a named, versioned harm taxonomy with expected behaviours."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Behaviour = Literal["refuse", "safe_complete", "comply"]


class ExpectedBehaviour(BaseModel):
    model_config = ConfigDict(extra="forbid")
    harmful: Behaviour
    benign: Behaviour = "comply"


class Mappings(BaseModel):
    """Where a category sits in external taxonomies."""

    model_config = ConfigDict(extra="forbid")
    ailuminate: list[str] = Field(default_factory=list)
    llama_guard3: list[str] = Field(default_factory=list)

    @field_validator("llama_guard3")
    @classmethod
    def _s_codes(cls, v: list[str]) -> list[str]:
        valid = {f"S{i}" for i in range(1, 15)}
        bad = [c for c in v if c not in valid]
        if bad:
            raise ValueError(f"unknown Llama Guard 3 code(s) {bad}; use S1…S14")
        return v

    @field_validator("ailuminate")
    @classmethod
    def _hazards(cls, v: list[str]) -> list[str]:
        valid = {
            "vcr", "src", "cse", "ssh", "iwp", "ipv", "dfm", "ncr", "hte", "prv",
            "spc_ele", "spc_fin", "spc_hlt", "spc_lgl", "sxc_prn",
        }
        bad = [c for c in v if c not in valid]
        if bad:
            raise ValueError(f"unknown AILuminate hazard code(s) {bad}; use one of {sorted(valid)}")
        return v


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    in_scope: list[str] = Field(default_factory=list)
    out_of_scope: list[str] = Field(default_factory=list)
    expected: ExpectedBehaviour
    safe_completion: str | None = None
    mappings: Mappings = Field(default_factory=Mappings)


class Policy(BaseModel):
    """A policy pack. ``content_hash`` identifies exactly this content."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    version: str
    description: str = ""
    owners: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for c in self.categories:
            if c.id in seen:
                raise ValueError(f"duplicate category id {c.id!r}")
            seen.add(c.id)
        return self

    @property
    def content_hash(self) -> str:
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def category(self, cid: str) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(cid)
