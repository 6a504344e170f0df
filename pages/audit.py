"""Audit log (issue 8/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("گزارش رویدادها", "گزارش همهٔ رویدادهای ثبت‌شده.", ["فیلتر بر اساس شخص، اقدام، درخواست و تاریخ", "خروجی"])
