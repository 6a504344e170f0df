"""The people of the demo: staff accounts, members with their names, places, education,
contacts, addresses, families and licences, and the national IDs they carry.

Members are generated as parallel lists (`Members`) before the requests run, because the requests
change them (a renewal moves a validity, an admission gives a number); their rows are written
after the requests (`MemberRows.emit_members`).
"""
from __future__ import annotations

import json
import random
from bisect import bisect_right
from datetime import date, datetime, timedelta

from demo.context import JALALI, Context
from demo.rows import DIGITS2, NULL, opt, ts
from domain.outcomes import WORK_LICENCE_YEARS, add_jalali_years, licence_number
from domain.reference import (ADMISSION_GRADE, DOCUMENT_TYPES_FA, ISFAHAN_ID, PROVINCES, RESIDENCE_PROOFS_FA,
                              TEHRAN_ID)

DEMO_PASSWORD = "Demo@1404"

# --- staff accounts -------------------------------------------------------------------------------

_PROVINCE_STAFF = (  # username suffix, roles: the two big provinces have a full office
    ("expert", ("expert",)),
    ("expert2", ("expert", "final_reviewer")),  # can do both reviews: four eyes must be enforced
    ("final", ("final_reviewer",)),
    ("head", ("head",)),
    ("finance", ("finance",)),
    ("committee", ("committee",)),
    ("rating", ("rating_committee",)),
    ("manager", ("manager",)),
    ("board", ("board",)),
    ("board2", ("board",)),
    ("admin", ("admin",)),
)
# Every other province gets the people its requests need to move: both reviews, the head's
# approval, finance's confirmation, the licence committee and the rating committee.
_SMALL_PROVINCE_STAFF = (
    ("expert", ("expert",)),
    ("final", ("final_reviewer",)),
    ("head", ("head",)),
    ("finance", ("finance",)),
    ("committee", ("committee",)),
    ("rating", ("rating_committee",)),
)


def _demo_accounts() -> list[tuple[str, tuple[str, ...], int | None]]:
    accounts: list[tuple[str, tuple[str, ...], int | None]] = []
    for pid, prefix in ((TEHRAN_ID, "tehran"), (ISFAHAN_ID, "isfahan")):
        accounts += [(f"{prefix}.{suffix}", roles, pid) for suffix, roles in _PROVINCE_STAFF]
    accounts += [("central.expert", ("central_expert",), None), ("central.manager", ("manager",), None),
                 ("admin", ("admin",), None)]
    for pid, _, _ in PROVINCES:
        if pid not in (TEHRAN_ID, ISFAHAN_ID):
            accounts += [(f"p{pid}.{suffix}", roles, pid) for suffix, roles in _SMALL_PROVINCE_STAFF]
    return accounts


# (username, roles, province id or None for central staff); all share DEMO_PASSWORD.
DEMO_ACCOUNTS: list[tuple[str, tuple[str, ...], int | None]] = _demo_accounts()

# --- Persian names and places ----------------------------------------------------------------------


