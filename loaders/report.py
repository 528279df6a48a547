"""What a load tells its user: a summary when it worked, a located reason when it did not."""

from __future__ import annotations

from dataclasses import dataclass, field


class LoadError(Exception):
    """A file that cannot be loaded. Nothing has been written when this is raised.

    ``record`` says which record (a feature's identifier, "row 17", "municipality 0301"),
    ``field`` which field, ``reason`` what is wrong, ``code`` a stable machine-readable code.
    """

    def __init__(
        self,
        reason: str,
        *,
        record: str | None = None,
        field: str | None = None,
        code: str = "INVALID_RECORD",
        path: str | None = None,
    ) -> None:
        self.reason = reason
        self.record = record
        self.field = field
        self.code = code
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.path,
                self.record,
                f"field {self.field!r}" if self.field else None,
            )
            if part
        )
        return f"{self.code}: {where}: {self.reason}" if where else f"{self.code}: {self.reason}"


@dataclass
class LoadReport:
    """Counts of what a load did; ``warnings`` name the record each is about."""

    what: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        line = (
            f"{self.what}: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.repaired} repaired"
        )
        if self.skipped:
            line += f", {self.skipped} skipped"
        return line
