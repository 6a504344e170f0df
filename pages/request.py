"""The request screen (issue 3/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("پروندهٔ درخواست", "همهٔ آنچه برای تصمیم دربارهٔ یک درخواست لازم است، در یک صفحه.", ["مشخصات عضو و دادهٔ خاص درخواست", "مدارک با نمایشگر تصویر و PDF", "فهرست بررسی مرحله", "تأیید، رد و بازگشت برای اصلاح", "تاریخچهٔ رویدادها"])
