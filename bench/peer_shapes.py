"""The shapes bench/peer.py measures beside near-me (issue 19): the contract's whereAmI and a
municipality's venue list with availability. For each: the inputs, hverdag's request and the
peer's (bench/peer/where_am_i.sql, bench/peer/venues.sql), their answers in one comparable
form, and the two raw-SQL floors as pgbench scripts: **hverdag's statements** (captured from geo's
functions as the API calls them, so they follow the code) and the **minimal statement** (one
statement, only the answer's columns).

A shape is a :class:`ShapeRun`: bench/peer.py times any of them the same way.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import nearby as near
import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy import event

from geo.db import connect, sync_engine
from geo.queries.location import surroundings, where_am_i
from geo.queries.municipalities import municipalities_by_number
from geo.queries.venues import availability_by_venue, venues_of_municipalities
from geo.tables import venue

#: A venue list's page (the contract's venues(first: …), as a user's app would ask).
VENUE_PAGE = 50
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

HVERDAG_STATEMENTS = "raw SQL, hverdag's statements"
MINIMAL_STATEMENT = "raw SQL, minimal statement"

#: Systems, as bench/peer.py runs them: name → (port, kind), kind "hverdag" or "peer".
Systems = dict[str, tuple[int, str]]


@dataclass
class ShapeRun:
    """One shape, ready to time: each floor's pgbench script and constants (``reference``
    names the one the table divides by: hverdag's statements), each system kind's request
    bodies (one per input, in the order of the lookup table pgbench draws from), and
    ``check``: the answers of the first ``n`` inputs compared across systems and floors."""

    name: str
    floors: dict[str, tuple[str, dict[str, Any]]]
    reference: str
    bodies: dict[str, list[bytes]]
    check: Callable[[Systems, int], dict[str, Any]]
    statements: dict[str, str] = field(default_factory=dict)


def _node_key(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


def _data(answer: dict[str, Any], system: str) -> dict[str, Any]:
    if "errors" in answer:
        raise RuntimeError(f"{system}: {answer['errors']}")
    return answer["data"]  # type: ignore[no-any-return]


def _body(query: str, operation: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": query, "operationName": operation, "variables": variables})


# --- hverdag's statements, captured ----------------------------------------------------------


@contextlib.contextmanager
def captured(url: sa.URL) -> Iterator[tuple[sa.Connection, list[near.CapturedSQL]]]:
    """A connection whose statements are recorded as sent (SQLAlchemy's cursor events)."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    sent: list[near.CapturedSQL] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append(near.CapturedSQL(statement, dict(parameters or {})))

    try:
        with engine.connect() as conn:
            sent.clear()  # the dialect's first-connect queries, if any
            event.listen(engine, "before_cursor_execute", before)
            yield conn, sent
    finally:
        engine.dispose()


def pgbench_script(
    statements: list[near.CapturedSQL], roles: dict[str, Any], lookup: str, inputs: int
) -> tuple[str, dict[str, Any]]:
    """One pgbench transaction: draw an input, look it up (``lookup`` sets the variables named
    in ``roles``), then every statement in turn, as hverdag sends them one after the other. A
    parameter whose value is a role's value becomes that variable; the others are constants,
    named by statement (two statements may name theirs alike)."""
    constants: dict[str, Any] = {}
    bodies = []
    for k, sql in enumerate(statements):

        def variable(m: re.Match[str], k: int = k, sql: near.CapturedSQL = sql) -> str:
            name = m.group(1)
            value = sql.parameters[name]
            for role, role_value in roles.items():
                if type(value) is type(role_value) and value == role_value:
                    return f":{role}"
            constants[f"s{k}_{name}"] = value
            return f":s{k}_{name}"

        body = re.sub(r"%\((\w+)\)s", variable, sql.statement)
        if "%" in body.replace("%%", ""):
            raise RuntimeError(f"unexpected placeholder left in {body}")
        bodies.append(" ".join(body.replace("%%", "%").split()) + ";")
    script = f"\\set i random(0, {inputs - 1})\n{lookup} \\gset\n" + "\n".join(bodies) + "\n"
    return script, constants


def _make_check(
    url: sa.URL,
    bodies: dict[str, list[bytes]],
    answers: dict[str, Callable[[dict[str, Any]], Any]],
    minimal: near.CapturedSQL,
    minimal_params: Callable[[int], dict[str, Any]],
    minimal_answer: Callable[[list[tuple[Any, ...]]], Any],
) -> Callable[[Systems, int], dict[str, Any]]:
    """Every system's answer and the minimal statement's rows, read into one comparable value
    (ids, names, order and the other fields asked), must equal hverdag's for each input."""

    def check(systems: Systems, n: int) -> dict[str, Any]:
        inputs = min(n, len(bodies["hverdag"]))
        with near._psycopg(url) as conn:
            for i in range(inputs):
                found = {
                    name: answers[kind](near._post(port, bodies[kind][i]))
                    for name, (port, kind) in systems.items()
                }
                rows = conn.execute(minimal.statement, minimal_params(i)).fetchall()
                found[MINIMAL_STATEMENT] = minimal_answer(rows)
                reference = found["hverdag"]
                for name, value in found.items():
                    if value != reference:
                        raise RuntimeError(
                            f"{name} differs from hverdag for input {i}:\n{value}\n{reference}"
                        )
        return {"inputs_checked": inputs, "systems": len(systems) + 1}

    return check


# --- whereAmI ------------------------------------------------------------------------------------

WHERE_QUERY = """query WhereAmI($at: LatLonInput!) {
  whereAmI(at: $at) {
    municipality { number name population immigrantShare }
    county { number name }
    district { code name }
    areaInitiatives { id name }
  }
}"""

PEER_WHERE_QUERY = """query WhereAmI($lat: Float!, $lon: Float!) {
  whereAmI(lat: $lat, lon: $lon) {
    municipalityNumber municipalityName population immigrantShare
    countyNumber countyName districtCode districtName initiativeIds initiativeNames
  }
}"""

#: The answer in one statement with only its columns: what PostgreSQL alone must do.
WHERE_MINIMAL = """SELECT m.number, m.name, pop.population, imm.immigrants, c.number, c.name,
  d.code, d.name, i.ids, i.names
FROM (SELECT ST_SetSRID(ST_MakePoint(CAST(%(x)s AS float8), CAST(%(y)s AS float8)), 25833) AS pt)
  AS p
LEFT JOIN LATERAL (SELECT municipality.number, municipality.name, municipality.county_number
  FROM municipality WHERE municipality.archived_at IS NULL AND ST_Covers(municipality.geom, p.pt)
  ORDER BY municipality.number LIMIT 1) AS m ON true
LEFT JOIN county AS c ON c.number = m.county_number AND c.archived_at IS NULL
LEFT JOIN LATERAL (SELECT s.population FROM municipality_statistics AS s
  WHERE s.municipality_number = m.number AND s.population IS NOT NULL
  ORDER BY s.year DESC LIMIT 1) AS pop ON true
LEFT JOIN LATERAL (SELECT s.immigrants FROM municipality_statistics AS s
  WHERE s.municipality_number = m.number AND s.immigrants IS NOT NULL
  ORDER BY s.year DESC LIMIT 1) AS imm ON true
LEFT JOIN LATERAL (SELECT a.code, a.name FROM statistical_area AS a
  WHERE a.kind = 'BYDEL' AND a.archived_at IS NULL AND ST_Covers(a.geom, p.pt)
  ORDER BY a.code LIMIT 1) AS d ON true
LEFT JOIN LATERAL (SELECT coalesce(array_agg(a.id ORDER BY a.name), '{}') AS ids,
  coalesce(array_agg(a.name ORDER BY a.name), '{}') AS names
  FROM area_initiative AS a WHERE a.archived_at IS NULL AND ST_Covers(a.geom, p.pt)) AS i ON true"""


def _share(value: float | None) -> float | None:
    return None if value is None else round(float(value), 12)


def _where_of_hverdag(answer: dict[str, Any]) -> tuple[Any, ...]:
    w = _data(answer, "hverdag")["whereAmI"]
    m, c, d = w["municipality"] or {}, w["county"] or {}, w["district"] or {}
    return (
        m.get("number"),
        m.get("name"),
        m.get("population"),
        _share(m.get("immigrantShare")),
        c.get("number"),
        c.get("name"),
        d.get("code"),
        d.get("name"),
        tuple((_node_key(i["id"]), i["name"]) for i in w["areaInitiatives"]),
    )


def _where_of_peer(answer: dict[str, Any]) -> tuple[Any, ...]:
    w = _data(answer, "PostGraphile")["whereAmI"]
    return (
        w["municipalityNumber"],
        w["municipalityName"],
        w["population"],
        _share(w["immigrantShare"]),
        w["countyNumber"],
        w["countyName"],
        w["districtCode"],
        w["districtName"],
        tuple(zip(map(int, w["initiativeIds"]), w["initiativeNames"], strict=True)),
    )


def _where_of_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    (
        number,
        name,
        population,
        immigrants,
        county_number,
        county_name,
        code,
        district,
        ids,
        names,
    ) = rows[0]
    share = immigrants / population if immigrants is not None and population else None
    return (
        number,
        name,
        population,
        _share(share),
        county_number,
        county_name,
        code,
        district,
        tuple(zip(ids, names, strict=True)),
    )


def where_am_i_shape(url: sa.URL, points: list[near.QueryPoint]) -> ShapeRun:
    """whereAmI at the near-me points (bench_point, written by bench/peer.py)."""
    first = points[0]
    with captured(url) as (conn, sent):
        where_am_i(conn, first.x, first.y)
        surroundings(conn, first.x, first.y)
    if len(sent) != 3:  # the county's own lookup runs only outside every municipality
        raise RuntimeError(f"expected whereAmI's three statements, got {len(sent)}")
    roles = {"x": first.x, "y": first.y}
    lookup = "SELECT x, y FROM bench_point WHERE i = :i"
    minimal = near.CapturedSQL(WHERE_MINIMAL, {"x": first.x, "y": first.y})
    bodies = {
        "hverdag": [
            _body(WHERE_QUERY, "WhereAmI", {"at": {"lat": p.lat, "lon": p.lon}}) for p in points
        ],
        "peer": [_body(PEER_WHERE_QUERY, "WhereAmI", {"lat": p.lat, "lon": p.lon}) for p in points],
    }
    return ShapeRun(
        name="where-am-i",
        floors={
            HVERDAG_STATEMENTS: pgbench_script(sent, roles, lookup, len(points)),
            MINIMAL_STATEMENT: pgbench_script([minimal], roles, lookup, len(points)),
        },
        reference=HVERDAG_STATEMENTS,
        bodies=bodies,
        check=_make_check(
            url,
            bodies,
            {"hverdag": _where_of_hverdag, "peer": _where_of_peer},
            minimal,
            lambda i: {"x": points[i].x, "y": points[i].y},
            _where_of_rows,
        ),
        statements={
            HVERDAG_STATEMENTS: ";\n".join(s.statement for s in sent),
            MINIMAL_STATEMENT: WHERE_MINIMAL,
        },
    )


# --- a municipality's venues ------------------------------------------------------------------

VENUES_QUERY = f"""query Venues($number: String!) {{
  municipality(number: $number) {{
    venues(first: {VENUE_PAGE}) {{
      edges {{ node {{ id name priceModel availability {{ weekday from to }} }} }}
    }}
  }}
}}"""

PEER_VENUES_QUERY = f"""query Venues($number: String!) {{
  municipalityVenues(number: $number, maxResults: {VENUE_PAGE}) {{
    nodes {{ rowId name priceModel weekdays starts ends }}
  }}
}}"""

#: The page with only its columns, the top-N by name (no window, no count: not asked for).
VENUES_MINIMAL = f"""SELECT page.id, page.name, page.price_model, w.weekdays, w.starts, w.ends
FROM (SELECT venue.id, venue.name, venue.price_model FROM venue
  WHERE venue.municipality_number = %(number)s AND venue.archived_at IS NULL
    AND EXISTS (SELECT FROM municipality WHERE municipality.number = %(number)s
      AND municipality.archived_at IS NULL)
  ORDER BY venue.name, venue.id LIMIT {VENUE_PAGE}) AS page
LEFT JOIN LATERAL (SELECT array_agg(a.weekday ORDER BY a.weekday, a.starts) AS weekdays,
  array_agg(CAST(a.starts AS text) ORDER BY a.weekday, a.starts) AS starts,
  array_agg(CAST(a.ends AS text) ORDER BY a.weekday, a.starts) AS ends
  FROM venue_availability AS a WHERE a.venue_id = page.id) AS w ON true
ORDER BY page.name, page.id"""


def _venues_of_hverdag(answer: dict[str, Any]) -> tuple[Any, ...] | None:
    m = _data(answer, "hverdag")["municipality"]
    if m is None:
        return None
    return tuple(
        (
            _node_key(e["node"]["id"]),
            e["node"]["name"],
            e["node"]["priceModel"],
            tuple((a["weekday"], a["from"], a["to"]) for a in e["node"]["availability"]),
        )
        for e in m["venues"]["edges"]
    )


def _venue(
    row_id: Any, name: str, price: str | None, days: Any, starts: Any, ends: Any
) -> tuple[Any, ...]:
    windows = zip(days or (), starts or (), ends or (), strict=True)
    return (int(row_id), name, price, tuple((WEEKDAYS[d - 1], s, e) for d, s, e in windows))


def _venues_of_peer(answer: dict[str, Any]) -> tuple[Any, ...] | None:
    nodes = _data(answer, "PostGraphile")["municipalityVenues"]["nodes"]
    return (
        tuple(
            _venue(n["rowId"], n["name"], n["priceModel"], n["weekdays"], n["starts"], n["ends"])
            for n in nodes
        )
        or None
    )


def _venues_of_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    return tuple(_venue(*row) for row in rows) or None


def draw_municipalities(url: sa.URL, n: int, seed: int) -> list[str]:
    """``n`` municipality numbers, each that of a live venue drawn at random: a municipality
    comes up as often as it has venues (Oslo's list more than a village's)."""
    with connect(url) as conn:
        numbers = (
            conn.execute(
                sa.select(venue.c.municipality_number)
                .where(venue.c.archived_at.is_(None), venue.c.municipality_number.is_not(None))
                .order_by(venue.c.id)
            )
            .scalars()
            .all()
        )
    rng = np.random.default_rng([seed, 19])
    return [str(numbers[int(k)]) for k in rng.integers(0, len(numbers), size=n)]


def write_venue_draws(url: sa.URL, numbers: list[str]) -> dict[str, list[int]]:
    """The lookup table pgbench draws from (``bench_venue_draw``): each draw's number and the
    ids of its first page, which hverdag's availability statement receives."""
    with connect(url) as conn:
        pages = venues_of_municipalities(conn, sorted(set(numbers)), VENUE_PAGE)
    ids = {number: [row.id for row in page.rows] for number, page in pages.items()}
    with near._psycopg(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_venue_draw")
        conn.execute(
            "CREATE TABLE bench_venue_draw (i int PRIMARY KEY, number text NOT NULL, "
            "venue_ids text NOT NULL)"
        )
        with conn.cursor().copy("COPY bench_venue_draw (i, number, venue_ids) FROM STDIN") as copy:
            for i, number in enumerate(numbers):
                copy.write_row((i, number, "{" + ",".join(map(str, ids[number])) + "}"))
        conn.execute("ANALYZE bench_venue_draw")
    return ids


def _ids_as_array(sql: near.CapturedSQL, ids: list[int]) -> near.CapturedSQL:
    """The availability statement with its IN list of the page's ids (one parameter each) as
    one array parameter: the same plan (PostgreSQL reads ``IN (…)`` as ``= ANY(…)``), and
    pgbench can pass a page of any length."""
    names = [k for k, v in sql.parameters.items() if isinstance(v, int) and v in ids]
    listed = re.compile(
        r"IN \(" + ", ".join(re.escape(f"%({k})s") + r"(?:::BIGINT)?" for k in names) + r"\)"
    )
    if len(names) != len(ids) or len(listed.findall(sql.statement)) != 1:
        raise RuntimeError(f"cannot find the page's ids in {sql.statement}")
    statement = listed.sub("= ANY(CAST(%(venue_ids)s AS BIGINT[]))", sql.statement)
    parameters = {k: v for k, v in sql.parameters.items() if k not in names}
    return near.CapturedSQL(
        statement, {**parameters, "venue_ids": "{" + ",".join(map(str, ids)) + "}"}
    )


def venues_shape(url: sa.URL, numbers: list[str]) -> ShapeRun:
    """A municipality's first venues with their availability, for ``numbers`` (bench_venue_draw)."""
    pages = write_venue_draws(url, numbers)
    first = numbers[0]
    with captured(url) as (conn, sent):
        municipalities_by_number(conn, [first])
        page = venues_of_municipalities(conn, [first], VENUE_PAGE)[first]
        availability_by_venue(conn, [row.id for row in page.rows])
    if len(sent) != 3 or [row.id for row in page.rows] != pages[first]:
        raise RuntimeError(f"expected the venue list's three statements, got {len(sent)}")
    statements = [*sent[:2], _ids_as_array(sent[2], pages[first])]
    roles = {"number": first, "venue_ids": statements[2].parameters["venue_ids"]}
    lookup = "SELECT number, venue_ids FROM bench_venue_draw WHERE i = :i"
    minimal = near.CapturedSQL(VENUES_MINIMAL, {"number": first})
    bodies = {
        "hverdag": [_body(VENUES_QUERY, "Venues", {"number": n}) for n in numbers],
        "peer": [_body(PEER_VENUES_QUERY, "Venues", {"number": n}) for n in numbers],
    }
    return ShapeRun(
        name="venues",
        floors={
            HVERDAG_STATEMENTS: pgbench_script(statements, roles, lookup, len(numbers)),
            MINIMAL_STATEMENT: pgbench_script([minimal], roles, lookup, len(numbers)),
        },
        reference=HVERDAG_STATEMENTS,
        bodies=bodies,
        check=_make_check(
            url,
            bodies,
            {"hverdag": _venues_of_hverdag, "peer": _venues_of_peer},
            minimal,
            lambda i: {"number": numbers[i]},
            _venues_of_rows,
        ),
        statements={
            HVERDAG_STATEMENTS: ";\n".join(s.statement for s in statements),
            MINIMAL_STATEMENT: VENUES_MINIMAL,
        },
    )
