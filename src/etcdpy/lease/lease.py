"""One lease: its TTLs and its expiry on the leader's clock."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

# The expiry of a lease on a member that is not the primary lessor: it never expires there.
FOREVER = math.inf


@dataclass(slots=True, eq=False)
class Lease:
    id: int
    ttl: int  # seconds, as granted (after raising it to the minimum)
    # The last checkpointed remaining TTL in seconds; 0 if none.
    remaining_ttl: int = 0
    # Clock time at which the lease expires; FOREVER unless this member is the primary lessor.
    expiry: float = FOREVER
    # Resolved when the lease is revoked; created only when a renewal waits on an expired lease.
    revoked: asyncio.Future[None] | None = None

    @property
    def effective_ttl(self) -> int:
        """The TTL an expiry is computed from: the checkpointed remaining TTL if there is one."""
        return self.remaining_ttl if self.remaining_ttl > 0 else self.ttl

    def refresh(self, now: float, extend: float = 0.0) -> None:
        self.expiry = now + extend + self.effective_ttl

    def renew(self, now: float) -> None:
        """A keep-alive restarts the full TTL, whatever was checkpointed."""
        self.expiry = now + self.ttl

    def remaining(self, now: float) -> float:
        return self.expiry - now

    def expired(self, now: float) -> bool:
        return self.expiry <= now
