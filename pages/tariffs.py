"""Tariffs (issue 4/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("تعرفه‌ها", "تعرفه‌های سالانهٔ استان به ریال.", ["ورودیه، حق عضویت سالانه، کارت، صدور و تمدید پروانه، مادهٔ ۳۲ و رتبه‌بندی", "ثبت تغییرات در گزارش رویدادها"])
