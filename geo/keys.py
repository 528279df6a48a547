"""API keys: made once, shown once, stored as a SHA-256 hash with a short non-secret prefix.

A key is ``hv_`` and 43 URL-safe characters (32 random bytes from :mod:`secrets`), so a hash
lookup is safe (no dictionary to guess from) and needs no per-key salt. Only the hash and the
first characters (``prefix``, for telling keys apart in a list) are stored: the database never
holds a key it could give away. Finding a key only reads (it works on a read-only server);
:func:`record_use` stamps ``last_used_at``, on the primary and off the request's path. A revoked
key is never found.

Revoking notifies :data:`REVOKED_CHANNEL` (PostgreSQL NOTIFY, sent when the revoking
transaction commits) with the key's id: every API worker listens and forgets the key at once.
A write checks its key with :func:`lock_live_key` in its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo import validation as v
from geo.queries.rows import AnyRow
from geo.tables import api_key, municipality, organisation
from geo.vocab import Role

#: The NOTIFY channel a revocation is announced on; the payload is the key's id.
REVOKED_CHANNEL = "hverdag_api_key_revoked"
KEY_PREFIX = "hv_"
#: Characters of a key shown in `keys list` (the ``hv_`` and 6 more: about 36 bits, public).
SHOWN = len(KEY_PREFIX) + 6
_KEY = re.compile(r"hv_[A-Za-z0-9_-]{43}")
MAX_LABEL = 200


class ApiKeyError(ValueError):
    """A key that cannot be made or found as asked; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key: who it is for and what it may touch (never the key itself)."""

    id: int
    prefix: str
    role: Role
    municipality_number: str | None
    organisation_id: int | None
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    #: The organisation's number (the Brønnøysund register's) for an ORGANISATION_EDITOR key,
    #: as `keys list` shows it; filled by :func:`list_keys` only.
    organisation_number: str | None = None


def hash_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def well_formed(secret: str) -> bool:
    """Shaped like a key this module makes: refused without asking the database otherwise."""
    return _KEY.fullmatch(secret) is not None


def _row(row: AnyRow) -> ApiKey:
    m = row._mapping
    return ApiKey(
        organisation_number=m.get("organisation_number"),
        id=m["id"],
        prefix=m["prefix"],
        role=Role(m["role"]),
        municipality_number=m["municipality_number"],
        organisation_id=m["organisation_id"],
        label=m["label"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
        last_used_at=m["last_used_at"],
    )


_PUBLIC_COLUMNS = [c for c in api_key.c if c.name != "key_hash"]


def _scope(
    conn: sa.Connection,
    role: Role,
    municipality_number: str | None,
    organisation_number: str | None,
) -> tuple[str | None, int | None]:
    """The (municipality, organisation id) a role's key is bound to; each role has its own."""
    if role is Role.MUNICIPALITY_EDITOR:
        if not municipality_number or organisation_number:
            raise ApiKeyError(
                "a MUNICIPALITY_EDITOR key needs --municipality (and no --organisation)"
            )
        number = v.municipality_number(municipality_number, "municipality")
        found = conn.execute(
            sa.select(municipality.c.number).where(municipality.c.number == number)
        ).scalar()
        if found is None:
            raise ApiKeyError(f"no municipality {number} is loaded")
        return number, None
    if role is Role.ORGANISATION_EDITOR:
        if not organisation_number or municipality_number:
            raise ApiKeyError(
                "an ORGANISATION_EDITOR key needs --organisation (and no --municipality)"
            )
        number = v.organisation_number(organisation_number, "organisation")
        found = conn.execute(
            sa.select(organisation.c.id).where(organisation.c.organisation_number == number)
        ).scalar()
        if found is None:
            raise ApiKeyError(f"no organisation with number {number} is loaded")
        return None, int(found)
    if municipality_number or organisation_number:
        raise ApiKeyError(
            f"a {role.value} key has no scope: leave out --municipality and --organisation"
        )
    return None, None


