"""Manager KPIs (issue 5/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("شاخص‌های عملکرد", "شاخص‌های مدیریتی برای یک دورهٔ شمسی.", ["کارهای باز به تفکیک مرحله و سن", "درصد انجام در مهلت", "زمان چرخه (میانه و صدک ۹۰)", "بهره‌وری هر کارشناس"])
