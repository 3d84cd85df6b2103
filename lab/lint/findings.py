"""Lint findings and their two output formats (text for people, JSON for CI)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"

JSON_FORMAT_VERSION = 1


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where (file, 1-based line, column or 0), which rule, how bad, what to do."""

    path: str
    line: int
    column: int
    rule: str
    severity: str
    message: str
    hint: str = ""

    def text(self) -> str:
        where = (
            f"{self.path}:{self.line}:{self.column}" if self.column else f"{self.path}:{self.line}"
        )
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}: {self.severity}[{self.rule}] {self.message}{hint}"


@dataclass
class Report:
    """The result of linting some files."""

    files: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # run by `sh` steps, shell rules only
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # checks skipped, and why

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    def exit_code(self, *, strict: bool = False) -> int:
        """1 when an error was found (or a warning, with ``strict``), else 0."""
        return 1 if self.errors or (strict and self.warnings) else 0

    def sorted_findings(self) -> list[Finding]:
        return sorted(set(self.findings))

    def to_text(self) -> str:
        lines = [f.text() for f in self.sorted_findings()]
        lines += [f"note: {n}" for n in self.notes]
        lines.append(
            f"{len(self.files)} file(s) and {len(self.scripts)} script(s) checked: "
            f"{self.errors} error(s), {self.warnings} warning(s)"
        )
        return "\n".join(lines)

    def to_json(self) -> str:
        """Stable for CI: sorted findings, fixed keys, a format version."""
        doc = {
            "version": JSON_FORMAT_VERSION,
            "files": sorted(self.files),
            "scripts": sorted(self.scripts),
            "summary": {"errors": self.errors, "warnings": self.warnings},
            "findings": [asdict(f) for f in self.sorted_findings()],
            "notes": list(self.notes),
        }
        return json.dumps(doc, indent=2, sort_keys=True)