def create_key(
    conn: sa.Connection,
    role: Role | str,
    *,
    label: str,
    municipality_number: str | None = None,
    organisation_number: str | None = None,
) -> tuple[str, ApiKey]:
    """A new key: (the secret, to show once; what is stored)."""
    try:
        role = v.vocabulary(Role, role, "role")
        label = v.required_text(label, "label", max_length=MAX_LABEL)
        municipality_no, organisation_id = _scope(
            conn, role, municipality_number, organisation_number
        )
    except v.FieldError as error:
        raise ApiKeyError(str(error)) from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        sa.insert(api_key)
        .values(
            key_hash=hash_key(secret),
            prefix=secret[:SHOWN],
            role=role.value,
            municipality_number=municipality_no,
            organisation_id=organisation_id,
            label=label,
        )
        .returning(*_PUBLIC_COLUMNS)
    ).one()
    return secret, _row(row)


def list_keys(conn: sa.Connection) -> list[ApiKey]:
    """Every key, with its organisation's number for an organisation's key."""
    joined = api_key.outerjoin(organisation, organisation.c.id == api_key.c.organisation_id)
    rows = conn.execute(
        sa.select(*_PUBLIC_COLUMNS, organisation.c.organisation_number)
        .select_from(joined)
        .order_by(api_key.c.id)
    )
    return [_row(r) for r in rows]


def revoke_key(conn: sa.Connection, key: str) -> ApiKey:
    """Revoke by id or by the prefix `keys list` shows; refuses a prefix shared by two keys."""
    key = key.strip().rstrip("…")  # as `keys list` prints it
    by_id = key.isdigit() and len(key) <= 18
    condition = (api_key.c.id == int(key)) if by_id else (api_key.c.prefix == key)
    rows = conn.execute(sa.select(*_PUBLIC_COLUMNS).where(condition)).all()
    if not rows:
        raise ApiKeyError(f"no key {key!r}; `hverdag keys list` shows them")
    if len(rows) > 1:
        raise ApiKeyError(f"{len(rows)} keys have the prefix {key!r}: revoke by id")
    row = conn.execute(
        sa.update(api_key)
        .where(api_key.c.id == rows[0].id)
        .values(revoked_at=sa.func.coalesce(api_key.c.revoked_at, sa.func.now()))
        .returning(*_PUBLIC_COLUMNS)
    ).one()
    # Delivered to every listening API worker when this transaction commits (never if it
    # rolls back): they forget the key at once instead of after HVERDAG_AUTH_CACHE_S.
    conn.execute(sa.select(sa.func.pg_notify(REVOKED_CHANNEL, str(row.id))))
    return _row(row)


def find_key(conn: sa.Connection, secret: str) -> ApiKey | None:
    """The live key ``secret`` is; None for an unknown or revoked one. Reads only."""
    if not well_formed(secret):
        return None
    digest = hash_key(secret)
    row = conn.execute(
        sa.select(api_key.c.key_hash, *_PUBLIC_COLUMNS).where(
            api_key.c.key_hash == digest, api_key.c.revoked_at.is_(None)
        )
    ).first()
    # The index found it by equality; compare once more in constant time all the same.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return _row(row)


def record_use(conn: sa.Connection, key_ids: list[int]) -> None:
    """Stamp ``last_used_at`` of these keys (a write: on the primary)."""
    conn.execute(
        sa.update(api_key).where(api_key.c.id.in_(key_ids)).values(last_used_at=sa.func.now())
    )


def lock_live_key(conn: sa.Connection, key_id: int) -> bool:
    """Whether key ``key_id`` is live, checked inside the caller's transaction: its row stays
    locked (FOR SHARE) until that transaction ends, so a revocation either committed before
    this check (False) or waits for the caller's transaction to end."""
    found = conn.execute(
        sa.select(api_key.c.id)
        .where(api_key.c.id == key_id, api_key.c.revoked_at.is_(None))
        .with_for_update(read=True)
    ).first()
    return found is not None
