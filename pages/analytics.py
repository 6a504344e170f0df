"""Analytics (issue 5/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("تحلیل‌ها", "نمودارهای ماهانه با محور ماه‌های شمسی.", ["تمدیدها و مبالغ دریافتی", "اعضای جدید و انتقال‌ها", "پروانه‌های صادرشده و تمدیدشده"])
