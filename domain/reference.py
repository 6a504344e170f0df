"""Reference lists of the domain: provinces, fields, grades, degree levels, document types.

Codes are stored in the database (and checked there); Persian labels are what people read.
"""
from __future__ import annotations

# The 31 provinces: (id, code, Persian name). Ids are stable: they are foreign keys everywhere.
PROVINCES: tuple[tuple[int, str, str], ...] = (
    (1, "azarbaijan_sharghi", "آذربایجان شرقی"),
    (2, "azarbaijan_gharbi", "آذربایجان غربی"),
    (3, "ardabil", "اردبیل"),
    (4, "isfahan", "اصفهان"),
    (5, "alborz", "البرز"),
    (6, "ilam", "ایلام"),
    (7, "bushehr", "بوشهر"),
    (8, "tehran", "تهران"),
    (9, "chaharmahal", "چهارمحال و بختیاری"),
    (10, "khorasan_jonubi", "خراسان جنوبی"),
    (11, "khorasan_razavi", "خراسان رضوی"),
    (12, "khorasan_shomali", "خراسان شمالی"),
    (13, "khuzestan", "خوزستان"),
    (14, "zanjan", "زنجان"),
    (15, "semnan", "سمنان"),
    (16, "sistan_baluchestan", "سیستان و بلوچستان"),
    (17, "fars", "فارس"),
    (18, "qazvin", "قزوین"),
    (19, "qom", "قم"),
    (20, "kurdistan", "کردستان"),
    (21, "kerman", "کرمان"),
    (22, "kermanshah", "کرمانشاه"),
    (23, "kohgiluyeh", "کهگیلویه و بویراحمد"),
    (24, "golestan", "گلستان"),
    (25, "gilan", "گیلان"),
    (26, "lorestan", "لرستان"),
    (27, "mazandaran", "مازندران"),
    (28, "markazi", "مرکزی"),
    (29, "hormozgan", "هرمزگان"),
    (30, "hamadan", "همدان"),
    (31, "yazd", "یزد"),
)
PROVINCE_NAMES_FA: dict[int, str] = {pid: name for pid, _, name in PROVINCES}
TEHRAN_ID = 8
ISFAHAN_ID = 4

# The seven main fields (رشته‌های هفتگانه).
FIELDS_FA: dict[str, str] = {
    "civil": "عمران",
    "architecture": "معماری",
    "mechanical": "تأسیسات مکانیکی",
    "electrical": "تأسیسات برقی",
    "surveying": "نقشه‌برداری",
    "traffic": "ترافیک",
    "urban_planning": "شهرسازی",
}

GRADES_FA: dict[int, str] = {1: "پایه ۱", 2: "پایه ۲", 3: "پایه ۳"}
ADMISSION_GRADE = 3  # seed 004: «پایه سه در شروع فعالیت»

DEGREE_LEVELS_FA: dict[str, str] = {
    "associate": "کاردانی",
    "bachelor_discontinuous": "کارشناسی ناپیوسته",
    "bachelor": "کارشناسی پیوسته",
    "master": "کارشناسی ارشد",
    "doctorate": "دکتری",
}
# Article 45: membership needs a bachelor or higher.
MEMBERSHIP_DEGREE_LEVELS = frozenset({"bachelor_discontinuous", "bachelor", "master", "doctorate"})

MEMBER_STATUSES_FA: dict[str, str] = {
    "applicant": "متقاضی",
    "active": "فعال",
    "lapsed": "اعتبار منقضی",
    "transferred": "منتقل‌شده",
    "resigned": "استعفا",
    "expelled": "اخراج",
}

# Proofs of at least six months' residence for a member born in another province.
RESIDENCE_PROOFS_FA: dict[str, str] = {
    "employment_decree": "حکم کارگزینی",
    "insurance_list": "لیست بیمه",
    "property_deed": "سند مالکیت",
    "official_lease": "اجاره‌نامهٔ رسمی",
    "child_school_certificate": "گواهی محل تحصیل فرزند",
}

DOCUMENT_TYPES_FA: dict[str, str] = {
    "birth_certificate": "شناسنامه",
    "national_card": "کارت ملی",
    "photo": "عکس پرسنلی",
    "degree": "مدرک تحصیلی",
    "old_card": "کارت عضویت قدیمی",
    "old_licence": "پروانهٔ قدیمی",
    "rating_certificate": "گواهینامهٔ رتبه‌بندی",
    "work_record": "سوابق کاری",
    "training_certificate": "گواهی دورهٔ آموزشی",
    "payment_receipt": "رسید پرداخت",
    "self_declaration": "فرم خوداظهاری",
    **RESIDENCE_PROOFS_FA,
    "other": "سایر",
}

ALLOWED_MIME_TYPES = ("application/pdf", "image/jpeg", "image/png")

# As seed 000 names them: «تلفن ثابت، شماره همراه، ایمیل و تلفن» (the work landline).
CONTACT_KINDS_FA = {"landline": "تلفن ثابت", "mobile": "شماره همراه", "email": "ایمیل",
                    "work_phone": "تلفن ثابت محل کار"}
COMPETENCIES_FA = {"design": "طراحی", "supervision": "نظارت", "execution": "اجرا"}
LICENCE_KINDS_FA = {"work": "پروانهٔ اشتغال به کار", "article32": "پروانهٔ کارشناسان مادهٔ ۳۲"}
