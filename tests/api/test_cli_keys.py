"""`hverdag keys create|list|revoke` as a user runs them: the key printed once, listed by its
prefix only, revoked by what the list shows."""

from __future__ import annotations

import re

import sqlalchemy as sa

from api.cli import main
from geo.db import sync_engine
from geo.keys import find_key


def test_keys_create_list_revoke(fresh_demo_url, monkeypatch, capsys):
    monkeypatch.setenv("HVERDAG_DATABASE_URL", fresh_demo_url.render_as_string(hide_password=False))
    assert (
        main(
            [
                "keys",
                "create",
                "--role",
                "ORGANISATION_EDITOR",
                "--organisation",
                "864 139 442",
                "--label",
                "Røde Kors Oslo",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    (secret,) = re.findall(r"hv_[A-Za-z0-9_-]{43}", printed)
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert secret not in listed
    (line,) = listed.splitlines()
    key_id, prefix, role, scope, state, label = line.split("\t")
    assert (prefix, role, state, label) == (
        secret[:9] + "…",
        "ORGANISATION_EDITOR",
        "live",
        "Røde Kors Oslo",
    )
    assert scope == "organisation 864139442"  # its number, as it was given to `create`
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            assert find_key(conn, secret) is not None
        assert main(["keys", "revoke", prefix]) == 0
        assert f"revoked key {key_id}" in capsys.readouterr().out
        with engine.begin() as conn:
            assert find_key(conn, secret) is None
    finally:
        engine.dispose()
    assert main(["keys", "create", "--role", "MUNICIPALITY_EDITOR", "--label", "x"]) == 1
    assert "needs --municipality" in capsys.readouterr().err
