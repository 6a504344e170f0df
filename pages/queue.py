"""The expert's queue (issue 3/8): placeholder until then."""
from ui.placeholder import coming
from ui.session import require_page

require_page(__file__)
coming("کارتابل", "کارتابل کارشناس: کارهای من، کارهای گروه، گذشته از مهلت، مهلت امروز و در آستانهٔ تأخیر.", ["فیلتر نوع درخواست، مرحله، وضعیت مهلت و تاریخ ثبت", "برداشتن کار بعدی با یک کلیک", "ارجاع گروهی کارها توسط مدیر", "خروجی CSV و Excel"])
