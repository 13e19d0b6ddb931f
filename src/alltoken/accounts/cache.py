"""In-process cache of API keys and account states for the hot path.

The data plane never waits on the database for a key it has seen; the change feed
(runtime/sync.py) drops entries the control plane changed, within one poll interval. Concurrent
misses for the same key or account share one load (a burst on a cold cache after a start or a
change would otherwise take a database connection per request).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network

from alltoken.accounts.key_use import KeyUseLog
from alltoken.config.rate_limits import NO_LIMITS, Limits
from alltoken.limits.policy import NO_ACCOUNT_LIMITS, AccountLimits
from alltoken.routing.policy import RoutingPolicy
from alltoken.routing.restrictions import ModelRestrictions


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """The team membership of a key's owner: their role and their own spending limit in the team."""

    user_id: str
    role: str
    limit_units: int | None
    limit_reset: str | None
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    account_id: str
    name: str | None
    hint: str
    models: frozenset[str] | None
    limit_units: int | None
    limit_reset: str | None
    spent_units: int
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    member: MemberRecord | None = None  # set when a team member owns the key
    networks: tuple[IPv4Network | IPv6Network, ...] | None = None   # the IP allow-list; None: any address
    retired_hash: str | None = None           # the secret before the last rotation...
    retired_until: datetime | None = None     # ...accepted until then
    rate_limits: Limits = NO_LIMITS         # the key's own; AccountLimits.for_key gives those in force


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    status: str
    status_reason: str | None
    routing_policy: RoutingPolicy | None = None   # the account's own policy, with its restricted providers
    restrictions: ModelRestrictions | None = None
    is_admin: bool = False          # one of its users administers the platform (management API)
    credit_line_units: int = 0      # postpaid accounts may spend this far below zero
    billing_hold: str | None = None  # why API access is held after a failed or disputed payment; None: no hold
    terms_version: str | None = None   # the newest terms-of-service version it accepted
    rate_limits: AccountLimits = NO_ACCOUNT_LIMITS   # tier, overrides and state, resolved


KeyLoader = Callable[[str], Awaitable[tuple[KeyRecord, AccountRecord] | None]]
AccountLoader = Callable[[str], Awaitable[AccountRecord | None]]

_MAX_NEGATIVE = 10_000


class AuthCache:
    def __init__(self, load_key: KeyLoader, load_account: AccountLoader):
        self._load_key = load_key
        self._load_account = load_account
        self._keys: dict[str, KeyRecord] = {}          # secret hash (current or just rotated) -> key
        self._hashes_by_id: dict[str, set[str]] = {}
        self._accounts: dict[str, AccountRecord] = {}
        self._unknown: set[str] = set()                # well-formed hashes with no key behind them
        self._loading: dict[tuple[str, str], asyncio.Future] = {}   # ("key"|"account", id) -> its load
        self.uses = KeyUseLog()                        # last use of each key, written in batches

    async def lookup(self, secret_hash: str) -> tuple[KeyRecord, AccountRecord] | None:
        key = self._keys.get(secret_hash)
        if key is None:
            if secret_hash in self._unknown:
                return None
            loaded = await self._once(("key", secret_hash), self._load_key)
            if loaded is None:
                if len(self._unknown) >= _MAX_NEGATIVE:
                    self._unknown.clear()
                self._unknown.add(secret_hash)
                return None
            key, account = loaded
            self._keys[secret_hash] = key
            self._hashes_by_id.setdefault(key.id, set()).add(secret_hash)
            self._accounts.setdefault(account.id, account)
        account = self._accounts.get(key.account_id)
        if account is None:
            account = await self._once(("account", key.account_id), self._load_account)
            if account is None:
                return None
            self._accounts[account.id] = account
        return key, account

    async def _once(self, what: tuple[str, str], load):
        """One load per key or account at a time; every concurrent caller gets its result."""
        pending = self._loading.get(what)
        if pending is None:
            pending = asyncio.ensure_future(load(what[1]))
            self._loading[what] = pending
            pending.add_done_callback(lambda _: self._loading.pop(what, None))
        return await asyncio.shield(pending)   # a caller that goes away does not cancel the others' load

    def drop_key(self, key_id: str) -> None:
        for secret_hash in self._hashes_by_id.pop(key_id, ()):
            self._keys.pop(secret_hash, None)
        self._unknown.clear()  # a new key may now exist behind a hash we remembered as unknown

    def drop_account(self, account_id: str) -> None:
        self._accounts.pop(account_id, None)
