"""Which rate limits apply to a request: tiers from the config file, an account's tier and its own
and its keys' overrides from the database, and reduced limits for an account in the
`rate_limited` state. Resolved when a key or account is loaded into the cache, never per request.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from alltoken.config.rate_limits import NO_LIMITS, Limits, RateLimitSettings, Tier

log = logging.getLogger("alltoken.limits")

@dataclass(frozen=True)
class Overrides:
    """What the database says of one account or key (only accounts have a tier and model limits)."""

    tier: str | None = None
    limits: Limits = NO_LIMITS
    models: Mapping[str, Limits] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountLimits:
    """An account's resolved limits, carried on its cached record."""

    tier: str | None = None
    account: Limits = NO_LIMITS
    key: Limits = NO_LIMITS              # a key's limits where the key has none of its own
    key_cap: Limits = NO_LIMITS          # no key above these (the rate_limited state)
    models: Mapping[str, Limits] = field(default_factory=dict)
    any: bool = False                    # anything limited at all: the hot path's one check

    def for_key(self, own: Limits) -> Limits:
        if not own.any and not self.key_cap.any:
            return self.key             # most keys: nothing to combine
        return own.over(self.key).capped(self.key_cap)


NO_ACCOUNT_LIMITS = AccountLimits()


def resolve(settings: RateLimitSettings, stored: Overrides | None, status: str) -> AccountLimits:
    stored = stored or Overrides()
    tier_name = stored.tier
    if tier_name is not None and tier_name not in settings.tiers:
        log.warning("an account has rate-limit tier %r, which the configuration does not have; "
                    "using the default tier", tier_name)
        tier_name = None
    tier_name = tier_name or settings.default_tier
    tier = settings.tiers[tier_name] if tier_name else Tier()
    account = stored.limits.over(tier.account)
    models = {**tier.models, **{model: limits.over(tier.models.get(model, NO_LIMITS))
                                for model, limits in stored.models.items()}}
    key_cap = NO_LIMITS
    if status == "rate_limited":
        reduced = settings.reduced
        account, key_cap = account.capped(reduced.account), reduced.key
        models = {model: models.get(model, NO_LIMITS).capped(reduced.models.get(model, NO_LIMITS))
                  for model in {*models, *reduced.models}}
    models = {model: limits for model, limits in models.items() if limits.any}
    limited = account.any or tier.key.any or key_cap.any or bool(models)
    return AccountLimits(tier_name, account, tier.key, key_cap, models, limited)
