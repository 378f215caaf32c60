"""Errors that carry a location (file, line, field) and a fix, for clear CLI messages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One thing wrong with one input location."""

    where: str  # "suite.jsonl:12" or "default.yaml:40 (categories[3].expected.harmful)"
    message: str
    fix: str | None = None
    #: the input row as data, when the problem is with one row of an in-memory list:
    #: ``("records", 3)`` for ``records[3] …`` (callers map it to a file line without
    #: re-parsing ``where``)
    item: tuple[str, int] | None = None

    def __str__(self) -> str:
        s = f"{self.where}: {self.message}"
        if self.fix:
            s += f" — fix: {self.fix}"
        return s


class RedlineError(Exception):
    """Base class: a user-facing error (the CLI prints it and exits 2)."""

    exit_code = 2


@dataclass
class InputError(RedlineError):
    """Bad input: one or more problems, all reported at once."""

    summary: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary)

    def __str__(self) -> str:
        lines = [self.summary]
        shown = self.problems[:50]
        lines += [f"  {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  … and {len(self.problems) - len(shown)} more")
        return "\n".join(lines)


class TargetError(RedlineError):
    """A target cannot be used at all (unreachable, unauthorised, unknown model)."""
