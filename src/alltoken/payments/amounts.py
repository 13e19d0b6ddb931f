"""Top-up amounts. Stripe charges whole cents; credit is kept in units (1e-12 USD). Integers only."""

from dataclasses import dataclass

from alltoken.money import UNITS_PER_USD, MoneyFormatError, units_to_usd_str, usd_to_units

UNITS_PER_CENT = UNITS_PER_USD // 100
STRIPE_MAX_CENTS = 99_999_999   # the most Stripe charges in one USD payment: 999,999.99


class AmountError(ValueError):
    """An amount a top-up cannot have; the message says why."""


@dataclass(frozen=True)
class Quote:
    """What one top-up buys and costs: the credit, plus tax on it, charged together."""

    credit_cents: int
    tax_cents: int

    @property
    def total_cents(self) -> int:
        return self.credit_cents + self.tax_cents

    @property
    def credit_units(self) -> int:
        return self.credit_cents * UNITS_PER_CENT


def quote(credit_cents: int, tax_basis_points: int) -> Quote:
    """Tax is the rate on the credit, rounded to the nearest cent (half a cent rounds up)."""
    return Quote(credit_cents, (credit_cents * tax_basis_points + 5_000) // 10_000)


def parse_cents(amount: str | int, field: str = "amount_usd") -> int:
    """A USD amount as the API takes it ("20", "12.50", 20) in whole cents; floats and fractions of a
    cent are refused."""
    try:
        units = usd_to_units(amount)
    except MoneyFormatError as exc:
        raise AmountError(f"{field}: {exc}") from None
    if units % UNITS_PER_CENT:
        raise AmountError(f"{field}: card payments are in whole cents, got {amount!r}")
    return units // UNITS_PER_CENT


def check_topup(q: Quote, minimum_cents: int, field: str = "amount_usd") -> Quote:
    if q.credit_cents < minimum_cents:
        raise AmountError(f"{field}: the smallest top-up is {cents_to_usd_str(minimum_cents)} USD")
    if q.total_cents > STRIPE_MAX_CENTS:
        raise AmountError(f"{field}: one card payment can be at most {cents_to_usd_str(STRIPE_MAX_CENTS)} USD, "
                          "tax included")
    return q


def cents_to_usd_str(cents: int) -> str:
    return units_to_usd_str(cents * UNITS_PER_CENT)
