"""Staff administration (issue 8/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("کاربران", "مدیریت کاربران سامانه.", ["ایجاد کاربر، نقش‌ها و استان", "غیرفعال‌سازی و بازنشانی گذرواژه"])
