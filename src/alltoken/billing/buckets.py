"""Which credit a charge spends: promotional credit before paid credit, earliest expiry first.

The ledger holds only amounts; this replays an account's entries in order to split its balance
into paid credit and promotional grants, so that an expired grant's unspent rest can be written
off (an `expiry` entry) and a balance can be shown as paid + promotional. Pure and integer-only.

A write-off leaves out the charges a server had settled but not yet written when it wrote the
entry (billing/expiry.py): what it leaves of the grant is theirs, and they take it first when
their entries arrive, whenever that is.
"""

from dataclasses import dataclass, field
from datetime import datetime

EXPIRY_PREFIX = "expiry:"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: str            # topup | promo | usage | adjustment | refund | expiry
    amount_units: int    # signed, as in the ledger
    at: datetime
    expires_at: datetime | None = None
    request_id: str | None = None


@dataclass(slots=True)
class PromoGrant:
    entry_id: int
    expires_at: datetime | None
    remaining: int
    written_off: bool = False


@dataclass(slots=True)
class Buckets:
    paid: int = 0
    promos: list[PromoGrant] = field(default_factory=list)

    @property
    def promo_total(self) -> int:
        return sum(g.remaining for g in self.promos)

    @property
    def balance(self) -> int:
        return self.paid + self.promo_total

    @property
    def refundable(self) -> int:
        """Unspent paid credit: the most a `refund` may take (promotional credit never is)."""
        return max(self.paid, 0)

    def expired_unwritten(self, now: datetime) -> list[PromoGrant]:
        """Grants past their expiry with no write-off yet (spent or not), the earliest first."""
        expired = [g for g in self.promos if not g.written_off and g.expires_at is not None and g.expires_at <= now]
        return sorted(expired, key=lambda g: (g.expires_at, g.entry_id))

    def due_for_expiry(self, now: datetime) -> list[PromoGrant]:
        """Grants past their expiry with credit left and no write-off yet, the earliest first."""
        return [g for g in self.expired_unwritten(now) if g.remaining > 0]

    def promo_at(self, now: datetime) -> int:
        """Promotional credit available at `now`: none of a grant past its expiry, written off yet or not."""
        return self.promo_total - sum(g.remaining for g in self.due_for_expiry(now))

    def balance_at(self, now: datetime) -> int:
        return self.paid + self.promo_at(now)


def replay(entries: list[Entry]) -> Buckets:
    buckets = Buckets()
    grants: dict[int, PromoGrant] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.kind == "promo":
            grant = PromoGrant(entry.id, entry.expires_at, entry.amount_units)
            grants[entry.id] = grant
            buckets.promos.append(grant)
        elif entry.kind == "expiry":
            _write_off(grants, entry)
        elif entry.amount_units >= 0:
            buckets.paid += entry.amount_units
        elif entry.kind == "usage":
            _spend(buckets, -entry.amount_units, entry.at)
        else:  # a negative adjustment or a refund takes paid credit back, never promotional credit
            buckets.paid += entry.amount_units
    return buckets


def _spend(buckets: Buckets, units: int, at: datetime) -> None:
    # What a write-off left of a grant is for charges settled before it and written after: first.
    live = sorted((g for g in buckets.promos if g.remaining > 0
                   and (g.written_off or g.expires_at is None or g.expires_at > at)),
                  key=lambda g: (g.expires_at is None, g.expires_at or at, g.entry_id))
    for grant in live:
        taken = min(grant.remaining, units)
        grant.remaining -= taken
        units -= taken
        if not units:
            return
    buckets.paid -= units  # below zero only after a negative correction: a charge is capped at the balance


def _write_off(grants: dict[int, PromoGrant], entry: Entry) -> None:
    grant_id = written_off_grant(entry.request_id or "")
    grant = grants.get(grant_id) if grant_id is not None else None
    if grant is not None:
        grant.remaining += entry.amount_units   # the expiry entry is minus what was left
        grant.written_off = True


def expiry_request_id(grant: PromoGrant) -> str:
    """One write-off per grant, whichever process gets there first (the ledger's unique key)."""
    return f"{EXPIRY_PREFIX}{grant.entry_id}"


def written_off_grant(request_id: str) -> int | None:
    """The grant an `expiry` entry's request id writes off; None for any other request id."""
    if not request_id.startswith(EXPIRY_PREFIX):
        return None
    grant_id = request_id.removeprefix(EXPIRY_PREFIX)
    return int(grant_id) if grant_id.isdigit() else None