MALE_NAMES = (
    ("محمد", "mohammad"), ("علی", "ali"), ("حسین", "hossein"), ("رضا", "reza"), ("مهدی", "mahdi"),
    ("حسن", "hassan"), ("امیر", "amir"), ("محمدرضا", "mohammadreza"), ("علیرضا", "alireza"), ("سعید", "saeed"),
    ("حمید", "hamid"), ("مجید", "majid"), ("مسعود", "masoud"), ("احمد", "ahmad"), ("مرتضی", "morteza"),
    ("مصطفی", "mostafa"), ("جواد", "javad"), ("سجاد", "sajjad"), ("امید", "omid"), ("بهزاد", "behzad"),
    ("کامران", "kamran"), ("فرهاد", "farhad"), ("بهرام", "bahram"), ("داوود", "davood"), ("یوسف", "yousef"),
    ("ابراهیم", "ebrahim"), ("اسماعیل", "esmaeil"), ("هادی", "hadi"), ("وحید", "vahid"), ("سینا", "sina"),
    ("آرش", "arash"), ("بابک", "babak"), ("پویا", "pouya"), ("پیمان", "peyman"), ("کیوان", "keyvan"),
    ("نیما", "nima"), ("میلاد", "milad"), ("محسن", "mohsen"), ("منصور", "mansour"), ("ناصر", "naser"),
    ("هومن", "hooman"), ("شهرام", "shahram"), ("فرزاد", "farzad"), ("کوروش", "kourosh"), ("بیژن", "bijan"),
    ("روزبه", "roozbeh"), ("امین", "amin"), ("عباس", "abbas"), ("جعفر", "jafar"), ("کاظم", "kazem"),
    ("صادق", "sadegh"), ("یاسر", "yaser"), ("ایمان", "iman"), ("عرفان", "erfan"), ("پارسا", "parsa"),
    ("آرمان", "arman"), ("سهیل", "soheil"), ("رامین", "ramin"), ("شاهین", "shahin"), ("مهران", "mehran"),
)
FEMALE_NAMES = (
    ("فاطمه", "fatemeh"), ("زهرا", "zahra"), ("مریم", "maryam"), ("زینب", "zeinab"), ("سارا", "sara"),
    ("نرگس", "narges"), ("الهام", "elham"), ("لیلا", "leila"), ("مینا", "mina"), ("نازنین", "nazanin"),
    ("سمیرا", "samira"), ("شیرین", "shirin"), ("پریسا", "parisa"), ("مهسا", "mahsa"), ("نگار", "negar"),
    ("آزاده", "azadeh"), ("فرشته", "fereshteh"), ("سپیده", "sepideh"), ("ندا", "neda"), ("هانیه", "hanieh"),
    ("الناز", "elnaz"), ("مژگان", "mojgan"), ("شبنم", "shabnam"), ("رویا", "roya"), ("سمانه", "samaneh"),
    ("معصومه", "masoumeh"), ("طاهره", "tahereh"), ("مهناز", "mahnaz"), ("پروین", "parvin"), ("نسرین", "nasrin"),
    ("بهاره", "bahareh"), ("ساناز", "sanaz"), ("یاسمن", "yasaman"), ("آتنا", "atena"), ("کیمیا", "kimia"),
    ("ترانه", "taraneh"), ("شیما", "shima"), ("هستی", "hasti"), ("ریحانه", "reyhaneh"), ("محدثه", "mohaddeseh"),
    ("فریبا", "fariba"), ("سحر", "sahar"), ("نیلوفر", "niloofar"), ("ملیکا", "melika"), ("آیدا", "aida"),
    ("مهتاب", "mahtab"), ("گلناز", "golnaz"), ("پگاه", "pegah"), ("رها", "raha"), ("سوگند", "sogand"),
    ("هدیه", "hedieh"), ("نفیسه", "nafiseh"), ("اعظم", "azam"), ("منیژه", "manijeh"), ("ژاله", "zhaleh"),
    ("شهلا", "shahla"), ("سیمین", "simin"), ("فرناز", "farnaz"), ("مهشید", "mahshid"), ("کتایون", "katayoun"),
)
LAST_NAMES = (
    ("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("احمدی", "ahmadi"), ("رضایی", "rezaei"), ("موسوی", "mousavi"),
    ("کریمی", "karimi"), ("جعفری", "jafari"), ("رحیمی", "rahimi"), ("صادقی", "sadeghi"), ("هاشمی", "hashemi"),
    ("قاسمی", "ghasemi"), ("مرادی", "moradi"), ("ابراهیمی", "ebrahimi"), ("اکبری", "akbari"), ("حیدری", "heidari"),
    ("نوری", "nouri"), ("کاظمی", "kazemi"), ("عباسی", "abbasi"), ("یوسفی", "yousefi"), ("سلیمانی", "soleimani"),
    ("محمودی", "mahmoudi"), ("نجفی", "najafi"), ("زارعی", "zarei"), ("شریفی", "sharifi"), ("عسگری", "asgari"),
    ("امینی", "amini"), ("باقری", "bagheri"), ("طاهری", "taheri"), ("ملکی", "maleki"), ("فرهادی", "farhadi"),
    ("رستمی", "rostami"), ("بهرامی", "bahrami"), ("اسدی", "asadi"), ("کامرانی", "kamrani"), ("جلالی", "jalali"),
    ("سلطانی", "soltani"), ("میرزایی", "mirzaei"), ("خسروی", "khosravi"), ("شجاعی", "shojaei"), ("نظری", "nazari"),
    ("فتحی", "fathi"), ("قربانی", "ghorbani"), ("یزدانی", "yazdani"), ("طالبی", "talebi"), ("منصوری", "mansouri"),
    ("کرمانی", "kermani"), ("تهرانی", "tehrani"), ("اصفهانی", "esfahani"), ("شیرازی", "shirazi"),
    ("تبریزی", "tabrizi"), ("مشهدی", "mashhadi"), ("یزدی", "yazdi"), ("کاشانی", "kashani"), ("قزوینی", "ghazvini"),
    ("رشتی", "rashti"), ("گیلانی", "gilani"), ("همدانی", "hamedani"), ("زنجانی", "zanjani"),
    ("اردبیلی", "ardabili"), ("لاریجانی", "larijani"), ("خراسانی", "khorasani"), ("بروجردی", "boroujerdi"),
    ("دهقان", "dehghan"), ("کشاورز", "keshavarz"), ("آهنگر", "ahangar"), ("نجار", "najjar"), ("صالحی", "salehi"),
    ("فاضلی", "fazeli"), ("عزیزی", "azizi"), ("حبیبی", "habibi"), ("رحمانی", "rahmani"), ("مختاری", "mokhtari"),
    ("پورمحمدی", "pourmohammadi"), ("علیزاده", "alizadeh"), ("حسن‌زاده", "hassanzadeh"),
    ("حسین‌زاده", "hosseinzadeh"), ("تقی‌زاده", "taghizadeh"), ("قلی‌زاده", "gholizadeh"), ("رضازاده", "rezazadeh"),
    ("کریم‌زاده", "karimzadeh"), ("مهدوی", "mahdavi"), ("توکلی", "tavakoli"), ("اسلامی", "eslami"),
    ("انصاری", "ansari"), ("بابایی", "babaei"), ("فرجی", "faraji"), ("نیک‌نام", "niknam"), ("شکوهی", "shokouhi"),
    ("سبحانی", "sobhani"), ("جمشیدی", "jamshidi"), ("خلیلی", "khalili"), ("وحیدی", "vahidi"), ("مقدم", "moghaddam"),
    ("پاکزاد", "pakzad"), ("فروتن", "foroutan"), ("نادری", "naderi"), ("شاکری", "shakeri"), ("بیگی", "beigi"),
    ("افشار", "afshar"), ("قنبری", "ghanbari"), ("ایزدی", "izadi"), ("خدابنده", "khodabandeh"),
    ("روحانی", "rohani"), ("مطهری", "motahari"), ("کیانی", "kiani"), ("شهابی", "shahabi"), ("رنجبر", "ranjbar"),
    ("زمانی", "zamani"), ("آقایی", "aghaei"), ("حیدرزاده", "heidarzadeh"), ("نعمتی", "nemati"), ("صفری", "safari"),
    ("اکبرزاده", "akbarzadeh"), ("بهشتی", "beheshti"), ("دانشور", "daneshvar"), ("فرزانه", "farzaneh"),
    ("گودرزی", "goudarzi"), ("کرمی", "karami"), ("سعیدی", "saeedi"), ("ولی‌زاده", "valizadeh"),
    ("شفیعی", "shafiei"), ("اسماعیلی", "esmaeili"), ("میرزاخانی", "mirzakhani"), ("عطایی", "ataei"),
    ("بنی‌هاشمی", "banihashemi"), ("زندی", "zandi"), ("پناهی", "panahi"), ("امیری", "amiri"), ("سلامی", "salami"),
    ("فلاحی", "fallahi"), ("شیخی", "sheikhi"), ("اشرفی", "ashrafi"), ("جوادی", "javadi"), ("فرامرزی", "faramarzi"),
    ("قاسم‌پور", "ghasempour"), ("حسن‌پور", "hassanpour"), ("علی‌پور", "alipour"), ("شاه‌محمدی", "shahmohammadi"),
    ("رفیعی", "rafiei"), ("کاویانی", "kaviani"), ("مهرابی", "mehrabi"), ("نصیری", "nasiri"), ("یگانه", "yeganeh"),
    ("طباطبایی", "tabatabaei"), ("مرعشی", "marashi"), ("دلاوری", "delavari"), ("سپهری", "sepehri"),
    ("آزادی", "azadi"), ("خرمی", "khorrami"), ("وکیلی", "vakili"), ("قادری", "ghaderi"),
)
UNIVERSITIES = (
    "دانشگاه تهران", "دانشگاه صنعتی شریف", "دانشگاه صنعتی امیرکبیر", "دانشگاه علم و صنعت ایران",
    "دانشگاه صنعتی اصفهان", "دانشگاه اصفهان", "دانشگاه شیراز", "دانشگاه فردوسی مشهد", "دانشگاه تبریز",
    "دانشگاه صنعتی خواجه نصیرالدین طوسی", "دانشگاه شهید بهشتی", "دانشگاه تربیت مدرس", "دانشگاه گیلان",
    "دانشگاه یزد", "دانشگاه شهید باهنر کرمان", "دانشگاه رازی کرمانشاه", "دانشگاه بوعلی سینا همدان",
    "دانشگاه زنجان", "دانشگاه سمنان", "دانشگاه آزاد اسلامی واحد تهران مرکزی", "دانشگاه آزاد اسلامی واحد نجف‌آباد",
    "دانشگاه آزاد اسلامی واحد مشهد", "دانشگاه هنر تهران", "دانشگاه صنعتی نوشیروانی بابل",
    "دانشگاه شهید چمران اهواز", "دانشگاه ارومیه", "دانشگاه بیرجند", "دانشگاه صنعتی شاهرود",
)
# What the degree certificate says for each of the seven fields, and some specialisations.
DEGREE_FIELDS_FA = {
    "civil": ("مهندسی عمران", ("سازه", "ژئوتکنیک", "راه و ترابری", "زلزله", "مدیریت ساخت", "آب و سازه‌های هیدرولیکی")),
    "architecture": ("مهندسی معماری", ("معماری", "مرمت و احیای بناهای تاریخی", "معماری داخلی", "فناوری معماری")),
    "mechanical": ("مهندسی مکانیک", ("تأسیسات حرارتی و برودتی", "تبدیل انرژی", "طراحی کاربردی")),
    "electrical": ("مهندسی برق", ("قدرت", "الکترونیک", "کنترل", "سیستم‌های قدرت")),
    "surveying": ("مهندسی نقشه‌برداری", ("ژئودزی", "سنجش از دور", "سیستم اطلاعات مکانی", "فتوگرامتری")),
    "traffic": ("مهندسی حمل‌ونقل", ("برنامه‌ریزی حمل‌ونقل", "مهندسی ترافیک")),
    "urban_planning": ("مهندسی شهرسازی", ("برنامه‌ریزی شهری", "طراحی شهری", "برنامه‌ریزی منطقه‌ای")),
}
# Cities per province (the capital first) and the landline area code.
CITIES_FA: dict[int, tuple[tuple[str, ...], str]] = {
    1: (("تبریز", "مراغه", "مرند"), "041"), 2: (("ارومیه", "خوی", "مهاباد"), "044"),
    3: (("اردبیل", "مشگین‌شهر"), "045"), 4: (("اصفهان", "کاشان", "نجف‌آباد", "خمینی‌شهر"), "031"),
    5: (("کرج", "فردیس", "نظرآباد"), "026"), 6: (("ایلام", "دهلران"), "084"), 7: (("بوشهر", "برازجان"), "077"),
    8: (("تهران", "شهریار", "اسلامشهر", "ورامین", "دماوند"), "021"), 9: (("شهرکرد", "بروجن"), "038"),
    10: (("بیرجند", "قائن"), "056"), 11: (("مشهد", "نیشابور", "سبزوار"), "051"), 12: (("بجنورد", "شیروان"), "058"),
    13: (("اهواز", "دزفول", "آبادان"), "061"), 14: (("زنجان", "ابهر"), "024"), 15: (("سمنان", "شاهرود"), "023"),
    16: (("زاهدان", "زابل", "چابهار"), "054"), 17: (("شیراز", "مرودشت", "کازرون"), "071"),
    18: (("قزوین", "تاکستان"), "028"), 19: (("قم",), "025"), 20: (("سنندج", "سقز"), "087"),
    21: (("کرمان", "رفسنجان", "سیرجان"), "034"), 22: (("کرمانشاه", "اسلام‌آباد غرب"), "083"),
    23: (("یاسوج", "دهدشت"), "074"), 24: (("گرگان", "گنبد کاووس"), "017"), 25: (("رشت", "انزلی", "لاهیجان"), "013"),
    26: (("خرم‌آباد", "بروجرد"), "066"), 27: (("ساری", "بابل", "آمل"), "011"), 28: (("اراک", "ساوه"), "086"),
    29: (("بندرعباس", "قشم"), "076"), 30: (("همدان", "ملایر"), "081"), 31: (("یزد", "میبد"), "035"),
}
STREETS_FA = (
    "خیابان آزادی", "خیابان انقلاب", "خیابان ولیعصر", "خیابان امام خمینی", "بلوار کشاورز", "خیابان شریعتی",
    "خیابان مطهری", "بلوار فردوسی", "خیابان حافظ", "خیابان سعدی", "بلوار جمهوری", "خیابان طالقانی",
    "خیابان بهشتی", "بلوار معلم", "خیابان نواب", "خیابان کارگر", "بلوار پاسداران", "خیابان فاطمی",
    "خیابان مولوی", "بلوار چمران", "خیابان شهید رجایی", "خیابان باهنر", "بلوار دانشگاه", "خیابان گلستان",
)
ALLEYS_FA = ("کوچهٔ گلستان", "کوچهٔ بهار", "کوچهٔ لاله", "کوچهٔ نسترن", "کوچهٔ شقایق", "کوچهٔ یاس", "کوچهٔ نرگس",
             "بن‌بست صنوبر", "کوچهٔ سرو", "کوچهٔ اقاقیا", "کوچهٔ مریم", "کوچهٔ ارغوان")

# Shares of members per province: Tehran and Isfahan first, then the large provinces.
_PROVINCE_WEIGHTS = {8: 22, 4: 10, 11: 6, 17: 5, 13: 4, 1: 4, 27: 4, 5: 4, 21: 3, 25: 3, 22: 2.5, 2: 2.5,
                     28: 2, 30: 2, 31: 2, 18: 2, 19: 2, 24: 2, 16: 2}
PROVINCE_WEIGHTS = tuple(_PROVINCE_WEIGHTS.get(pid, 1.2) for pid, _, _ in PROVINCES)
FIELD_WEIGHTS = {"civil": 40, "architecture": 25, "mechanical": 12, "electrical": 12, "surveying": 5,
                 "traffic": 2, "urban_planning": 4}

# What members hold or ask for in their work licences, and how often.
COMPETENCY_SETS = ((0.4, ("design", "supervision")), (0.2, ("supervision",)), (0.15, ("execution",)),
                   (0.15, ("design",)), (0.1, ("design", "supervision", "execution")))
COMPETENCY_JSON = {c: json.dumps(list(c)) for _, c in COMPETENCY_SETS}
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
PERSIAN_NUMBERS = [str(n).translate(PERSIAN_DIGITS) for n in range(301)]  # house numbers, by table
_POSTAL_DIGITS = str.maketrans("01234567", "13456789")
_POSTAL_PREFIXES = [f"{n:05o}".translate(_POSTAL_DIGITS) for n in range(8 ** 5)]  # the first five digits
_RESIDENCE_PROOFS = tuple(RESIDENCE_PROOFS_FA)




# --- members ----------------------------------------------------------------------------------------

_NID_MULTIPLIER = 387_420_489  # 3**18: coprime to 10**9, so i -> (a*i + b) mod 10**9 is a permutation
_FAMILY_NID_OFFSET = 500_000_000


# The national ID's weighted digit sum (domain.national_id: digit i weighs 10 - i) of a 9-digit
# prefix, three digits at a time: the sum of three table look-ups instead of nine int(str) calls.
_NID_WEIGHTS = [[sum(int(d) * (w - k) for k, d in enumerate(f"{n:03d}")) for n in range(1000)] for w in (10, 7, 4)]


def national_id_for(index: int, seed: int) -> str:
    """The national ID of the index-th person: a shuffled, collision-free walk over 9-digit prefixes.

    The check digit is domain.national_id's (make_national_id), computed here from the number; a
    repeated-digit ID, which it refuses, is possible only for a prefix that is a multiple of
    111,111,111 (the tests compare the two)."""
    prefix = (_NID_MULTIPLIER * index + seed * 7919) % 1_000_000_000
    high, rest = divmod(prefix, 1_000_000)
    middle, low = divmod(rest, 1000)
    r = (_NID_WEIGHTS[0][high] + _NID_WEIGHTS[1][middle] + _NID_WEIGHTS[2][low]) % 11
    national_id = f"{str(prefix).zfill(9)}{r if r < 2 else 11 - r}"
    if prefix % 111_111_111 == 0 and len(set(national_id)) == 1:
        # One of the ten repeated-digit IDs: take a prefix no member uses.
        return national_id_for(999_999_999 - prefix % 10, seed)
    return national_id


class Members:
    """One chunk's members as parallel lists (fast to fill and to update while requests run)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.pid: list[int] = []
        self.gender: list[str] = []
        self.first: list[int] = []
        self.last: list[int] = []
        self.father: list[int] = []
        self.field: list[str] = []
        self.grade: list[int | None] = []
        self.status: list[str] = []
        self.joined: list[date | None] = []
        self.valid_year: list[int | None] = []
        self.birth: list[date] = []
        self.birth_pid: list[int] = []
        self.number: list[str | None] = []
        self.created: list[datetime | None] = []
        self.licence: list[bool] = []
        self.article32: list[bool] = []
        self.pool_from = 0  # members from here on apply for membership in this chunk


def generate_members(ctx: Context, rng: random.Random, lo: int, hi: int, pool_size: int) -> Members:
    m = Members()
    provinces = [pid for pid, _, _ in PROVINCES]
    fields = list(FIELD_WEIGHTS)
    field_weights = list(FIELD_WEIGHTS.values())
    current = JALALI.year_of(ctx.today)
    count = hi - lo
    m.pool_from = count - pool_size
    pids = rng.choices(provinces, PROVINCE_WEIGHTS, k=count)
    member_fields = rng.choices(fields, field_weights, k=count)
    # The same draws as rng.randrange(n) / randint(a, b) / choice(seq) / choices(..., weights)[0] make,
    # without their argument checking: randrange(n) is _randbelow(n), randint(a, b) is
    # a + _randbelow(b - a + 1), choice(seq) is seq[_randbelow(len(seq))] (CPython's random.py).
    random, below = rng.random, rng._randbelow
    valid_years = (current - 1, current, current + 1)
    valid_cumulative = [6, 56, 100]  # rng.choices(valid_years, (6, 50, 44)): bisect over the running sums
    n_female, n_male, n_last = len(FEMALE_NAMES), len(MALE_NAMES), len(LAST_NAMES)
    field_numbers = {field: str(k + 1) for k, field in enumerate(fields)}
    m.ids = list(range(lo + 1, hi + 1))  # the member table starts empty
    m.pid = pids
    m.field = member_fields
    m.licence = [False] * count
    m.article32 = [False] * count
    for i in range(count):
        pid = pids[i]
        gender = "f" if random() < 0.25 else "m"
        m.gender.append(gender)
        m.first.append(below(n_female if gender == "f" else n_male))
        m.last.append(below(n_last))
        m.father.append(below(n_male))
        m.birth_pid.append(pid if random() < 0.9 else provinces[below(len(provinces))])
        if i >= m.pool_from:
            # Applicants: the new-membership request decides whether they were admitted.
            m.grade.append(None)
            m.status.append("applicant")
            m.joined.append(None)
            m.valid_year.append(None)
            m.number.append(None)
            m.created.append(None)
            age = 23 + below(10)
            m.birth.append(date.fromordinal(date(current + 621 - age, 1, 1).toordinal() + below(365)))
            continue
        # Grade follows years since joining: 3 at the start, 2 after ~7 years, 1 after ~12.
        r = random()
        if r < 0.55:
            grade, joined_year = 3, current - 7 + below(7)
        elif r < 0.85:
            grade, joined_year = 2, current - 12 + below(5)
        else:
            grade, joined_year = 1, current - 35 + below(23)
        r = random()
        if r < 0.05 and joined_year <= 1388:
            first_valid = max(1381, joined_year)
            valid_year = first_valid + below(1389 - first_valid)          # the central council's discount rule
        elif r < 0.09 and joined_year < current - 1:
            valid_year = joined_year + below(current - 1 - joined_year)  # lapsed for years
        else:
            valid_year = valid_years[bisect_right(valid_cumulative, random() * 100.0, 0, 2)]
            valid_year = max(valid_year, joined_year)
        joined = date.fromordinal(JALALI.starts[joined_year - JALALI.first] + below(360))
        m.grade.append(grade)
        m.joined.append(joined)
        m.valid_year.append(valid_year)
        m.number.append(f"{DIGITS2[pid]}-{field_numbers[member_fields[i]]}-{str(lo + i + 1).zfill(6)}")
        m.created.append(datetime.fromordinal(joined.toordinal()) + timedelta(hours=8 + random() * 6))
        m.birth.append(date.fromordinal(joined.toordinal() - 365 * (24 + below(11)) - below(365)))
        r = random()
        m.status.append("resigned" if r < 0.01 else "transferred" if r < 0.02 else "active")
        if random() < 0.6:
            m.licence[i] = True
            m.article32[i] = random() < 0.08
    return m


# --- member rows (after the requests: they may have changed validity, number, status) ------------

class MemberRows:
    """The rows of a chunk's members (a mixin of the chunk builder: `ctx`, `rng`, `members`, `out`,
    `m_lo` and the quick draws `pick`, `below`, `between`)."""

    def emit_members(self) -> None:
        ctx, rng, m = self.ctx, self.rng, self.members
        today = ctx.today
        out = self.out
        for i, mid in enumerate(m.ids):
            pid, gender = m.pid[i], m.gender[i]
            first_fa, first_en = (FEMALE_NAMES if gender == "f" else MALE_NAMES)[m.first[i]]
            last_fa, last_en = LAST_NAMES[m.last[i]]
            status = m.status[i]
            valid = JALALI.ends[m.valid_year[i]] if m.valid_year[i] else None
            if status in ("active", "lapsed"):
                status = "active" if valid and valid >= today else "lapsed"
            if status == "applicant":
                grade = number = joined = valid = None
            else:
                grade, number, joined = m.grade[i], m.number[i], m.joined[i]
            proof = NULL
            if m.birth_pid[i] != pid:
                proof = self.pick(_RESIDENCE_PROOFS)
            created = m.created[i] or ctx.now - timedelta(days=30)
            nid = national_id_for(self.m_lo + i, ctx.seed)
            out["member"].append(
                f"{mid}\t{nid}\t{opt(number)}\t{first_fa}\t{last_fa}\t{MALE_NAMES[m.father[i]][0]}\t{gender}\t"
                f"{m.birth[i].isoformat()}\t{m.birth_pid[i]}\t{pid}\t{m.field[i]}\t{opt(grade)}\t{status}\t"
                f"{opt(joined and joined.isoformat())}\t{opt(valid and valid.isoformat())}\t{proof}\t"
                f"{ts(created)}\n")
            self._education(i, mid, joined or created.date())
            self._contacts(mid, pid, first_en, last_en)
            self._addresses(mid, pid)
            if rng.random() < ctx.family_share:
                self._family(i, mid, gender, last_fa)
            if (status != "resigned" and (grade is not None or m.licence[i])
                    or (i, "work") in self._held or (i, "article32") in self._held):
                self._licences(i, mid)

    def _education(self, i: int, mid: int, before: date) -> None:
        rng, m = self.rng, self.members
        label, specialisations = DEGREE_FIELDS_FA[m.field[i]]
        document = NULL
        if self.ctx.member_documents:
            document = str(mid)  # the member's degree scan: document id = member id (see load_demo)
            f = self.ctx.files[f"image-{self.below(12)}"] if rng.random() < 0.3 else self.ctx.files["pdf-degree"]
            uploaded = ts(datetime.combine(before, datetime.min.time()) + timedelta(hours=9))
            self.out["member_document"].append(
                f"{mid}\t{mid}\t{NULL}\tdegree\t{DOCUMENT_TYPES_FA['degree']}\t{label}\tdegree.{f.extension}\t"
                f"{f.mime}\t{len(f.content)}\t{f.sha256}\tt\t{uploaded}\taccepted\t{NULL}\t{NULL}\t{uploaded}\n")
        graduated = before - timedelta(days=self.between(30, 900))
        level = "bachelor_discontinuous" if rng.random() < 0.1 else "bachelor"
        out = self.out["education"]
        out.append(f"{mid}\t{level}\t{label}\t{self.pick(specialisations)}\t{self.pick(UNIVERSITIES)}\t"
                   f"{graduated.isoformat()}\t{self.between(10**11, 10**12 - 1)}\t{document}\n")
        r = rng.random()
        if r < 0.35:
            higher = "doctorate" if r < 0.05 else "master"
            later = min(graduated + timedelta(days=self.between(700, 2200)), self.ctx.today - timedelta(days=30))
            out.append(f"{mid}\t{higher}\t{label}\t{self.pick(specialisations)}\t{self.pick(UNIVERSITIES)}\t"
                       f"{later.isoformat()}\t{self.between(10**11, 10**12 - 1)}\t{NULL}\n")

    _MOBILE_PREFIXES = ("0912", "0913", "0914", "0915", "0916", "0917", "0918", "0919", "0901", "0902",
                        "0903", "0905", "0935", "0936", "0937", "0938", "0939", "0990", "0991", "0921", "0922")
    _MAIL_DOMAINS = ("gmail.com", "yahoo.com", "chmail.ir", "outlook.com", "mail.ir")

    def _contacts(self, mid: int, pid: int, first_en: str, last_en: str) -> None:
        rng = self.rng
        out = self.out["contact"]
        mobile = f"{self.pick(self._MOBILE_PREFIXES)}{str(self.below(10**7)).zfill(7)}"
        out.append(f"{mid}\tmobile\t{mobile}\tt\n")
        out.append(f"{mid}\temail\t{first_en}.{last_en}{mid % 1000}@{self.pick(self._MAIL_DOMAINS)}\tt\n")
        r = rng.random()
        area = CITIES_FA[pid][1]
        if r < 0.3:
            out.append(f"{mid}\tlandline\t{area}{self.between(10**7, 10**8 - 1)}\tt\n")
        if r < 0.1:  # an old number, kept but switched off
            out.append(f"{mid}\tmobile\t{self.pick(self._MOBILE_PREFIXES)}{str(self.below(10**7)).zfill(7)}\tf\n")
        elif r > 0.85:
            out.append(f"{mid}\twork_phone\t{area}{self.between(10**7, 10**8 - 1)}\tt\n")

    def _addresses(self, mid: int, pid: int) -> None:
        rng = self.rng
        out = self.out["address"]
        cities = CITIES_FA[pid][0]
        for legal in ("t", "f") if rng.random() < 0.2 else ("t",):
            plaque = PERSIAN_NUMBERS[self.between(1, 250)]
            line = f"{self.pick(STREETS_FA)}، {self.pick(ALLEYS_FA)}، پلاک {plaque}"
            # Iranian postal codes: ten digits, no 0 or 2 among the first five.
            postal = _POSTAL_PREFIXES[self.below(8 ** 5)] + str(self.below(100000)).zfill(5)
            out.append(f"{mid}\t{pid}\t{self.pick(cities)}\t{line}\t{postal}\t{legal}\n")

    def _family(self, i: int, mid: int, gender: str, last_fa: str) -> None:
        rng, m = self.rng, self.members
        if rng.random() >= 0.5:
            return
        out = self.out["family_member"]
        g = self.m_lo + i
        seed = self.ctx.seed
        spouse_names = MALE_NAMES if gender == "f" else FEMALE_NAMES
        spouse_last = LAST_NAMES[self.below(len(LAST_NAMES))][0]
        birth = m.birth[i] + timedelta(days=self.between(-1500, 1500))
        out.append(f"{mid}\tspouse\t{spouse_names[self.below(len(spouse_names))][0]}\t{spouse_last}\t"
                   f"{national_id_for(_FAMILY_NID_OFFSET + 4 * g, seed)}\t{birth.isoformat()}\n")
        child_last = last_fa if gender == "m" else spouse_last
        for k in range(self.pick((0, 1, 1, 2, 2, 3))):
            born = m.birth[i] + timedelta(days=365 * self.between(26, 40) + self.below(365))
            if born >= self.ctx.today:
                continue
            names = MALE_NAMES if rng.random() < 0.5 else FEMALE_NAMES
            out.append(f"{mid}\tchild\t{names[self.below(len(names))][0]}\t{child_last}\t"
                       f"{national_id_for(_FAMILY_NID_OFFSET + 4 * g + 1 + k, seed)}\t{born.isoformat()}\n")

    def held_licence(self, i: int, kind: str, before: date | None = None) -> Licence:
        """The member's latest licence of `kind`. One they held before the demo period is drawn on
        first need: issued up to six years (Article 32: four) before `before` (default today), for
        five years (three)."""
        held = self._held.get((i, kind))
        if not held:
            m = self.members
            work = kind == "work"
            issued = (before or self.ctx.today) - timedelta(days=self.between(30, (6 if work else 4) * 365))
            lid = m.ids[i] * LICENCE_IDS_PER_MEMBER + (0 if work else 1)
            held = self._held[(i, kind)] = [Licence(
                lid, kind, licence_number(kind, m.pid[i], m.field[i], lid), m.field[i], m.grade[i] or ADMISSION_GRADE,
                competencies(self.rng) if work else (), issued, add_jalali_years(issued, 5 if work else 3), None)]
        # as logic.effects renews: the one that expires last
        return held[0] if len(held) == 1 else max(held, key=_latest)

    def issue_licence(self, i: int, issued: date, held: tuple[str, ...], request_id: int) -> Licence:
        """A work licence a request issued."""
        m = self.members
        mine = self._held.setdefault((i, "work"), [])
        lid = m.ids[i] * LICENCE_IDS_PER_MEMBER + 2 + sum(1 for lic in mine if lic.request_id is not None)
        if lid % LICENCE_IDS_PER_MEMBER == 0:
            raise RuntimeError("a demo member was issued too many work licences")
        licence = Licence(lid, "work", licence_number("work", m.pid[i], m.field[i], lid), m.field[i],
                          m.grade[i] or ADMISSION_GRADE, held, issued,
                          add_jalali_years(issued, WORK_LICENCE_YEARS), request_id)
        mine.append(licence)
        return licence

    def _licences(self, i: int, mid: int) -> None:
        """A work licence (some expired by now) and, for a few, an Article 32 licence; and those the
        chunk's requests issued or renewed."""
        m = self.members
        out = self.out["work_licence"]
        if m.licence[i]:
            self.held_licence(i, "work")
        if m.article32[i]:
            self.held_licence(i, "article32")
        for kind in ("work", "article32"):
            for lic in self._held.get((i, kind), ()):
                out.append(f"{lic.id}\t{mid}\t{kind}\t{lic.number}\t{lic.field}\t{lic.grade}\t"
                           f"{{{','.join(lic.competencies)}}}\t{lic.issued.isoformat()}\t{lic.expires.isoformat()}\t"
                           f"{opt(lic.request_id)}\n")


# Demo licence ids: the member's id times this, plus 0 (a work licence held before the demo), 1 (an
# Article 32 licence) or 2.. (those the member's requests issued), so chunks need no shared sequence.
LICENCE_IDS_PER_MEMBER = 32


def _latest(licence: Licence) -> tuple:
    return licence.expires, licence.id


class Licence:
    """A licence as the chunk's rows will show it (its expiry moves as requests renew it)."""
    __slots__ = ("id", "kind", "number", "field", "grade", "competencies", "issued", "expires", "request_id")

    def __init__(self, lid, kind, number, field, grade, held, issued, expires, request_id) -> None:
        self.id, self.kind, self.number, self.field, self.grade = lid, kind, number, field, grade
        self.competencies, self.issued, self.expires, self.request_id = held, issued, expires, request_id


def competencies(rng: random.Random) -> tuple[str, ...]:
    r = rng.random()
    for share, chosen in COMPETENCY_SETS:
        if r < share:
            return chosen
        r -= share
    return COMPETENCY_SETS[-1][1]
