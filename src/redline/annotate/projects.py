"""Annotation projects: creation from a policy, settings, gold rates and policy versions."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, select

from redline.annotate.base import ServiceBase, dumps, name_problem, utc
from redline.annotate.intake import item_rows
from redline.annotate.rows import Project, ProjectSettings
from redline.annotate.schema import TASKS, check_task_schema
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.policy.compile import annotation_schema
from redline.policy.model import Policy
from redline.policy.rubric import Rubric
from redline.store.annotation import ann_items, ann_policy_versions, ann_projects


class Projects(ServiceBase):
    """Projects and the policy versions they have used."""

    @staticmethod
    def _project(r: Any) -> Project:
        return Project(name=r.name, task=r.task, policy_name=r.policy_name, policy_ref=r.policy_ref,
                       policy_hash=r.policy_hash, policy_version=r.policy_version,
                       schema=json.loads(r.schema_json), overlap=r.overlap,
                       gold_rate=json.loads(r.gold_rate_json),
                       settings=ProjectSettings.model_validate(json.loads(r.settings_json)),
                       created=utc(r.created), status=r.status)

    def _gold_rates(self, gold_rate: float | dict[str, float], schema: dict[str, Any]) -> dict[str, float]:
        rates = {"*": float(gold_rate)} if isinstance(gold_rate, int | float) else dict(gold_rate)
        rates.setdefault("*", 0.0)
        problems = []
        ids = set(schema.get("category_ids") or [])
        for k, v in rates.items():
            if k != "*" and k not in ids:
                problems.append(Problem(f"gold_rate.{k}", "not a category of the policy",
                                        "use '*' or a category id of the policy"))
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                problems.append(Problem(f"gold_rate.{k}", f"{v!r} is not a rate", "give a number from 0 to 1"))
        if problems:
            raise InputError("bad gold rate", problems)
        return {k: float(v) for k, v in rates.items()}

    @staticmethod
    def _check_settings(settings: ProjectSettings, schema: dict[str, Any]) -> None:
        ids = set(schema.get("category_ids") or [])
        problems = []
        for name in ("blur_categories", "warn_categories"):
            for c in getattr(settings, name) or []:
                if c not in ids:
                    problems.append(Problem(f"settings.{name}", f"{c!r} is not a category of the policy",
                                            "use category ids of the policy"))
        for k, v in settings.exposure_budget.items():
            if k != "*" and k not in ids:
                problems.append(Problem(f"settings.exposure_budget.{k}", "not a category of the policy",
                                        "use '*' or a category id of the policy"))
            if not isinstance(v, int) or v < 0:
                problems.append(Problem(f"settings.exposure_budget.{k}", f"{v!r} is not a count",
                                        "give a whole number ≥ 0"))
        if settings.judge is not None:
            from redline.judges.base import judge_names

            names = judge_names()
            prefix, colon, arg = settings.judge.partition(":")
            if not (settings.judge in names or (colon and arg and f"{prefix}:" in names)):
                problems.append(Problem("settings.judge", f"no judge named {settings.judge!r}",
                                        f"use one of: {', '.join(names)} (or leave it unset: no judge)"))
        if problems:
            raise InputError("bad project settings", problems)

    def create_project(self, name: str, *, policy: Policy | Rubric, policy_ref: str, task: str,
                       records: Iterable[Record], overlap: int = 3,
                       gold: Iterable[tuple[Record, dict[str, Any]]] = (),
                       gold_rate: float | dict[str, float] = 0.1,
                       settings: ProjectSettings | None = None) -> Project:
        """A new project; its label schema is compiled from ``policy``. Gold answers are validated
        against the task's schema; duplicate item ids are an error naming them."""
        problems = [p for p in (name_problem("name", name),) if p]
        if task not in TASKS:
            problems.append(Problem("task", f"{task!r} is not a task type", f"use one of {', '.join(TASKS)}"))
        if not isinstance(overlap, int) or overlap < 1:
            problems.append(Problem("overlap", f"{overlap!r}", "give a whole number ≥ 1"))
        if problems:
            raise InputError("cannot create the project", problems)
        schema = annotation_schema(policy)
        check_task_schema(task, schema)
        rates = self._gold_rates(gold_rate, schema)
        settings = settings or ProjectSettings()
        self._check_settings(settings, schema)
        now = self.now()
        row = {"name": name, "task": task, "policy_name": policy.name, "policy_ref": str(policy_ref),
               "policy_hash": policy.content_hash, "policy_version": policy.version,
               "schema_json": dumps(schema), "overlap": overlap, "gold_rate_json": dumps(rates),
               "settings_json": settings.model_dump_json(), "created": now, "status": "active"}
        rows = item_rows(name, task, schema, records, gold, start=0, existing=set(),
                         now=self.now())

        def run(conn: Connection) -> None:
            if conn.execute(select(ann_projects.c.name).where(ann_projects.c.name == name)).first():
                raise InputError("cannot create the project", [Problem(
                    "name", f"a project {name!r} exists", "choose another name")])
            conn.execute(ann_projects.insert().values(**row))
            conn.execute(ann_policy_versions.insert().values(
                project=name, policy_hash=policy.content_hash, policy_version=policy.version,
                policy_ref=str(policy_ref), schema_json=row["schema_json"], activated=now))
            for i in range(0, len(rows), 1000):
                conn.execute(ann_items.insert(), rows[i:i + 1000])

        self._write(run)
        return self.get_project(name)


    def set_policy(self, project: str, policy: Policy | Rubric, policy_ref: str) -> Project:
        """Make ``policy`` the project's active version; earlier versions stay in the history."""
        task = self.get_project(project).task
        schema = annotation_schema(policy)
        check_task_schema(task, schema)  # a rubric-score project stays on a rubric, the others on a policy
        sj, now = dumps(schema), self.now()

        def run(conn: Connection) -> None:
            conn.execute(ann_projects.update().where(ann_projects.c.name == project).values(
                policy_name=policy.name, policy_ref=str(policy_ref), policy_hash=policy.content_hash,
                policy_version=policy.version, schema_json=sj))
            key = and_(ann_policy_versions.c.project == project,
                       ann_policy_versions.c.policy_hash == policy.content_hash)
            if conn.execute(select(ann_policy_versions.c.project).where(key)).first():
                conn.execute(ann_policy_versions.update().where(key).values(activated=now, policy_ref=str(policy_ref)))
            else:
                conn.execute(ann_policy_versions.insert().values(
                    project=project, policy_hash=policy.content_hash, policy_version=policy.version,
                    policy_ref=str(policy_ref), schema_json=sj, activated=now))

        self._write(run)
        return self.get_project(project)

    def policy_versions(self, project: str) -> list[dict[str, Any]]:
        """Every policy version the project has used, oldest activation first."""
        self.get_project(project)
        with self._read() as conn:
            rows = conn.execute(select(ann_policy_versions).where(ann_policy_versions.c.project == project)
                                .order_by(ann_policy_versions.c.activated)).mappings().all()
        return [{"policy_hash": r["policy_hash"], "policy_version": r["policy_version"],
                 "policy_ref": r["policy_ref"], "activated": utc(r["activated"])} for r in rows]

    def get_project(self, name: str) -> Project:
        """The project named ``name``.

        Raises:
            InputError: When there is none (suggesting the closest name).
        """
        with self._read() as conn:
            r = conn.execute(select(ann_projects).where(ann_projects.c.name == name)).first()
            if r is None:
                names = [x[0] for x in conn.execute(select(ann_projects.c.name))]
        if r is None:
            close = difflib.get_close_matches(str(name), names, n=1)
            raise InputError("unknown annotation project", [Problem(
                "project", f"no project {name!r}",
                f"did you mean {close[0]!r}?" if close else
                ("projects: " + ", ".join(sorted(names)) if names else "create one with `redline annotate create`"))])
        return self._project(r)

    def list_projects(self) -> list[Project]:
        """Every project, sorted by name."""
        with self._read() as conn:
            return [self._project(r) for r in conn.execute(select(ann_projects).order_by(ann_projects.c.name))]

    def policy(self, project: str) -> Policy:
        """The project's policy, loaded again from its ``policy_ref``; an error when that pack has
        changed since (run set-policy to move the project to the new version)."""
        from redline.policy.loader import load_policy

        p = self.get_project(project)
        pol = load_policy(p.policy_ref)
        if pol.content_hash != p.policy_hash:
            raise InputError("the project's policy has changed", [Problem(
                p.policy_ref, f"now {pol.content_hash} (version {pol.version}); the project uses "
                              f"{p.policy_hash} (version {p.policy_version})",
                f"run `redline annotate set-policy {project} --policy {p.policy_ref}` to adopt it")])
        return pol
