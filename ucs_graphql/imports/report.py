"""What an import reports (the reference's `errors` and `ambiguous`, plus counts and where to resume) and
its optional log file, written as JSON lines after every committed batch."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ucs_graphql.kit import jsonio
from ucs_graphql.kit.timefmt import format_dt, now_utc

Entry = dict[str, Any]


@dataclass
class Report:
    """The outcome so far. `next_index` is the first record not yet committed: `start-from-index` resumes there."""

    next_index: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[Entry] = field(default_factory=list)
    ambiguous: list[Entry] = field(default_factory=list)
    complete: bool = False
    log: str | None = None

    @property
    def refused(self) -> int:
        """Rows counted against `max-errors`: errors and ambiguities."""
        return len(self.errors) + len(self.ambiguous)

    def to_wire(self) -> dict[str, Any]:
        """The response body: the reference's two lists first, then this server's additions."""
        body: dict[str, Any] = {"errors": self.errors, "ambiguous": self.ambiguous, "imported": self.imported,
                                "skipped": self.skipped, "next-index": self.next_index, "complete": self.complete}
        if self.log is not None:
            body["log"] = self.log
        return body


@dataclass
class BatchOutcome:
    """What one committed batch did."""

    next_index: int
    imported: int = 0
    skipped: int = 0
    errors: list[Entry] = field(default_factory=list)
    ambiguous: list[Entry] = field(default_factory=list)
    stop: bool = False


class ImportLog:
    """`FILE.log` (the input's name with `.log` appended), appended to by every run on that file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Appended to, never through a symbolic link: the log is the file the import names, or nothing.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        self.file: IO[str] = os.fdopen(fd, "a", encoding="utf-8")

    def _line(self, event: str, **fields: Any) -> None:
        self.file.write(jsonio.dumps_str({"event": event, "time": format_dt(now_utc()), **fields}) + "\n")

    def started(self, source: str, options: dict[str, Any]) -> None:
        """The run's first line: the file and the options."""
        self._line("started", source=source, **options)
        self.file.flush()

    def committed(self, outcome: BatchOutcome) -> None:
        """A batch's refused rows, then its commit with the index to resume from (flushed to disk)."""
        for entry in outcome.errors:
            self._line("error", **entry)
        for entry in outcome.ambiguous:
            self._line("ambiguous", **entry)
        self._line("committed", **{"next-index": outcome.next_index, "imported": outcome.imported,
                                   "skipped": outcome.skipped})
        self.file.flush()

    def finished(self, report: Report, reason: str | None = None) -> None:
        """The run's last line, then close the file."""
        fields: dict[str, Any] = {"next-index": report.next_index, "imported": report.imported,
                                  "skipped": report.skipped, "errors": len(report.errors),
                                  "ambiguous": len(report.ambiguous), "complete": report.complete}
        if reason:
            fields["reason"] = reason
        self._line("finished", **fields)
        self.file.close()
