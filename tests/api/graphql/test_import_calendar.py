"""importCalendar: an organisation editor loads its calendar (text or multipart upload) and gets
the report; a key whose scope does not cover the organisation is FORBIDDEN and nothing is
written; a bad event is a BAD_USER_INPUT listing each event with its property; every write is
audited, and a re-load writes no audit row."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from api.app import create_app
from geo.settings import load_settings
from geo.tables import activity, audit_log
from tests.api.conftest import http_client
from tests.api.writes_support import RED_CROSS, SAVE_THE_CHILDREN, As, org_id

pytestmark = pytest.mark.anyio

IMPORT = """mutation ($c: String, $s: String!, $o: String, $cat: ActivityCategory) {
  importCalendar(content: $c, source: $s, organisation: $o, category: $cat) {
    report { created updated unchanged archived warnings
      activities { title category } archivedActivities { title } } } }"""
UPLOAD = """mutation ($file: Upload!) { importCalendar(file: $file, source: "upload") {
  report { created } } }"""


def _calendar(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//NB\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


def _event(uid: str, summary: str, *lines: str) -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{summary}\r\n{body}END:VEVENT\r\n"


KAFE = _event(
    "kafe@rodekors.example",
    "Språkkafé",
    "DTSTART;TZID=Europe/Oslo:20300902T170000",
    "DTEND;TZID=Europe/Oslo:20300902T190000",
    "RRULE:FREQ=WEEKLY;COUNT=10",
    "GEO:59.9139;10.7522",
)
TUR = _event(
    "tur@rodekors.example",
    "Søndagstur",
    "DTSTART;TZID=Europe/Oslo:20300908T110000",
    "DTEND;TZID=Europe/Oslo:20300908T140000",
    "GEO:59.9139;10.7522",
)


def _rows(write_engine: sa.Engine, source: str) -> list[sa.Row]:
    with write_engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(activity).where(activity.c.source == source).order_by(activity.c.id)
            )
        )


def _audits(write_engine: sa.Engine, ids: list[int]) -> list[tuple[str, str]]:
    with write_engine.connect() as conn:
        return [
            (r.action, r.actor)
            for r in conn.execute(
                sa.select(audit_log.c.action, audit_log.c.actor)
                .where(
                    audit_log.c.entity == "Activity",
                    audit_log.c.entity_id.in_([str(i) for i in ids]),
                )
                .order_by(audit_log.c.id)
            )
        ]


async def test_an_editor_loads_its_calendar_and_a_reload_changes_nothing(
    schema, async_write_engine, write_engine, keys
):
    editor = As(schema, async_write_engine, keys["red_cross"][1])
    variables = {"c": _calendar(KAFE, TUR), "s": "https://rodekors.example/kalender.ics"}
    data = await editor.data(IMPORT, {**variables, "cat": "LANGUAGE_CAFE"})
    report = data["importCalendar"]["report"]
    assert (report["created"], report["updated"], report["unchanged"], report["archived"]) == (
        2,
        0,
        0,
        0,
    )
    assert report["activities"] == [
        {"title": "Språkkafé", "category": "LANGUAGE_CAFE"},
        {"title": "Søndagstur", "category": "LANGUAGE_CAFE"},
    ]
    rows = _rows(write_engine, "ical:https://rodekors.example/kalender.ics")
    with write_engine.connect() as conn:
        red_cross = org_id(conn, RED_CROSS)
    assert {r.organisation_id for r in rows} == {red_cross}
    ids = [r.id for r in rows]
    assert _audits(write_engine, ids) == [("create", "test red_cross")] * 2

    again = (await editor.data(IMPORT, {**variables, "cat": "LANGUAGE_CAFE"}))["importCalendar"]
    assert (again["report"]["created"], again["report"]["unchanged"]) == (0, 2)
    assert [r.version for r in _rows(write_engine, rows[0].source)] == [r.version for r in rows]
    assert len(_audits(write_engine, ids)) == 2  # no audit row for a load that changed nothing

    gone = (await editor.data(IMPORT, {"c": _calendar(KAFE), "s": variables["s"]}))[
        "importCalendar"
    ]["report"]
    # the removed event archived; the category the first load gave is kept (none named)
    assert (gone["unchanged"], gone["updated"], gone["archived"]) == (1, 0, 1)
    assert gone["activities"] == [{"title": "Språkkafé", "category": "LANGUAGE_CAFE"}]
    assert gone["archivedActivities"] == [{"title": "Søndagstur"}]
    assert [a for a, _ in _audits(write_engine, ids)][2:] == ["archive"]


@pytest.mark.parametrize(
    ("key", "organisation"),
    [
        ("save_the_children", RED_CROSS),  # another organisation's editor
        ("oslo", None),  # a municipality editor
        ("analyst", None),
    ],
)
async def test_a_key_outside_the_organisation_is_forbidden_and_writes_nothing(
    schema, async_write_engine, write_engine, keys, key, organisation
):
    source = f"forbidden-{key}"
    caller = As(schema, async_write_engine, keys[key][1])
    error = await caller.error(IMPORT, {"c": _calendar(KAFE), "s": source, "o": organisation})
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert _rows(write_engine, f"ical:{source}") == []


async def test_an_admin_names_the_organisation(schema, async_write_engine, write_engine, keys):
    admin = As(schema, async_write_engine, keys["admin"][1])
    error = await admin.error(IMPORT, {"c": _calendar(KAFE), "s": "admin-feed"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "organisation"
    data = await admin.data(
        IMPORT, {"c": _calendar(KAFE), "s": "admin-feed", "o": SAVE_THE_CHILDREN}
    )
    assert data["importCalendar"]["report"]["created"] == 1
    with write_engine.connect() as conn:
        owner = org_id(conn, SAVE_THE_CHILDREN)
    assert [r.organisation_id for r in _rows(write_engine, "ical:admin-feed")] == [owner]


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"o": "12"}, "organisation"), ({"s": "  "}, "source"), ({"o": "999999999"}, "organisation")],
)
async def test_a_bad_argument_is_named(schema, async_write_engine, keys, variables, field):
    admin = As(schema, async_write_engine, keys["admin"][1])
    error = await admin.error(IMPORT, {"c": _calendar(KAFE), "s": "args", **variables})
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)


async def test_every_bad_event_is_listed_and_nothing_written(
    schema, async_write_engine, write_engine, keys
):
    floating = _event(
        "flyt@x", "Flytende", "DTSTART:20300902T170000", "DURATION:PT1H", "GEO:59.9;10.75"
    )
    endless = _event(
        "evig@x",
        "Evig",
        "DTSTART;TZID=Europe/Oslo:20300902T170000",
        "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY",
        "GEO:59.9;10.75",
    )
    editor = As(schema, async_write_engine, keys["red_cross"][1])
    error = await editor.error(IMPORT, {"c": _calendar(KAFE, floating, endless), "s": "bad"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "2 of 3 events are invalid; nothing was loaded"
    assert [(p["record"], p["field"]) for p in error["extensions"]["problems"]] == [
        ("UID flyt@x (Flytende)", "DTSTART"),
        ("UID evig@x (Evig)", "RRULE"),
    ]
    assert _rows(write_engine, "ical:bad") == []
    not_ical = await editor.error(IMPORT, {"c": "name;lat;lon\nx;1;2\n", "s": "bad"})
    assert not_ical["extensions"]["field"] == "content"
    assert "not an iCalendar file" in not_ical["message"]


async def test_a_calendar_uploads_as_a_file(write_url, write_engine, keys):
    url = write_url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, rate_limit_enabled=False))
    operations = {"query": UPLOAD, "variables": {"file": None}}
    async with http_client(app) as client:
        answer = await client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": ("kalender.ics", _calendar(KAFE, TUR).encode(), "text/calendar")},
            headers={"Authorization": f"Bearer {keys['red_cross'][0]}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": {"importCalendar": {"report": {"created": 2}}}}
    assert len(_rows(write_engine, "ical:upload")) == 2
