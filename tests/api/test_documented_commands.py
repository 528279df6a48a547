"""Every `hverdag` command in the README's and the docs' shell blocks runs as written in a fresh
clone: it is spelt `.venv/bin/hverdag` (what scripts/bootstrap.sh installs; a bare `hverdag`
needs an activated environment, which a copied line does not have), and its subcommand, choices
and options parse with the command line's own parser. Placeholders (FILE, ROLE) stand as they
are; `a|b` alternatives are each tried; `[…]` optional parts are included."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

import pytest

from api.cli import CliError, _loader, build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_TAGS = ("", "sh", "bash", "shell", "console")
COMMAND = re.compile(r"^(?:\$ )?((?:[A-Z_]+=\S+ )*)(\.venv/bin/)?hverdag (.*)$")


def _shell_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a fenced block tagged sh/bash/shell/console or
    untagged; fences are paired in order, so prose between blocks is never read as one."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
        elif fence in SHELL_TAGS:
            found.append((number, line))
    return found


def _commands() -> list[tuple[str, str, bool]]:
    """(where, the command's arguments, whether it was spelt with .venv/bin/)."""
    found = []
    for path in DOCS:
        for number, line in _shell_lines(path.read_text(encoding="utf-8")):
            match = COMMAND.match(line.strip())
            if match:
                where = f"{path.relative_to(ROOT)}:{number}"
                found.append((where, match.group(3), bool(match.group(2))))
    return found


COMMANDS = _commands()


#: Placeholders that must be a number for the parser.
NUMBERS = {"N": "2"}


def _variants(arguments: str) -> list[list[str]]:
    """The argument lists a documented line stands for."""
    raw = re.split(r"\s+#", arguments, maxsplit=1)[0]  # the line's comment
    raw = re.sub(r"\$\([^)]*\)", "X", raw)  # a shell substitution stands for a value
    # "[--municipality 0301 | --organisation ORGNR]": each alternative; "[--into NAME]": kept.
    group = re.search(r"\[([^\]|]*)\|([^\]]*)\]", raw)
    raws = (
        [raw[: group.start()] + choice + raw[group.end() :] for choice in group.groups()]
        if group
        else [raw]
    )
    variants: list[list[str]] = []
    for one in raws:
        for command in re.split(r" \| ", one.replace("[", "").replace("]", "")):
            expanded: list[list[str]] = [[]]
            for word in shlex.split(command):
                choices = word.split("|") if "|" in word else [NUMBERS.get(word, word)]
                expanded = [[*done, choice] for done in expanded for choice in choices]
            variants.extend(expanded)
    return variants


def test_the_docs_have_commands():
    assert len(COMMANDS) > 20
    text = "prose\n```sh\n.venv/bin/hverdag serve\n```\nhverdag is a name\n```graphql\n{ x }\n```\n"
    assert _shell_lines(text) == [(3, ".venv/bin/hverdag serve")]


@pytest.mark.parametrize(("where", "arguments", "with_path"), COMMANDS)
def test_a_documented_command_runs_as_written(where, arguments, with_path):
    assert with_path, f"{where}: write .venv/bin/hverdag (a fresh clone has no activated venv)"
    parser = build_parser()
    for argv in _variants(arguments):
        try:
            parser.parse_args(argv)
        except (SystemExit, argparse.ArgumentError) as error:
            pytest.fail(f"{where}: `hverdag {' '.join(argv)}` does not parse ({error})")


def test_the_variants_of_a_line():
    assert _variants("db start|stop  # comment | more") == [["db", "start"], ["db", "stop"]]
    assert _variants('keys create --label "Oslo, Alna"') == [
        ["keys", "create", "--label", "Oslo, Alna"]
    ]
    assert _variants("db backup FILE | db restore FILE [--into NAME]") == [
        ["db", "backup", "FILE"],
        ["db", "restore", "FILE", "--into", "NAME"],
    ]
    assert _variants("keys create --role ROLE [--municipality 0301 | --organisation ORGNR]") == [
        ["keys", "create", "--role", "ROLE", "--municipality", "0301"],
        ["keys", "create", "--role", "ROLE", "--organisation", "ORGNR"],
    ]


def test_loading_without_the_loaders_extra_says_how_to_install_it(monkeypatch):
    """An API-only install (no `[loaders]` extra) gets a CliError naming the extra, not an
    ImportError, from `hverdag load`."""
    for name in list(sys.modules):
        if name.startswith(("loaders.areas", "loaders.vector", "pyogrio")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyogrio", None)
    with pytest.raises(CliError) as refused:
        _loader("areas")
    assert "'loaders' extra" in str(refused.value)
    assert "pip install -e '.[loaders]'" in str(refused.value)


def test_the_field_options_of_load(tmp_path, monkeypatch, capsys):
    from api.cli import _field_options, main

    args = build_parser().parse_args(
        [
            "load", "areas", "f.geojson", "--kind", "BYDEL", "--code-field", "bydelnr",
            "--field", "year=aar", "--field", " immigrant_population = innv ",
        ]
    )  # fmt: skip
    assert _field_options(args) == {
        "code": "bydelnr",
        "year": "aar",
        "immigrant_population": "innv",
    }
    bad = build_parser().parse_args(["load", "venues", "f.csv", "--field", "name"])
    with pytest.raises(CliError, match="COLUMN=FIELD"):
        _field_options(bad)
    # A loader of a fixed format refuses them before touching a database.
    path = tmp_path / "initiatives.json"
    path.write_text("[]")
    monkeypatch.setenv("HVERDAG_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["load", "initiatives", str(path), "--name-field", "navn"]) != 0
    assert "load initiatives takes no field options" in capsys.readouterr().err
