"""The app's secret settings: outside demo mode, a login cookie key that is long and random."""
from __future__ import annotations

import secrets

import pytest

from logic.auth import DEMO_COOKIE_KEY, ConfigError, cookie_key


@pytest.mark.parametrize("key", [None, "", DEMO_COOKIE_KEY, "short-key", "a" * 32, "abab" * 16, "0123456789" * 3])
def test_production_refuses_a_missing_default_short_or_repetitive_cookie_key(key):
    with pytest.raises(ConfigError) as refused:
        cookie_key("production", key)
    assert "COOKIE_KEY" in refused.value.message


def test_a_random_key_is_accepted_and_the_demo_has_its_own():
    key = secrets.token_hex(32)
    assert cookie_key("production", key) == key and cookie_key(None, key) == key
    assert cookie_key("demo", None) == DEMO_COOKIE_KEY
