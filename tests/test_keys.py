"""API key format: prefix, checksum, hashing."""

import string

from hypothesis import given
from hypothesis import strategies as st

from alltoken.accounts.keys import KEY_LENGTH, PREFIX, generate_key, hash_key, hint, is_well_formed


def test_generated_keys_are_well_formed_and_distinct():
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(k.startswith(PREFIX) and len(k) == KEY_LENGTH and is_well_formed(k) for k in keys)


@given(st.integers(0, KEY_LENGTH - 1 - len(PREFIX)), st.sampled_from(string.ascii_letters + string.digits))
def test_any_single_character_typo_is_rejected(position, replacement):
    key = generate_key()
    index = len(PREFIX) + position
    typo = key[:index] + replacement + key[index + 1:]
    assert is_well_formed(typo) == (typo == key)


def test_other_strings_are_rejected():
    for text in ("", "atk_", "sk-abc", generate_key() + "x", generate_key()[:-1], "ATK_" + generate_key()[4:]):
        assert not is_well_formed(text)


def test_only_a_hash_and_a_hint_are_kept():
    key = generate_key()
    assert len(hash_key(key)) == 64 and key not in hash_key(key)
    assert hint(key).startswith(key[:8]) and hint(key).endswith(key[-4:]) and len(hint(key)) < 20
