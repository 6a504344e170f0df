"""The membership rules (domain.member_rules): national ID, Article 45 degrees, residence proofs, the
legal address, Article 32, contacts. Property-based where the rule is a formula."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain import member_rules as rules
from domain.errors import ValidationError
from domain.reference import (DEGREE_LEVELS_FA, FIELDS_FA, ISFAHAN_ID, MEMBERSHIP_DEGREE_LEVELS, RESIDENCE_PROOFS_FA,
                             TEHRAN_ID)

FAST = settings(max_examples=300, deadline=None)
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

digits9 = st.text(alphabet="0123456789", min_size=9, max_size=9)


def _check(first9: str) -> int:
    """The mod-11 check digit, written out independently of the code under test."""
    r = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1))) % 11
    return r if r < 2 else 11 - r


# --- 1. national ID ---------------------------------------------------------------------------------

@FAST
@given(digits9)
def test_a_national_id_passes_exactly_when_its_check_digit_is_right_and_digits_vary(first9):
    for last in range(10):
        nid = first9 + str(last)
        expected = last == _check(first9) and len(set(nid)) > 1
        assert (rules.national_id_problem(nid) is None) == expected, nid
        if expected:
            assert rules.check_national_id(nid) == nid


@FAST
@given(digits9, st.sampled_from(["latin", "persian", "arabic"]), st.booleans())
def test_the_rule_reads_persian_and_arabic_digits_and_spaces(first9, family, padded):
    nid = first9 + str(_check(first9))
    assume(len(set(nid)) > 1)
    typed = {"latin": nid, "persian": nid.translate(PERSIAN), "arabic": nid.translate(ARABIC)}[family]
    if padded:
        typed = f"  {typed} "
    assert rules.check_national_id(typed) == nid


@given(st.integers(0, 9))
def test_all_same_digit_ids_are_refused_although_their_checksum_holds(d):
    nid = str(d) * 10
    assert int(nid[9]) == _check(nid[:9])  # the formula alone would accept it
    with pytest.raises(ValidationError) as exc:
        rules.check_national_id(nid)
    assert "تکرار" in exc.value.message


@FAST
@given(digits9, st.integers(1, 9))
def test_exactly_one_check_digit_fits_nine_digits(first9, delta):
    nid = first9 + str(_check(first9))
    assume(len(set(nid)) > 1)
    wrong = nid[:9] + str((int(nid[9]) + delta) % 10)
    assert rules.national_id_problem(wrong) is not None, (nid, wrong)
    assert "کنترل" in rules.national_id_problem(wrong) or len(set(wrong)) == 1


@FAST
@given(st.text(max_size=14))
def test_any_text_is_either_a_valid_id_or_a_persian_message(text):
    problem = rules.national_id_problem(text)
    if problem is None:
        clean = rules.check_national_id(text)
        assert len(clean) == 10 and clean.isdigit() and clean.isascii()
    else:
        assert any("\u0600" <= ch <= "\u06ff" for ch in problem)


# --- 2. Article 45 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field,spec,code,related", [
    ("مهندسی عمران", "سازه", "civil", False),
    ("عمران", None, "civil", False),
    ("مهندسي عمران", None, "civil", False),                 # Arabic ي
    ("مهندسی عمران - ژئوتکنیک", None, "civil", False),
    ("ژئوتکنیک", None, "civil", True),
    ("مهندسی و مدیریت ساخت", None, "civil", True),
    ("مهندسی معماری", "مرمت و احیای بناهای تاریخی", "architecture", False),
    ("معماری داخلی", None, "architecture", True),
    ("مهندسی تاسیسات مکانیکی", None, "mechanical", False),   # تاسیسات without hamza
    ("مهندسی مکانیک", "تبدیل انرژی", "mechanical", False),
    ("مهندسی برق", "قدرت", "electrical", False),
    ("مهندسی نقشه برداری", None, "surveying", False),       # a space instead of ZWNJ
    ("مهندسی ژئوماتیک", None, "surveying", True),
    ("مهندسی حمل و نقل", None, "traffic", True),
    ("شهرسازی", "طراحی شهری", "urban_planning", False),
    ("برنامه‌ریزی شهری", None, "urban_planning", True),
    ("civil", None, "civil", False),
])
def test_main_and_related_fields(field, spec, code, related):
    match = rules.match_degree_field(field, spec)
    assert match is not None and (match.field, match.related) == (code, related)
    assert FIELDS_FA[code] in match.label


@pytest.mark.parametrize("field,spec", [("حقوق", None), ("مهندسی مواد", "متالورژی"), ("", None), (None, None),
                                        ("مهندسی", None), ("ادبیات فارسی", "ادبیات معاصر")])
def test_unrelated_fields(field, spec):
    assert rules.match_degree_field(field, spec) is None


def test_every_related_field_belongs_to_a_main_field_and_is_matched():
    assert set(rules.RELATED_FIELDS_FA) == set(FIELDS_FA) == set(rules.MAIN_FIELD_NAMES_FA)
    for code, names in rules.RELATED_FIELDS_FA.items():
        for name in names:
            match = rules.match_degree_field(name)
            assert match is not None and match.field == code, name


@given(st.sampled_from(sorted(DEGREE_LEVELS_FA)), st.sampled_from(sorted(FIELDS_FA)))
def test_bachelor_or_higher_in_a_main_field_qualifies(level, code):
    assert rules.degree_qualifies(level, FIELDS_FA[code]) == (level in MEMBERSHIP_DEGREE_LEVELS)
    assert rules.degree_qualifies(level, f"مهندسی {FIELDS_FA[code]}") == (level in MEMBERSHIP_DEGREE_LEVELS)


def test_membership_needs_one_qualifying_degree():
    assoc = rules.Degree("associate", "مهندسی عمران")
    law = rules.Degree("master", "حقوق")
    bachelor = rules.Degree("bachelor_discontinuous", "مهندسی عمران", "سازه")
    assert "کارشناسی" in rules.membership_degree_problem([])
    assert "مادهٔ ۴۵" in rules.membership_degree_problem([assoc, law])
    assert rules.membership_degree_problem([assoc, law, bachelor]) is None
    with pytest.raises(ValidationError):
        rules.check_membership_degree([assoc])
    rules.check_membership_degree([bachelor])


def test_every_degree_needs_its_scan():
    assert rules.degree_scan_problem([rules.Degree("bachelor", "عمران", has_scan=True)]) is None
    problem = rules.degree_scan_problem([rules.Degree("master", "عمران", has_scan=False)])
    assert "کارشناسی ارشد" in problem


# --- 3. residence ----------------------------------------------------------------------------------

@given(st.sampled_from([TEHRAN_ID, ISFAHAN_ID, 1, 31]), st.sampled_from([TEHRAN_ID, ISFAHAN_ID]),
       st.sampled_from([None, *RESIDENCE_PROOFS_FA, "passport"]))
def test_a_member_born_elsewhere_needs_one_of_the_five_proofs(born, province, proof):
    problem = rules.residence_problem(born, province, proof)
    ok = proof in RESIDENCE_PROOFS_FA or (proof is None and born == province)
    assert (problem is None) == ok
    if not ok:
        with pytest.raises(ValidationError):
            rules.check_residence(born, province, proof)


def test_the_five_proofs_are_named_in_the_message():
    problem = rules.residence_problem(ISFAHAN_ID, TEHRAN_ID, None)
    assert "اصفهان" in problem
    assert all(label in problem for label in RESIDENCE_PROOFS_FA.values())
    assert len(RESIDENCE_PROOFS_FA) == 5


# --- 4. legal address ------------------------------------------------------------------------------

@given(st.lists(st.booleans(), max_size=6))
def test_exactly_one_legal_address(flags):
    assert (rules.legal_address_problem(flags) is None) == (flags.count(True) == 1)


# --- 6. Article 32 ---------------------------------------------------------------------------------

def test_article32_needs_a_valid_work_licence():
    today = date(2026, 1, 1)
    later, earlier = date(2027, 1, 1), date(2025, 1, 1)
    assert rules.article32_problem([("article32", later), ("work", later)], today) is None
    assert rules.article32_problem([("article32", later), ("work", earlier)], today)
    assert rules.article32_problem([("article32", later)], today)
    assert rules.article32_problem([("article32", earlier)], today) is None  # lapsed: nothing to back
    assert rules.article32_problem([], today) is None


# --- contacts and names ----------------------------------------------------------------------------

@FAST
@given(st.text(alphabet="0123456789", min_size=9, max_size=9),
       st.sampled_from(["0{}", "{}", "+98{}", "98{}", "0098{}", "+98 {}"]),
       st.sampled_from(["latin", "persian", "arabic"]))
def test_every_form_of_a_mobile_normalises_to_09(rest, form, family):
    core = "9" + rest
    typed = form.format(core)
    typed = {"latin": typed, "persian": typed.translate(PERSIAN), "arabic": typed.translate(ARABIC)}[family]
    assert rules.normalize_mobile(typed) == "0" + core
    assert rules.mobile_forms("0" + core) == ["0" + core, "+98" + core, "98" + core, core]


@pytest.mark.parametrize("typed", ["02188776655", "0812345678", "12345", "", "091212345678", "abc"])
def test_non_mobiles_are_not_mobiles(typed):
    assert rules.normalize_mobile(typed) is None


def test_contact_values_by_kind():
    assert rules.check_contact("mobile", "۰۹۱۲ ۱۲۳ ۴۵۶۷") == "09121234567"
    assert rules.check_contact("email", " Ali@Example.COM ") == "ali@example.com"
    assert rules.check_contact("landline", "021-88776655") == "02188776655"
    for kind, value in (("mobile", "0212"), ("email", "ali@"), ("landline", "88776655"), ("fax", "1")):
        with pytest.raises(ValidationError):
            rules.check_contact(kind, value)


def test_names_are_letters():
    assert rules.clean_name("  علي   رضا ", "نام") == "علی رضا"
    assert rules.clean_name("", "نام پدر", required=False) is None
    for bad in ("", "علی۱", "---", "ا" * 101):
        with pytest.raises(ValidationError):
            rules.clean_name(bad, "نام")


def test_the_report_lists_every_rule():
    report = rules.rule_report(national_id="0013542419", degrees=[rules.Degree("bachelor", "عمران")],
                               birth_province_id=TEHRAN_ID, province_id=TEHRAN_ID, residence_proof=None,
                               legal_flags=[True], licences=[], today=date(2026, 1, 1))
    assert [r.code for r in report] == list(rules.RULE_TITLES_FA) and all(r.ok for r in report)
    bad = rules.rule_report(national_id="1111111111", degrees=[], birth_province_id=ISFAHAN_ID,
                            province_id=TEHRAN_ID, residence_proof=None, legal_flags=[False, False],
                            licences=[("article32", date(2027, 1, 1))], today=date(2026, 1, 1))
    assert [r.code for r in bad if not r.ok] == ["national_id", "degree", "residence", "legal_address", "article32"]
