"""Money settings: the platform fee on provider prices (`markup:`) and card top-ups (`stripe:`)."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from alltoken.config.values import ConfigError, basis_points, hundredths


@dataclass(frozen=True)
class Markup:
    """The platform fee on provider prices, in basis points (100 = 1%): the most specific wins."""

    default: int = 0
    providers: dict[str, int] = field(default_factory=dict)   # provider id -> basis points
    models: dict[str, int] = field(default_factory=dict)      # public model id -> basis points

    def for_route(self, model_id: str, provider_id: str) -> int:
        return self.models.get(model_id, self.providers.get(provider_id, self.default))


def markup(raw: object) -> Markup:
    """`markup: {percent: "5", providers: {openai: "3"}, models: {"acme/x": "0"}}`, percents as decimals."""
    if raw is None:
        return Markup()
    if not isinstance(raw, dict) or set(raw) - {"percent", "providers", "models"}:
        raise ConfigError("markup: expected a mapping with percent, providers and models")
    section = raw

    def table(name: str) -> dict[str, int]:
        entries = section.get(name) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"markup.{name}: expected a mapping of id to percent")
        return {str(key): basis_points(value, f"markup {name}.{key}") for key, value in entries.items()}

    return Markup(basis_points(raw.get("percent", 0), "markup percent"), table("providers"), table("models"))


@dataclass(frozen=True)
class StripeSettings:
    """Card top-ups through Stripe Checkout (payments/). No secret key: top-ups are off."""

    secret_key: str | None = None
    webhook_secret: str | None = None
    api_base: str = "https://api.stripe.com"
    success_url: str | None = None
    cancel_url: str | None = None
    currency: str = "usd"
    tax_basis_points: int = 0                # tax added on top of the credit bought; 825 = 8.25%
    minimum_cents: int = 500                 # smallest credit one top-up may buy
    auto_topup_interval_seconds: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)


_STRIPE_KEYS = {"secret_key", "webhook_secret", "api_base", "success_url", "cancel_url", "currency", "tax_percent",
                "minimum_usd", "auto_topup_interval_seconds"}


def stripe(raw: object, env: Mapping[str, str]) -> StripeSettings:
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - _STRIPE_KEYS:
        raise ConfigError(f"stripe: expected a mapping with any of {', '.join(sorted(_STRIPE_KEYS))}")
    text = {name: (str(raw[name]) if raw.get(name) not in (None, "") else None)
            for name in ("secret_key", "webhook_secret", "api_base", "success_url", "cancel_url", "currency")}
    text["secret_key"] = env.get("ALLTOKEN_STRIPE_SECRET_KEY") or text["secret_key"]
    text["webhook_secret"] = env.get("ALLTOKEN_STRIPE_WEBHOOK_SECRET") or text["webhook_secret"]
    currency = (text["currency"] or "usd").lower()
    if currency != "usd":
        raise ConfigError(f"stripe.currency: credit is kept in USD, so top-ups are charged in usd; got {currency!r}")
    try:
        interval = float(raw.get("auto_topup_interval_seconds", 15))
    except (TypeError, ValueError):
        interval = 0.0
    if interval <= 0:
        raise ConfigError("stripe.auto_topup_interval_seconds must be a number of seconds more than 0")
    minimum = hundredths(raw.get("minimum_usd", 5), "stripe.minimum_usd", "a USD amount")   # -> cents
    if minimum < 50:
        raise ConfigError("stripe.minimum_usd: Stripe charges no less than 0.50 USD")
    settings = StripeSettings(
        secret_key=text["secret_key"], webhook_secret=text["webhook_secret"],
        api_base=(text["api_base"] or StripeSettings.api_base).rstrip("/"), success_url=text["success_url"],
        cancel_url=text["cancel_url"], currency=currency,
        tax_basis_points=basis_points(raw.get("tax_percent", 0), "stripe.tax_percent"),
        minimum_cents=minimum, auto_topup_interval_seconds=interval)
    missing = [name for name in ("webhook_secret", "success_url", "cancel_url") if settings.enabled
               and not getattr(settings, name)]
    if missing:
        raise ConfigError(f"stripe: a secret_key is set, so top-ups also need {', '.join(missing)} "
                          "(the webhook signing secret, and where Checkout sends the customer back)")
    return settings
