"""No test asserts that something is fast: on a busy machine any such bound fails by chance.
Timings belong in bench/. A bound may stay only where it proves that a timeout or fail-fast
path fired (an upper bound the slow path could not meet), with a wide margin (10x what it takes
on a quiet machine), and only when it is allow-listed below with its reason.

The scan is over the syntax trees of tests/, not text: it follows clock readings
(``time.monotonic()``, ``perf_counter()``, ``time()``, ``loop.time()``) through names,
attributes, subscripts, comprehensions, functions that return them and dataclass fields, marks
the differences of readings as durations, and reports every comparison that puts a duration
under a bound (``d < x``, ``d <= x``, ``x > d``, ``x >= d``). A lower bound (``d > x``, "it
waited") cannot fail on a slow machine and is not reported; nor is ``now < deadline`` in a wait
loop, which compares instants.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from geo.settings import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"
CLOCKS = {"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "time", "time_ns"}

# (file, function, the comparison as ast.unparse writes it) -> why the bound may stay.
ALLOWED: dict[tuple[str, str, str], str] = {
    (
        "tests/api/test_http.py",
        "test_readyz_unavailable_answers_quickly",
        "elapsed < 5",
    ): "fail-fast: /readyz with no database answers at once instead of waiting for a "
    "connection (60 s allowed there, 12x the bound); 0.007 s on a quiet machine",
    (
        "tests/api/test_outage.py",
        "test_outage_fails_fast_and_recovers_without_a_restart",
        "max((elapsed for elapsed, _ in answers)) < 5",
    ): "fail-fast: 12 callers on a pool of 4 with the database down are told at once, not "
    "queued for the pool (60 s there); 0.02 s on a quiet machine",
    (
        "tests/api/test_outage.py",
        "test_outage_fails_fast_and_recovers_without_a_restart",
        "elapsed < 5",
    ): "fail-fast: /readyz while the database is down, not queued for the pool (60 s there, "
    "12x the bound); 0.005 s on a quiet machine",
    (
        "tests/api/test_outage.py",
        "test_outage_fails_fast_and_recovers_without_a_restart",
        "time.monotonic() - returned < 30",
    ): "ends the wait for recovery instead of looping for ever; 1 s on a quiet machine",
    (
        "tests/api/graphql/test_limits.py",
        "test_request_timeout_cancels_the_operation_and_its_query",
        "elapsed < 10 * settings.request_timeout_s",
    ): "timeout: the 0.5 s request timeout fired (bound 10x it), not the 60 s statement "
    "(12x the bound); 0.5 s on a quiet machine",
}


def _clock_call(node: ast.AST, from_time: set[str]) -> bool:
    """``time.monotonic()``, ``perf_counter()`` imported from time, ``loop.time()``: not
    ``datetime.time(17, 30)``."""
    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in from_time
    if not isinstance(func, ast.Attribute) or func.attr not in CLOCKS:
        return False
    owner = func.value
    if isinstance(owner, ast.Call):  # asyncio.get_running_loop().time()
        owner = owner.func
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return name == "time" or "loop" in name


def _not_a_value(node: ast.AST) -> bool:
    """Calls whose result is no duration even when their argument holds some."""
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"len", "isinstance"}


def _walk(node: ast.AST) -> list[ast.AST]:
    """ast.walk, less what ``_not_a_value`` calls hold."""
    found = [node]
    if not _not_a_value(node):
        for child in ast.iter_child_nodes(node):
            found += _walk(child)
    return found


def _key(node: ast.AST) -> str | None:
    """What a value is known by: a name, the last attribute, or what a subscript indexes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return "." + node.attr
    if isinstance(node, ast.Subscript):
        return _key(node.value)
    if isinstance(node, ast.Starred):
        return _key(node.value)
    return None


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List):
        return [key for element in node.elts for key in _targets(element)]
    key = _key(node)
    return [key] if key else []


