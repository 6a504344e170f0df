"""Payments (issue 4/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("پرداخت‌ها", "ثبت پرداخت‌های تأییدشده و تأیید مبلغ‌ها توسط امور مالی.", ["تأیید مبلغ تعیین‌شده پیش از فعال شدن پیوند پرداخت", "ثبت پرداخت با شمارهٔ مرجع بانکی (هر مرجع فقط یک بار)", "بارگذاری فایل CSV درگاه"])
