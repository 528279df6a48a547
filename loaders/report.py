"""What a load tells its user: a summary when it worked, a located reason when it did not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from geo.validation import MAX_REPORTED, FieldError


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


class LoadErrors(LoadError):  # noqa: N818 - several LoadErrors
    """Every bad record of a file, up to :data:`MAX_REPORTED` (``more`` counts the rest). Its
    ``record``, ``field``, ``code`` and ``reason`` are the first one's (the earliest record);
    ``errors`` lists them all, and its text names each on a line."""

    def __init__(self, errors: Sequence[LoadError]) -> None:
        self.count = len(errors)
        self.errors = list(errors[:MAX_REPORTED])
        self.more = self.count - len(self.errors)
        first = errors[0]
        super().__init__(
            first.reason, record=first.record, field=first.field, code=first.code, path=first.path
        )

    def __str__(self) -> str:
        if self.count == 1:
            return LoadError.__str__(self)
        lines = [f"{self.count} problems; nothing was loaded:"]
        lines += [f"  {LoadError.__str__(error)}" for error in self.errors]
        if self.more:
            lines.append(f"  … and {self.more} more")
        return "\n".join(lines)


class Problems:
    """A file's bad records, collected while every record is checked, so that the refusal
    (:class:`LoadErrors`) names each one and each bad field, the earliest record first."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._errors: list[LoadError] = []
        self._positions: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._errors)

    def __len__(self) -> int:
        return len(self._errors)

    def place(self, record: str, position: int) -> None:
        """Where ``record`` is in the file (its problems sort by it)."""
        self._positions.setdefault(record, position)

    def add(self, error: LoadError) -> None:
        self._errors.extend(error.errors if isinstance(error, LoadErrors) else [error])

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Run one record's checks: a LoadError is kept here, and the load goes on to the next
        record (the block ends where the error was raised)."""
        try:
            yield
        except LoadError as error:
            self.add(error)

    def add_fields(self, error: FieldError, record: str) -> None:
        """One problem per wrong field of ``record``."""
        for each in error.errors:
            self.add(LoadError(each.reason, record=record, field=each.field, path=self.path))

    def check(self) -> None:
        """Raise :class:`LoadErrors` with every problem, if there is any."""
        if self._errors:
            last = len(self._positions)
            ordered = sorted(self._errors, key=lambda e: self._positions.get(e.record or "", last))
            raise LoadErrors(ordered)


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