@dataclass
class Module:
    """Which names, attributes and functions of one module hold clock readings ("instants")
    or differences of them ("durations"). Keyed by name across the module, which over-reports
    at worst: an allow-list entry then says why."""

    tree: ast.Module
    instants: set[str] = field(default_factory=set)
    durations: set[str] = field(default_factory=set)
    fields: dict[str, list[str]] = field(default_factory=dict)  # class -> annotated fields
    from_time: set[str] = field(default_factory=set)  # clocks imported by name from time

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                self.from_time |= {
                    alias.asname or alias.name for alias in node.names if alias.name in CLOCKS
                }
            if isinstance(node, ast.ClassDef):
                self.fields[node.name] = [
                    item.target.id
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                ]
        while self._spread():
            pass

    def _refers(self, node: ast.AST, keys: set[str]) -> bool:
        key = _key(node)
        if key in keys:
            return True
        return isinstance(node, ast.Call) and _key(node.func) in keys

    def instant(self, node: ast.AST) -> bool:
        return any(
            _clock_call(sub, self.from_time) or self._refers(sub, self.instants)
            for sub in _walk(node)
        )

    def duration(self, node: ast.AST) -> bool:
        for sub in _walk(node):
            if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Sub):
                if self.instant(sub.left) and self.instant(sub.right):
                    return True
            elif self._refers(sub, self.durations):
                return True
        return False

    def _mark(self, targets: list[str], value: ast.AST) -> bool:
        if self.duration(value):
            kind = self.durations
        elif self.instant(value):
            kind = self.instants
        else:
            return False
        new = set(targets) - kind
        kind.update(new)
        return bool(new)

    def _spread(self) -> bool:
        """One pass of following readings through assignments; True when something new."""
        changed = False
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                targets = [key for target in node.targets for key in _targets(target)]
                changed |= self._mark(targets, node.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                changed |= self._mark(_targets(node.target), node.value)
            elif isinstance(node, ast.comprehension | ast.For | ast.AsyncFor):
                changed |= self._mark(_targets(node.target), node.iter)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        changed |= self._mark([node.name], ret.value)
            elif isinstance(node, ast.Call) and _key(node.func) in self.fields:
                # A dataclass built from readings: its fields carry them.
                names = self.fields[str(_key(node.func))]
                for name, arg in zip(names, node.args, strict=False):
                    changed |= self._mark(["." + name], arg)
                for keyword in node.keywords:
                    if keyword.arg:
                        changed |= self._mark(["." + keyword.arg], keyword.value)
        return changed


def _bounded(module: Module, compare: ast.Compare) -> bool:
    """Whether the comparison puts a duration under a bound."""
    operands = [compare.left, *compare.comparators]
    for op, smaller, larger in zip(compare.ops, operands[:-1], operands[1:], strict=True):
        if isinstance(op, ast.Lt | ast.LtE) and module.duration(smaller):
            return True
        if isinstance(op, ast.Gt | ast.GtE) and module.duration(larger):
            return True
    return False


def timed_comparisons(path: Path) -> list[tuple[str, str, str, int]]:
    """(file, function, comparison, line) for each duration under a bound in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module = Module(tree)
    found = []
    relative = path.relative_to(PROJECT_ROOT).as_posix()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Compare) and _bounded(module, node):
                found.append((relative, function.name, ast.unparse(node), node.lineno))
    # A nested function is walked from each enclosing one too: report the innermost.
    innermost: dict[tuple[str, int, str], tuple[str, str, str, int]] = {}
    for entry in found:
        innermost[(entry[0], entry[3], entry[2])] = entry
    return sorted(set(innermost.values()), key=lambda entry: (entry[0], entry[3]))


def _scan(source: str) -> list[str]:
    tree = ast.parse(source)
    module = Module(tree)
    compares = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)]
    return [
        ast.unparse(node)
        for node in sorted(compares, key=lambda node: node.lineno)
        if _bounded(module, node)
    ]


def test_the_scan_finds_bounds_on_durations_and_nothing_else() -> None:
    source = """
import time
from dataclasses import dataclass

@dataclass
class Run:
    name: str
    seconds: dict

def timed(f):
    started = time.monotonic()
    return time.monotonic() - started, f()

def cases(loop, f):
    started = time.perf_counter()
    f()
    assert time.perf_counter() - started < 5
    elapsed = time.perf_counter() - started
    assert elapsed <= 1
    assert 2 > elapsed
    assert elapsed > 0.5                      # a lower bound: not reported
    begun = {}
    begun["a"] = time.perf_counter()
    run = Run("x", {n: time.perf_counter() - begun[n] for n in begun})
    assert run.seconds["a"] < 10
    answers = [timed(f) for _ in range(3)]
    assert max(took for took, _ in answers) < 2.5
    self_first = loop.time()
    assert (loop.time() - self_first) * 1000 < 20
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:        # instants: not reported
        pass
    assert len(answers) < 4                   # no clock: not reported
"""
    assert _scan(source) == [
        "time.perf_counter() - started < 5",
        "elapsed <= 1",
        "2 > elapsed",
        "run.seconds['a'] < 10",
        "max((took for took, _ in answers)) < 2.5",
        "(loop.time() - self_first) * 1000 < 20",
    ]


def test_no_test_asserts_a_duration_under_a_bound_unless_allowed() -> None:
    found = [
        entry
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != Path(__file__).name
        for entry in timed_comparisons(path)
    ]
    unexplained = [
        f"{file}:{line} in {function}: {comparison}"
        for file, function, comparison, line in found
        if (file, function, comparison) not in ALLOWED
    ]
    assert not unexplained, (
        "wall-clock bounds on durations fail on a busy machine: move the timing to bench/, or "
        "if it proves a timeout or fail-fast path, widen it to 10x and allow-list it here: "
        f"{unexplained}"
    )
    stale = set(ALLOWED) - {(file, function, comparison) for file, function, comparison, _ in found}
    assert not stale, f"allow-list entries that match no comparison any more: {stale}"
