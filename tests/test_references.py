"""Every file or document that the code and the docs name exists in the repository.

A reader follows ``docs/performance.md`` or ``bench/nearby.py`` from a comment and must find it;
so must setuptools each ``package-data`` glob. Names are taken from the Markdown, TOML, shell and
GraphQL files whole, and from Python's strings and comments (not its imports: ``sqlalchemy.sql``
is a module). Checked:

- a path under one of the repository's top-level folders (``docs/x.md``, ``geo/sql/*.sql``):
  it, or its glob, matches a tracked file;
- a bare name of code or a document (``DESIGN.md``, ``test_outage.py``): some tracked file has it;
- an absolute path into this machine's work folders (``/work/...``): never, as users have none.

Paths that .gitignore keeps out (what an install makes, as ``web/node_modules``) are not checked.
"""

from __future__ import annotations

import fnmatch
import io
import re
import subprocess
import tokenize
import tomllib
from functools import cache
from importlib.util import find_spec

from geo.settings import PROJECT_ROOT

SCANNED = (".py", ".md", ".toml", ".sh", ".graphql")
BARE_CHECKED = (".md", ".py", ".sh", ".toml", ".graphql", ".sql")
EXTENSIONS = (
    "md|py|sql|toml|sh|graphql|json|geojson|csv|ya?ml|mako|html|js|css|txt|tsv|gpkg|gml|zip|png"
)
# Not preceded by a path character or "://" (a URL's host); not followed by more of a name or a
# dotted module path (``sqlalchemy.sql.expression``).
NAME = re.compile(
    r"(?<![\w./:-])((?:\.{1,2}/|/)?[\w.*-]+(?:/[\w.*-]+)*\.(?:" + EXTENSIONS + r"))(?![\w/-]|\.\w)"
)

# (file, name) -> why it is no file of the repository.
NOT_FILES: dict[tuple[str, str], str] = {
    ("api/http/web.py", "esm.sh"): "a CDN's host name, in a comment on why GraphiQL 4 is vendored",
}


@cache
def tracked() -> tuple[str, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
    )
    # A file deleted in the work tree but not yet in the index is gone for a reader too.
    return tuple(p for p in listed.stdout.split("\0") if p and (PROJECT_ROOT / p).exists())


def _text(path: str) -> str:
    text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    if not path.endswith(".py"):
        return text
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return "\n".join(t.string for t in tokens if t.type in (tokenize.STRING, tokenize.COMMENT))


def _exists(name: str, files: tuple[str, ...]) -> bool:
    """A path (or glob) from the root, or a bare name anywhere."""
    if "/" in name:
        return any(fnmatch.fnmatchcase(path, name) for path in files)
    return any(fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], name) for path in files)


def names_in(path: str, text: str, files: tuple[str, ...]) -> list[str]:
    """The names in ``text`` that this test checks (see the module's docstring)."""
    tops = {file.split("/", 1)[0] for file in files}
    found = []
    for match in NAME.finditer(text):
        name = match.group(1).removeprefix("./")
        if "/" in name:
            checked = name.startswith("/work/") or name.split("/", 1)[0] in tops
        else:
            # A dotted module path (``api.graphql``, ``sqlalchemy.sql``) is no file's name.
            parts = name.split(".")
            module = all(p.isidentifier() for p in parts) and find_spec(parts[0]) is not None
            checked = name.endswith(BARE_CHECKED) and not module
        if checked:
            found.append(name)
    return found


def _ignored(name: str) -> bool:
    """Under a folder that .gitignore keeps out (``web/node_modules/``): made by an install.
    (Read here, not by ``git check-ignore``, which refuses a path through a symbolic link.)"""
    lines = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    folders = [line.strip("/") for line in lines if line.endswith("/") and "*" not in line]
    return any(f"/{name}".find(f"/{folder}/") >= 0 for folder in folders)


def missing(files: tuple[str, ...]) -> list[str]:
    # This file's own examples name missing files on purpose.
    scanned = [
        path
        for path in files
        if (path.endswith(SCANNED) or path == ".ci/run") and path != "tests/test_references.py"
    ]
    gone = []
    for path in scanned:
        for name in names_in(path, _text(path), files):
            if (path, name) in NOT_FILES:
                continue
            if name.startswith("/work/") or not (_exists(name, files) or _ignored(name)):
                gone.append(f"{path}: {name}")
    return gone


def test_the_scan_finds_paths_and_names_but_not_modules_or_urls() -> None:
    files = ("docs/performance.md", "geo/db.py", "bench/nearby.py", "README.md")
    text = (
        "see docs/performance.md and docs/gone.md, bench/*.py, geo/sql/*.sql, DESIGN.md, "
        "README.md, https://example.org/docs/x.md, /export/venues.csv, sqlalchemy.sql.expression, "
        "api.graphql, out.csv, /work/shared/NOTES.md, ./bench/nearby.py"
    )
    names = names_in("x.md", text, files)
    assert names == [
        "docs/performance.md",
        "docs/gone.md",
        "bench/*.py",
        "geo/sql/*.sql",
        "DESIGN.md",
        "README.md",
        "/work/shared/NOTES.md",
        "bench/nearby.py",
    ]
    assert [name for name in names if not _exists(name, files)] == [
        "docs/gone.md",
        "geo/sql/*.sql",
        "DESIGN.md",
        "/work/shared/NOTES.md",  # absent here; refused by missing() wherever it is
    ]


def test_every_named_file_exists() -> None:
    assert missing(tracked()) == []


def test_no_exception_is_stale() -> None:
    files = tracked()
    for path, name in NOT_FILES:
        assert name in names_in(path, _text(path), files), (path, name)


def test_package_data_globs_match_files() -> None:
    """setuptools skips a glob that matches nothing without a word: the wheel then lacks it."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]
    assert globs
    files = set(tracked())
    empty = []
    for package, patterns in globs.items():
        folder = PROJECT_ROOT / package.replace(".", "/")
        for pattern in patterns:
            # setuptools expands these as glob does, ** included.
            matched = {found.relative_to(PROJECT_ROOT).as_posix() for found in folder.glob(pattern)}
            if not matched & files:
                empty.append(f"{package}: {pattern}")
    assert empty == []
