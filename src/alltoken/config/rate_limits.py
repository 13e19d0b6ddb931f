"""The `rate_limits:` section of the config file: limits per scope, tiers, and the reduced limits of an
account in the `rate_limited` state. Which of them applies to an account is limits/policy.py's job."""

from collections.abc import Mapping
from dataclasses import dataclass, field

LIMIT_FIELDS = ("rpm", "tpm", "concurrency")
SCOPES = ("account", "key", "models")


@dataclass(frozen=True, slots=True)
class Limits:
    """Requests per minute, tokens per minute, concurrent requests; None: no limit."""

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.concurrency is not None

    def over(self, base: "Limits") -> "Limits":
        """These limits where set, `base` elsewhere."""
        return Limits(*(_first(getattr(self, name), getattr(base, name)) for name in LIMIT_FIELDS))

    def capped(self, cap: "Limits") -> "Limits":
        """No limit above `cap`'s (a field with no limit gets the cap's)."""
        return Limits(*(_lowest(getattr(self, name), getattr(cap, name)) for name in LIMIT_FIELDS))

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in LIMIT_FIELDS}

    @classmethod
    def parse(cls, raw: object, where: str) -> "Limits":
        if raw is None:
            return NO_LIMITS
        if not isinstance(raw, Mapping) or set(raw) - set(LIMIT_FIELDS):
            raise ValueError(f"{where}: expected a mapping with any of {', '.join(LIMIT_FIELDS)}")
        for name, value in raw.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{where}.{name}: a whole number of 1 or more, got {value!r}")
        return cls(**raw)


NO_LIMITS = Limits()


def _first(value: int | None, fallback: int | None) -> int | None:
    return fallback if value is None else value


def _lowest(value: int | None, cap: int | None) -> int | None:
    if value is None or cap is None:
        return cap if value is None else value
    return min(value, cap)


@dataclass(frozen=True)
class Tier:
    account: Limits = NO_LIMITS                              # the account as a whole
    key: Limits = NO_LIMITS                                  # each of its keys
    models: Mapping[str, Limits] = field(default_factory=dict)   # the account's use of one model

    @classmethod
    def parse(cls, raw: object, where: str) -> "Tier":
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping) or set(raw) - set(SCOPES):
            raise ValueError(f"{where}: expected a mapping with any of {', '.join(SCOPES)}")
        models = raw.get("models") or {}
        if not isinstance(models, Mapping):
            raise ValueError(f"{where}.models: expected a mapping of model id to limits")
        return cls(Limits.parse(raw.get("account"), f"{where}.account"), Limits.parse(raw.get("key"), f"{where}.key"),
                   {str(model): Limits.parse(limits, f"{where}.models.{model}") for model, limits in models.items()})


# What an account in the `rate_limited` state gets unless the config file says otherwise.
DEFAULT_REDUCED = Tier(account=Limits(rpm=10, tpm=20_000, concurrency=2))


@dataclass(frozen=True)
class RateLimitSettings:
    tiers: Mapping[str, Tier] = field(default_factory=dict)
    default_tier: str | None = None      # for accounts given no tier
    reduced: Tier = DEFAULT_REDUCED      # caps for accounts in the rate_limited state

    @classmethod
    def parse(cls, raw: object) -> "RateLimitSettings":
        """The config file's `rate_limits:` section; ValueError says what is wrong."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping) or set(raw) - {"tiers", "default_tier", "reduced"}:
            raise ValueError("rate_limits: expected a mapping with tiers, default_tier and reduced")
        tiers = raw.get("tiers") or {}
        if not isinstance(tiers, Mapping):
            raise ValueError("rate_limits.tiers: expected a mapping of tier name to limits")
        parsed = {str(name): Tier.parse(tier, f"rate_limits.tiers.{name}") for name, tier in tiers.items()}
        default = raw.get("default_tier")
        if default is not None and default not in parsed:
            raise ValueError(f"rate_limits.default_tier: {default!r} is not one of the tiers "
                             f"({', '.join(parsed) or 'none configured'})")
        reduced = Tier.parse(raw["reduced"], "rate_limits.reduced") if "reduced" in raw else DEFAULT_REDUCED
        return cls(parsed, default, reduced)

    def check_tier(self, name: str) -> None:
        if name not in self.tiers:
            raise ValueError(f"no tier {name!r} in the configuration; rate_limits.tiers has "
                             f"{', '.join(sorted(self.tiers)) or 'none'}")
