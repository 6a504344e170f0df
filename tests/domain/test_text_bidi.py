"""Codes kept in their order inside Persian text, messages in Persian digits, holiday names tidied."""
from domain.text import LRI, PDI, fa_code, fa_message, ltr, normalize_text, tidy_title


def test_a_code_is_one_left_to_right_run_with_persian_digits_and_typing_it_back_finds_it():
    shown = fa_code("08-2-000885")
    assert shown == f"{LRI}۰۸-۲-۰۰۰۸۸۵{PDI}"
    assert normalize_text(f"شمارهٔ عضویت {shown}") == "شمارهٔ عضویت 08-2-000885"
    assert ltr("") == "" and fa_code(None) == ""


def test_messages_get_persian_digits_except_inside_an_isolated_run():
    assert fa_message("مهلت 14 درخواست باز") == "مهلت ۱۴ درخواست باز"
    assert fa_message(f"کاربر {ltr('user2')} در 3 گروه") == f"کاربر {LRI}user2{PDI} در ۳ گروه"


def test_holiday_names_from_the_package_are_tidied():
    assert tidy_title("قیام 15 خرداد") == "قیام ۱۵ خرداد"
    assert tidy_title("جشن نوروز; عید سعید فطر") == "جشن نوروز؛ عید سعید فطر"
    assert tidy_title("رحلت رسول اکرم؛شهادت امام حسن مجتبی") == "رحلت رسول اکرم؛ شهادت امام حسن مجتبی"
    assert tidy_title("عيد ; ") == "عید"
