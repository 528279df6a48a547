"""The public's problem reports: a bucket per sender of their own, and the salted hash that
stands for the sender's address (the address itself is never stored).

A report needs no key, so the sender is known by address alone (api.guard.ratelimit's
``client_address``, behind HVERDAG_FORWARDED_FOR_HOPS proxies). The bucket is the limiter the
app's rate limits use (Redis's shared one with HVERDAG_REDIS_URL), keyed by the hash, so
neither the database nor Redis holds an address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.types import Scope

from api.guard.ratelimit import Decision, Limiter, LocalLimiter, Policy, client_address
from geo.settings import Settings

PROBLEM_REPORTS = "problem-reports"
#: A full bucket holds this many minutes' worth of reports.
BURST_MINUTES = 10


@dataclass
class ReportGuard:
    limiter: Limiter
    #: None: reports are not limited.
    policy: Policy | None
    salt: bytes
    hops: int

    @classmethod
    def of(cls, settings: Settings, limiter: Limiter | None) -> ReportGuard:
        """The app's guard: its rate limits' limiter when they are on, else one of its own
        (reports are limited either way unless HVERDAG_PROBLEM_REPORTS_PER_MINUTE is 0)."""
        per_minute = settings.problem_reports_per_minute
        policy = Policy(PROBLEM_REPORTS, per_minute, BURST_MINUTES * 60) if per_minute > 0 else None
        salt = (settings.report_salt or secrets.token_hex(32)).encode()
        return cls(limiter or LocalLimiter(), policy, salt, settings.forwarded_for_hops)

    def sender_hash(self, scope: Scope) -> bytes:
        """HMAC-SHA256 of the sender's address under the salt: the same sender, the same hash
        (as long as the salt stays), and no way back to the address without the salt."""
        address = client_address(scope, self.hops)
        return hmac.new(self.salt, address.encode(), hashlib.sha256).digest()

    async def admit(self, sender: bytes) -> Decision | None:
        """Take one report from ``sender``'s bucket; None when reports are not limited."""
        if self.policy is None:
            return None
        return await self.limiter.hit(f"{PROBLEM_REPORTS}:{sender.hex()}", self.policy)
