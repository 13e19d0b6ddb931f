"""Integer money and exact costs."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alltoken.catalog.models import load_catalog
from alltoken.money import MoneyFormatError, units_to_usd_str, usd_to_units
from alltoken.pricing import Price, Usage, cost_units, worst_case_units

USD = Decimal(10) ** 12


def test_usd_strings_convert_exactly():
    assert usd_to_units("1") == 10**12
    assert usd_to_units("0.00000015") == 150_000
    assert usd_to_units("0.000000000001") == 1
    assert usd_to_units(" 12.5 ") == 12_500_000_000_000


@pytest.mark.parametrize("bad", [0.1, "abc", "0.0000000000001", "NaN", "Infinity", ""])
def test_floats_garbage_and_excess_precision_are_refused(bad):
    with pytest.raises(MoneyFormatError):
        usd_to_units(bad)


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_display_strings_round_trip_exactly(units):
    assert usd_to_units(units_to_usd_str(units)) == units


def test_display_strings_keep_six_places_and_every_significant_digit():
    assert units_to_usd_str(0) == "0.000000"
    assert units_to_usd_str(12_345_678 * 10**6) == "12.345678"
    assert units_to_usd_str(1_999_489_700_000) == "1.9994897"


prices = st.builds(
    Price, prompt=st.integers(0, 10**8), completion=st.integers(0, 10**8),
    input_cache_read=st.none() | st.integers(0, 10**8), input_cache_write=st.none() | st.integers(0, 10**8),
    internal_reasoning=st.none() | st.integers(0, 10**8), request=st.integers(0, 10**9))


@st.composite
def usages(draw):
    prompt = draw(st.integers(0, 2_000_000))
    completion = draw(st.integers(0, 200_000))
    cached = draw(st.integers(0, prompt))
    cache_write = draw(st.integers(0, prompt - cached))
    return Usage(prompt, completion, cached, cache_write, draw(st.integers(0, completion)))


@given(prices, usages())
def test_cost_is_each_token_class_at_its_own_price(price, usage):
    fresh = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    expected = (fresh * price.prompt
                + usage.cached_tokens * (price.prompt if price.input_cache_read is None else price.input_cache_read)
                + usage.cache_write_tokens * (price.prompt if price.input_cache_write is None
                                              else price.input_cache_write)
                + (usage.completion_tokens - usage.reasoning_tokens) * price.completion
                + usage.reasoning_tokens * (price.completion if price.internal_reasoning is None
                                            else price.internal_reasoning)
                + price.request)
    assert cost_units(price, usage) == expected
    assert isinstance(cost_units(price, usage), int)


@given(prices, usages())
def test_worst_case_covers_the_actual_cost(price, usage):
    assert worst_case_units(price, usage.prompt_tokens, usage.completion_tokens) >= cost_units(price, usage)


def test_usage_from_openai_reads_details_and_ignores_junk():
    usage = Usage.from_openai({"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
                               "prompt_tokens_details": {"cached_tokens": 30},
                               "completion_tokens_details": {"reasoning_tokens": 12}})
    assert usage == Usage(100, 40, 30, 0, 12)
    assert Usage.from_openai({"prompt_tokens": -5, "completion_tokens": "7"}) == Usage()
    assert Usage.from_openai(None) == Usage()


def test_price_parsing_refuses_unknown_fields_and_negatives():
    with pytest.raises(ValueError):
        Price.from_usd_strings({"prompt": "0.1", "completion": "0.1", "bogus": "1"})
    with pytest.raises(ValueError):
        Price.from_usd_strings({"prompt": "-0.1", "completion": "0.1"})
    with pytest.raises(ValueError):
        Price.from_usd_strings({"prompt": "0.1"})


def test_the_catalog_has_a_source_and_date_for_every_price():
    entries = load_catalog()
    assert len({(e.provider_type, e.id) for e in entries}) == len(entries) > 10
    for entry in entries:
        assert entry.source and entry.as_of and entry.catalog_version
        assert entry.price.prompt >= 0 and entry.price.completion >= 0
    mini = next(e for e in entries if e.id == "openai/gpt-4o-mini")
    assert mini.price.prompt == 150_000 and mini.price.completion == 600_000


def test_markup_rounds_up_to_a_whole_unit_and_zero_changes_nothing():
    price = Price(prompt=150_000, completion=600_000, input_cache_read=75_001)
    assert price.marked_up(0) is price
    marked = price.marked_up(500)  # 5%
    assert (marked.prompt, marked.completion, marked.input_cache_read) == (157_500, 630_000, 78_752)
    assert marked.input_cache_write is None and marked.request == 0
