"""Members directory and profile (issue 7/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("اعضا", "جست‌وجوی اعضا و پروفایل کامل هر عضو.", ["جست‌وجو با کد ملی، شماره عضویت، نام یا تلفن همراه", "تحصیلات، نشانی‌ها، مدارک، خانواده و پروانه‌ها", "فهرست اعضایی که اعتبارشان رو به پایان است"])
