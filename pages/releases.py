"""Transparency releases (issue 6/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("انتشار آمار", "تهیه، تأیید و انتشار آمار شفافیت توسط هیأت مدیره.", ["تهیهٔ انتشار برای یک دورهٔ شمسی", "تأیید توسط عضو دیگری از هیأت مدیره", "صفحهٔ عمومی بدون نیاز به ورود"])
