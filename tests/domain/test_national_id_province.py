"""The birth province read from a national ID's first three digits (the issuing registry office):
known codes, unknown and ambiguous prefixes, the table's shape, and generated IDs of a province."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from domain.errors import ValidationError
from domain.national_id import (birth_province, is_valid_national_id, make_national_id, national_id_in_province,
                                province_prefixes)
from domain.national_id_prefixes import AMBIGUOUS_PREFIXES, PREFIXES_BY_PROVINCE
from domain.reference import ISFAHAN_ID, PROVINCE_NAMES_FA, TEHRAN_ID

ALBORZ, EAST_AZARBAIJAN, ZANJAN, KHORASAN_RAZAVI, FARS = 5, 1, 14, 11, 17


def nid(prefix: str, serial: str = "123456") -> str:
    """A valid national ID with this three-digit prefix."""
    return make_national_id(prefix + serial)


@pytest.mark.parametrize("national_id,province", [
    ("0013542419", TEHRAN_ID),                   # Tehran, central offices (001-008)
    ("0499370899", TEHRAN_ID),                   # Shahr-e Rey (048-049)
    ("۰۰۱۳۵۴۲۴۱۹", TEHRAN_ID),                   # Persian digits
    (" 0013542419 ", TEHRAN_ID),
    (nid("128"), ISFAHAN_ID),                    # Isfahan (127-129)
    (nid("136"), EAST_AZARBAIJAN),               # Tabriz
    (nid("092"), KHORASAN_RAZAVI),               # Mashhad (092-094)
    (nid("228"), FARS),                          # Shiraz (228-230)
    (nid("031"), ALBORZ),                        # Karaj: listed under Tehran in the source, Alborz today
    (nid("427"), ZANJAN),                        # Zanjan: listed under Isfahan in the source
    (nid("615"), ZANJAN),                        # Abhar and Khorramdarreh
    (nid("152"), EAST_AZARBAIJAN),               # Mianeh
])
def test_known_prefixes_name_the_issuing_province(national_id, province):
    assert birth_province(national_id) == province


@pytest.mark.parametrize("national_id", [
    nid("100"), nid("999"),                      # no office has these prefixes
    nid("471"), nid("472"),                      # issued abroad (foreign affairs): no province
    nid("623"), nid("288"),                      # the source gives these to two provinces
    "0013542418",                                # a wrong check digit
    "1111111111", "12345", "", "abcdefghij", None,
])
def test_an_unknown_ambiguous_or_invalid_id_names_no_province(national_id):
    assert birth_province(national_id) is None


def test_the_table_covers_every_province_with_distinct_three_digit_prefixes():
    seen: dict[str, int] = {}
    assert sorted(PREFIXES_BY_PROVINCE) == sorted(PROVINCE_NAMES_FA)
    for pid, text in PREFIXES_BY_PROVINCE.items():
        prefixes = text.split()
        assert prefixes, PROVINCE_NAMES_FA[pid]
        for prefix in prefixes:
            assert len(prefix) == 3 and prefix.isascii() and prefix.isdigit(), prefix
            assert prefix not in seen, (prefix, pid, seen.get(prefix))
            assert prefix not in AMBIGUOUS_PREFIXES
            seen[prefix] = pid
        assert province_prefixes(pid) == tuple(sorted(prefixes))
    assert province_prefixes(99) == ()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PREFIXES_BY_PROVINCE)), st.integers(min_value=0, max_value=10**9))
def test_every_valid_id_with_a_province_prefix_names_that_province(pid, serial):
    prefixes = province_prefixes(pid)
    national_id_ = national_id_in_province(pid, serial % (len(prefixes) * 999_999))
    assert is_valid_national_id(national_id_)
    assert national_id_[:3] in prefixes and birth_province(national_id_) == pid


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PREFIXES_BY_PROVINCE)), st.lists(st.integers(min_value=0, max_value=5_000_000),
                                                               min_size=2, max_size=30, unique=True))
def test_generated_ids_of_a_province_are_distinct(pid, ns):
    limit = len(province_prefixes(pid)) * 999_999
    ns = sorted({n % limit for n in ns})
    ids = [national_id_in_province(pid, n) for n in ns]
    assert len(set(ids)) == len(ids)


def test_a_generated_repeated_digit_id_is_replaced_by_a_reserved_serial():
    prefixes = province_prefixes(ISFAHAN_ID)
    k = prefixes.index("111")
    got = national_id_in_province(ISFAHAN_ID, 111_111 * len(prefixes) + k)  # would be 1111111111
    assert got[:9] == "111999999" and is_valid_national_id(got) and birth_province(got) == ISFAHAN_ID
    with pytest.raises(ValidationError):
        national_id_in_province(ISFAHAN_ID, len(prefixes) * 999_999)
    with pytest.raises(ValidationError):
        national_id_in_province(ISFAHAN_ID, -1)
    with pytest.raises(ValidationError):
        national_id_in_province(99, 0)
