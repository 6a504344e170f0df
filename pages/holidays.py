"""Calendar and holidays (issue 2/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("تقویم کاری و تعطیلات", "تعطیلات رسمی و تعطیلی‌های اضطراری، روزهای کاری و ساعات اداری.", ["افزودن و حذف تعطیلی", "محاسبهٔ دوبارهٔ مهلت کارهای باز پس از هر تغییر"])
