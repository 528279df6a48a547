"""``hverdag db backup FILE`` and ``hverdag db restore FILE --into NAME``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from api.cli import main
from tests.geo.test_backup import fingerprint, new_database  # noqa: F401 - a fixture


def test_the_cli_backs_up_and_restores(
    loaded_url: URL,
    new_database: URL,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HVERDAG_DATABASE_URL", loaded_url.render_as_string(hide_password=False))
    dump = tmp_path / "cli.dump"
    assert main(["db", "backup", str(dump)]) == 0
    assert dump.stat().st_mode & 0o777 == 0o600  # every row, key hashes included: owner only
    assert main(["db", "restore", str(dump), "--into", str(new_database.database)]) == 0
    out = capsys.readouterr().out
    assert f"into the new database {new_database.database}" in out
    assert fingerprint(new_database)["activity"] == fingerprint(loaded_url)["activity"]
    assert main(["db", "restore", str(dump), "--into", str(new_database.database)]) == 1
    assert "exists" in capsys.readouterr().err
