"""`python -m db.demo`: load realistic demo data (staff, members, requests with their whole history).

    python -m db.demo                         # 3,000 requests, about 1,500 members
    python -m db.demo --scale million         # 1,000,000 requests, 400,000 members
    python -m db.demo --requests 20000 --members 8000 --seed 7 --if-empty

What it writes, and why it is shaped the way it is:

* Reference-like rows (official holidays, staff accounts, fee tariffs, the demo files) go in with
  ordinary INSERTs; they are small and may partly exist already.
* Members and requests are generated in chunks of about 10,000 requests. A chunk owns a range of
  members and the requests of exactly those members, so a chunk is self-contained: a renewal can
  update its member's validity before the member row is written. Chunks are seeded from
  (seed, chunk number), so the output does not depend on how many worker processes built them.
* Rows are formatted as COPY text by the workers and written by one connection in chunk order, in
  one transaction: the load is all or nothing, and ids that the sequence assigns (events, visits,
  contacts...) come out the same on every run. Member, request, fee assessment and payment ids,
  which other rows point at, are assigned here; every sequence is moved past them at the end.
* Request histories follow the SLA rules of the workflow engine exactly: stage visits, deadlines,
  hours used and the request's clock columns are computed with the same `BusinessCalendar`.
* Large loads drop the secondary indexes of the bulk tables inside the transaction and rebuild
  them (from their own `pg_get_indexdef`, so exactly as the migration made them) before commit;
  a superuser session also skips the foreign-key triggers (`session_replication_role = replica`,
  what pg_restore does). The generator keeps the references right by construction; the tests
  check them.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import multiprocessing
import os
import random
import sys
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import bcrypt
import jdatetime
import sqlalchemy as sa

from db.demo_files import DemoFile, demo_files
from logic.jalali import last_day_of_jalali_year, to_gregorian
from logic.processes import INITIAL_REVIEW, PROCESSES, Condition, StageKind
from logic.reference import (DOCUMENT_TYPES_FA, FIELDS_FA, ISFAHAN_ID, PROVINCES, RESIDENCE_PROOFS_FA,
                             TEHRAN_ID)
from logic.sla import AT_RISK_FRACTION, TEHRAN, BusinessCalendar, to_tehran_naive

DEMO_PASSWORD = "Demo@1404"
DEFAULT_SEED = 1404
DEFAULT_REQUESTS = 3000
MAX_MEMBERS = 1_000_000
SCALES: dict[str, tuple[int, int | None]] = {
    "small": (DEFAULT_REQUESTS, None),
    "million": (1_000_000, 400_000),
    "national": (5_000_000, 1_000_000),
}
CHUNK_REQUESTS = 10_000
CHUNK_MEMBERS = 4_000
# From this size on the load rebuilds secondary indexes instead of maintaining them row by row.
BULK_THRESHOLD = 100_000
# The demo covers three Jalali years: 1 Farvardin 1403 up to now.
FIRST_JALALI_YEAR = 1403
TARIFF_YEARS = range(1380, 1407)

# --- staff accounts -------------------------------------------------------------------------------

_PROVINCE_STAFF = (  # username suffix, roles: the two big provinces have a full office
    ("expert", ("expert",)),
    ("expert2", ("expert", "final_reviewer")),  # can do both reviews: four eyes must be enforced
    ("final", ("final_reviewer",)),
    ("head", ("head",)),
    ("finance", ("finance",)),
    ("committee", ("committee",)),
    ("manager", ("manager",)),
    ("board", ("board",)),
    ("board2", ("board",)),
    ("admin", ("admin",)),
)
# Every other province gets the people its requests need to move: both reviews, the head's
# approval, finance's confirmation and the licence committee.
_SMALL_PROVINCE_STAFF = (
    ("expert", ("expert",)),
    ("final", ("final_reviewer",)),
    ("head", ("head",)),
    ("finance", ("finance",)),
    ("committee", ("committee",)),
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
# (Persian, Latin) pairs: the Latin spelling makes e-mail addresses.

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
REJECT_REASONS_FA = (
    "مدرک تحصیلی با رشته‌های اصلی یا مرتبط مطابقت ندارد.",
    "اطلاعات هویتی با مدارک بارگذاری‌شده مطابقت ندارد.",
    "سوابق کاری ارائه‌شده برای پایهٔ درخواستی کافی نیست.",
    "بدهی‌های عضو تسویه نشده است.",
    "پروانهٔ اشتغال معتبر ارائه نشده است.",
    "درخواست تکراری است؛ درخواست دیگری با همین موضوع در جریان است.",
)
RETURN_REASONS_FA = (
    "تصویر کارت ملی ناخوانا است؛ لطفاً دوباره بارگذاری کنید.",
    "شمارهٔ شبا با نام عضو مطابقت ندارد؛ لطفاً اصلاح کنید.",
    "نشانی پستی ناقص است؛ کد پستی را وارد کنید.",
    "گواهی دورهٔ آموزشی بارگذاری نشده است.",
    "تصویر مدرک تحصیلی ناقص است؛ هر دو روی مدرک را بارگذاری کنید.",
)
DOCUMENT_REJECT_REASONS_FA = ("تصویر ناخوانا است.", "مدرک منقضی شده است.", "مدرک با اطلاعات ثبت‌شده مطابقت ندارد.")

# Shares of members per province: Tehran and Isfahan first, then the large provinces.
_PROVINCE_WEIGHTS = {8: 22, 4: 10, 11: 6, 17: 5, 13: 4, 1: 4, 27: 4, 5: 4, 21: 3, 25: 3, 22: 2.5, 2: 2.5,
                     28: 2, 30: 2, 31: 2, 18: 2, 19: 2, 24: 2, 16: 2}
PROVINCE_WEIGHTS = tuple(_PROVINCE_WEIGHTS.get(pid, 1.2) for pid, _, _ in PROVINCES)
FIELD_WEIGHTS = {"civil": 40, "architecture": 25, "mechanical": 12, "electrical": 12, "surveying": 5,
                 "traffic": 2, "urban_planning": 4}
# How often each request type is filed.
TYPE_WEIGHTS = {"membership_renewal": 30, "licence_renewal": 20, "licence_issue": 12, "card_reissue": 9,
                "new_membership": 8, "rating": 5, "legacy_registration": 4, "transfer": 3,
                "rating_registration": 5, "article32_renewal": 4}
# What renewals beyond one per member become (large loads with few members).
_OTHER_TYPES = [t for t in TYPE_WEIGHTS if t not in ("membership_renewal", "new_membership")]
_OTHER_WEIGHTS = [TYPE_WEIGHTS[t] for t in _OTHER_TYPES]
# What happens to requests: most are closed; the open ones fill the queues.
CLASS_SHARES = (("completed", 0.75), ("rejected", 0.08), ("returned", 0.03))  # the rest stays open

# Documents each request type carries, most important first: (doc type, required).
REQUEST_DOCUMENTS = {
    "new_membership": (("national_card", True), ("birth_certificate", True), ("degree", True), ("photo", True)),
    "legacy_registration": (("old_card", True), ("national_card", True), ("degree", True), ("birth_certificate", True)),
    "membership_renewal": (("self_declaration", True), ("national_card", True), ("payment_receipt", False)),
    "transfer": (("self_declaration", True), ("national_card", True), ("official_lease", False), ("other", False)),
    "card_reissue": (("photo", True), ("national_card", True), ("other", False)),
    "rating": (("work_record", True), ("training_certificate", True), ("self_declaration", False), ("other", False)),
    "rating_registration": (("rating_certificate", True), ("old_licence", True), ("national_card", False)),
    "licence_issue": (("work_record", True), ("training_certificate", True), ("degree", True), ("photo", False)),
    "licence_renewal": (("old_licence", True), ("training_certificate", True), ("work_record", False)),
    "article32_renewal": (("old_licence", True), ("national_card", True), ("photo", False)),
}
_IMAGE_DOCS = frozenset({"photo", "national_card", "birth_certificate", "old_card"})
_PDF_FOR_DOC = {"degree": "pdf-degree", "work_record": "pdf-work_record",
                "training_certificate": "pdf-training_certificate", "old_licence": "pdf-licence",
                "rating_certificate": "pdf-rating_certificate"}

NULL = "\\N"  # COPY text format's NULL

# --- small helpers ----------------------------------------------------------------------------------


# JSON for COPY is written by hand with f-strings: the values are numbers, codes and Persian text
# from the lists above, which need no escaping (no quotes, backslashes, tabs or newlines).


def _ts(moment: datetime) -> str:
    """A naive Tehran time for COPY (the session time zone is Asia/Tehran)."""
    return moment.isoformat(" ")


def _opt(value) -> str:
    return NULL if value is None else str(value)


HOURS_PLACES = Decimal("0.0001")
# The share of a limit below which a running clock is "at risk", as logic.workflow computes it.
AT_RISK = 1 - Decimal(str(1 - AT_RISK_FRACTION))


def _hours(value: float) -> Decimal:
    """Working hours as the workflow stores them (numeric(10, 4), rounded the same way)."""
    return Decimal(str(value)).quantize(HOURS_PLACES)


# The request generator counts hours in "units" of 1/10,000 hour (numeric(10, 4)), as plain ints:
# a unit count is exactly the Decimal `_hours` gives, without Decimal arithmetic per stage visit.
_HOUR_UNITS = 10_000
_US_PER_UNIT = 360_000  # microseconds per unit
_AT_RISK_NUM, _AT_RISK_DEN = AT_RISK.as_integer_ratio()


def _hour_units(value: float) -> int:
    return int(_hours(value) * _HOUR_UNITS)


def _segment_units(us: int) -> int:
    """`_hours(max(0.0, us / 3.6e9))` in units, by integer arithmetic.

    Rounding the exact quotient half to even (the Decimal default) gives what rounding the float's
    shortest repr gives: a quotient that is not a tie is at least 1/360,000 unit away from one, far
    more than a float's error for any duration a request has (the tests compare the two).
    """
    if us <= 0:
        return 0
    units, rest = divmod(us, _US_PER_UNIT)
    if 2 * rest > _US_PER_UNIT or (2 * rest == _US_PER_UNIT and units & 1):
        units += 1
    return units


# Zero-padded digits by table look-up: format specs ("{n:04d}") are slow in hot f-strings.
_DIGITS2 = [f"{n:02d}" for n in range(100)]
_DIGITS3 = [f"{n:03d}" for n in range(1000)]
_DIGITS4 = [f"{n:04d}" for n in range(10_000)]


def _units_text(units: int) -> str:
    """What str() of the `_hours` Decimal writes: always four decimals."""
    return f"{units // _HOUR_UNITS}.{_DIGITS4[units % _HOUR_UNITS]}"


def _round10k(amount: float) -> int:
    return max(10_000, int(round(amount / 10_000)) * 10_000)


# What members hold or ask for in their work licences, and how often.
_COMPETENCY_SETS = ((0.4, ("design", "supervision")), (0.2, ("supervision",)), (0.15, ("execution",)),
                    (0.15, ("design",)), (0.1, ("design", "supervision", "execution")))
_COMPETENCY_JSON = {c: json.dumps(list(c)) for _, c in _COMPETENCY_SETS}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_PERSIAN_NUMBERS = [str(n).translate(_PERSIAN_DIGITS) for n in range(301)]  # house numbers, by table
_POSTAL_DIGITS = str.maketrans("01234567", "13456789")
_POSTAL_PREFIXES = [f"{n:05o}".translate(_POSTAL_DIGITS) for n in range(8 ** 5)]  # the first five digits
_RESIDENCE_PROOFS = tuple(RESIDENCE_PROOFS_FA)


class _JalaliYears:
    """Jalali year arithmetic by table lookup: jdatetime is too slow for millions of calls."""

    def __init__(self, first: int = 1300, last: int = 1420) -> None:
        self.first = first
        self.starts = [jdatetime.date(y, 1, 1).togregorian().toordinal() for y in range(first, last + 1)]
        self.ends = {y: to_gregorian(last_day_of_jalali_year(y)) for y in range(first, last)}

    def year_of(self, day: date) -> int:
        return self.first + bisect_right(self.starts, day.toordinal()) - 1

    def start_of(self, year: int) -> date:
        return date.fromordinal(self.starts[year - self.first])


JALALI = _JalaliYears()


# --- the context every chunk reads ------------------------------------------------------------------

class _StageInfo:
    """A stage of a process with what the generator needs to move a request through it."""
    __slots__ = ("code", "kind", "role", "limit_days", "clock", "optional", "four_eyes", "action",
                 "returnable", "rejectable", "fee", "payment", "committee", "finance", "checks_documents")

    def __init__(self, stage) -> None:
        self.code = stage.code
        self.kind = stage.kind
        self.role = stage.role.value if stage.role else None
        self.limit_days = stage.limit_days
        self.clock = stage.clock_runs
        self.optional = stage.optional
        self.four_eyes = stage.four_eyes
        # The event that moves a request on from this stage, as logic.workflow writes it (a stage
        # visit's outcome is the same word): review, fee, finance and decision stages "approve",
        # committees record a "committee_decision", issue stages "complete".
        self.action = {StageKind.COMMITTEE: "committee_decision", StageKind.ISSUE: "complete",
                       StageKind.PAYMENT: "payment_confirmed",
                       StageKind.MEMBER: "member_completed"}.get(stage.kind, "approve")
        # What the workflow lets staff do here besides approving (STAFF_ACTIONS).
        self.returnable = stage.kind in (StageKind.REVIEW, StageKind.FEE)
        self.rejectable = stage.kind in (StageKind.REVIEW, StageKind.FEE, StageKind.DECISION, StageKind.COMMITTEE)
        # The kinds the generator asks about per step, as flags (an enum member look-up is slow).
        self.fee = stage.kind == StageKind.FEE
        self.payment = stage.kind == StageKind.PAYMENT
        self.committee = stage.kind == StageKind.COMMITTEE
        self.finance = stage.kind == StageKind.FINANCE
        self.checks_documents = stage.kind in (StageKind.REVIEW, StageKind.FEE, StageKind.ISSUE)


STAGES: dict[str, tuple[_StageInfo, ...]] = {
    code: tuple(_StageInfo(s) for s in proc.stages) for code, proc in PROCESSES.items()}


_US_PER_HOUR = 3_600_000_000


def _time_us(t) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


# --- wall time as integer microseconds --------------------------------------------------------------
# The request generator keeps its moments as "wall microseconds": naive Tehran time counted in
# microseconds from 2000-01-01 00:00. A history is a few dozen clock look-ups and comparisons per
# request, a million requests make tens of millions; integers make them plain arithmetic instead of
# datetime method calls and timedelta objects. Datetimes appear only where a row needs a date.

_WALL_FIRST_DAY = date(2000, 1, 1)
_WALL_EPOCH = _WALL_FIRST_DAY.toordinal()
_DAY_US = 86_400_000_000
_SECOND_US = 1_000_000
_ONE_US = timedelta(microseconds=1)


def _wall(moment: datetime) -> int:
    return (moment.toordinal() - _WALL_EPOCH) * _DAY_US + _time_us(moment)


def _moment(wall: int) -> datetime:
    day, us = divmod(wall, _DAY_US)
    return datetime.fromordinal(_WALL_EPOCH + day) + timedelta(microseconds=us)


def _wall_date(wall: int) -> date:
    return date.fromordinal(_WALL_EPOCH + wall // _DAY_US)


def _date_wall(day: date) -> int:
    """Midnight at the start of `day`."""
    return (day.toordinal() - _WALL_EPOCH) * _DAY_US


def _span_us(span: timedelta) -> int:
    """A timedelta in microseconds (where timedelta arithmetic still does the rounding, as
    `timedelta * float` in _maybe_off_hours)."""
    return span // _ONE_US


def _days_us(days: float) -> int:
    """`timedelta(days=days)` in microseconds, without building one: the integer part exactly,
    the fraction in float arithmetic, the leftover rounded half to even, step by step as CPython's
    timedelta constructor does it (the tests compare the two)."""
    if days < 0:
        return _span_us(timedelta(days=days))
    fraction, whole = math.modf(days)
    us = int(whole) * _DAY_US
    if fraction:
        leftover, whole = math.modf(86_400_000_000.0 * fraction)
        us += int(whole)
        if leftover > 0.5 or (leftover == 0.5 and us & 1):
            us += 1
    return us


def _second_floor(wall: int) -> int:
    """`.replace(microsecond=0)` of the moment."""
    return wall - wall % _SECOND_US


# Text of every day 2000-2040 ("YYYY-MM-DD ") and every second of a day ("HH:MM:SS"): a timestamp
# is two list look-ups and a concatenation (the same instants recur many times per request).
_DAY_TEXT = [date.fromordinal(_WALL_EPOCH + k).isoformat() + " " for k in range(date(2041, 1, 1).toordinal()
                                                                                  - _WALL_EPOCH)]
_SECOND_TEXT = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def _ts_us(wall: int) -> str:
    """`_ts` of a wall time: what datetime.isoformat(" ") writes."""
    day, us = divmod(wall, _DAY_US)
    second, fraction = divmod(us, _SECOND_US)
    if fraction:
        return f"{_DAY_TEXT[day]}{_SECOND_TEXT[second]}.{_DIGITS3[fraction // 1000]}{_DIGITS3[fraction % 1000]}"
    return _DAY_TEXT[day] + _SECOND_TEXT[second]


def _opt_ts_us(wall: int | None) -> str:
    return NULL if wall is None else _ts_us(wall)


def _jalali_year(wall: int) -> int:
    """`JALALI.year_of` the wall time's day."""
    return JALALI.first + bisect_right(JALALI.starts, _WALL_EPOCH + wall // _DAY_US) - 1


class _ProvinceClock:
    """A province's business calendar, with its working-time arithmetic done by table lookup.

    `add`, `between` and `next_opening` give exactly what BusinessCalendar's `add_working_hours`,
    `working_hours_between` and `next_opening` give for naive Tehran times in [2000, 2040) (the
    tests compare them on random moments); they only replace its per-call bisect arithmetic with
    precomputed per-day tables, because a million requests make millions of calls. The generator
    calls their wall-time forms (`add_us`, `between_us`, `next_opening_us`: see `_wall`); the
    datetime forms wrap those, so the comparison tests the code the generator runs.

    A "position" is working microseconds from the table's first day.
    """

    FIRST_DAY = _WALL_FIRST_DAY  # day 0 of the tables is day 0 of wall time
    LAST_DAY = date(2039, 12, 31)

    def __init__(self, cal: BusinessCalendar) -> None:
        self.cal = cal
        self.day_hours = cal.day_hours
        self.opens = cal.opens
        self._open_us = _time_us(cal.opens)
        self._close_us = _time_us(cal.closes)
        self._day_us = self._close_us - self._open_us
        self._base = self.FIRST_DAY.toordinal()
        n = self.LAST_DAY.toordinal() - self._base + 1
        self._working = [cal.is_working_day(date.fromordinal(self._base + k)) for k in range(n)]
        self._before = [0] * (n + 1)  # working days among the first k days of the table
        for k, working in enumerate(self._working):
            self._before[k + 1] = self._before[k] + working
        self._days = [k for k, working in enumerate(self._working) if working]  # offsets of working days
        # The same tables in the units the hot paths want: the position at the start of each day,
        # and the wall time of each working day's opening.
        self._start = [before * self._day_us for before in self._before]
        self._opening = [k * _DAY_US + self._open_us for k in self._days]
        self.anchor = self.next_opening(datetime.combine(self.FIRST_DAY, datetime.min.time()))
        self._anchor_pos = self._pos(_wall(self.anchor))
        # type -> stage -> (limit in hour units, its text); type -> the process's limit in units
        self.limits = {code: {s.code: (units, _units_text(units))
                              for s in proc.stages for units in [_hour_units((s.limit_days or 0) * self.day_hours)]}
                       for code, proc in PROCESSES.items()}
        self.totals = {code: _hour_units(proc.total_limit_days * self.day_hours) for code, proc in PROCESSES.items()}

    def _pos(self, wall: int) -> int:
        """The position of a wall time."""
        k, t = divmod(wall, _DAY_US)
        if self._working[k]:
            into = t - self._open_us
            if into > 0:
                return self._start[k] + (into if into < self._day_us else self._day_us)
        return self._start[k]

    def _at(self, position: int) -> int:
        """The wall time of a position."""
        day, offset = divmod(position, self._day_us)
        if offset == 0:  # a day boundary is the earlier day's closing time, as in BusinessCalendar
            return self._opening[day - 1] + self._day_us
        return self._opening[day] + offset

    # -- wall times (the generator)
    def add_us(self, start: int, hours: float) -> int:
        if hours == 0:
            return start
        delta = round(hours * _US_PER_HOUR)
        # _at(_pos(start) + delta), inlined: the generator's most frequent call.
        k, t = divmod(start, _DAY_US)
        position = self._start[k]
        if self._working[k]:
            into = t - self._open_us
            if into > 0:
                position += into if into < self._day_us else self._day_us
        day, offset = divmod(position + (delta if delta > 1 else 1), self._day_us)
        if offset == 0:
            return self._opening[day - 1] + self._day_us
        return self._opening[day] + offset

    def working_us(self, start: int, end: int) -> int:
        """Working microseconds from `start` to `end`."""
        return self._pos(end) - self._pos(start)

    def between_us(self, start: int, end: int) -> float:
        return (self._pos(end) - self._pos(start)) / _US_PER_HOUR

    def next_opening_us(self, wall: int) -> int:
        k, t = divmod(wall, _DAY_US)
        if self._working[k]:
            if self._open_us <= t < self._close_us:
                return wall
            if t < self._open_us:
                return k * _DAY_US + self._open_us
        return self._opening[self._before[k + 1]]

    def is_working(self, wall: int) -> bool:
        """Whether the wall time's day is a working day."""
        return self._working[wall // _DAY_US]

    def pos(self, wall: int) -> float:
        """Working hours since the anchor (an opening in 2000)."""
        return (self._pos(wall) - self._anchor_pos) / _US_PER_HOUR

    def back(self, wall: int, hours: float) -> int:
        """The wall time `hours` working hours before `wall` (used only to pick times)."""
        return self._at(max(self._anchor_pos + 1, self._pos(wall) - round(hours * _US_PER_HOUR)))

    def at_pos(self, hours: float) -> int:
        """The wall time `hours` working hours after the anchor."""
        return self._at(self._anchor_pos + max(1, round(hours * _US_PER_HOUR)))

    # -- datetimes (BusinessCalendar's interface)
    def add(self, start: datetime, hours: float) -> datetime:
        return start if hours == 0 else _moment(self.add_us(_wall(start), hours))

    def between(self, start: datetime, end: datetime) -> float:
        return self.between_us(_wall(start), _wall(end))

    def next_opening(self, moment: datetime) -> datetime:
        return _moment(self.next_opening_us(_wall(moment)))

    def is_working_day(self, day: date) -> bool:
        return self._working[day.toordinal() - self._base]


@dataclass
class _Context:
    seed: int
    now: datetime                       # naive Tehran time
    start: datetime                     # 1 Farvardin 1403, 00:00
    n_members: int
    n_requests: int
    n_chunks: int
    clocks: dict[int, _ProvinceClock]
    finance_required: dict[int, bool]
    pools: dict[tuple[int | None, str], tuple[int, ...]]   # (province, role) -> staff ids
    tariffs: dict[tuple[int, int], tuple]                  # (province, year) -> (id, fees...)
    discounts: list[tuple[int, int, int]]                  # (from year, to year, basis points)
    renewal_window: dict[int, int]                         # province -> days before validity ends
    files: dict[str, DemoFile]
    member_documents: bool
    family_share: float
    risk_columns: bool                  # request.stage_risk_at / risk_at exist (migration 0004)

    @property
    def today(self) -> date:
        return self.now.date()


_CTX: _Context | None = None  # set before chunks are built; forked workers inherit it


def _chunk_bounds(total: int, chunks: int, c: int) -> tuple[int, int]:
    return total * c // chunks, total * (c + 1) // chunks


# --- members ----------------------------------------------------------------------------------------

_NID_MULTIPLIER = 387_420_489  # 3**18: coprime to 10**9, so i -> (a*i + b) mod 10**9 is a permutation
_FAMILY_NID_OFFSET = 500_000_000


# The national ID's weighted digit sum (logic.national_id: digit i weighs 10 - i) of a 9-digit
# prefix, three digits at a time: the sum of three table look-ups instead of nine int(str) calls.
_NID_WEIGHTS = [[sum(int(d) * (w - k) for k, d in enumerate(f"{n:03d}")) for n in range(1000)] for w in (10, 7, 4)]


def national_id_for(index: int, seed: int) -> str:
    """The national ID of the index-th person: a shuffled, collision-free walk over 9-digit prefixes.

    The check digit is logic.national_id's (make_national_id), computed here from the number; a
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


class _Members:
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


def _generate_members(ctx: _Context, rng: random.Random, lo: int, hi: int, pool_size: int) -> _Members:
    m = _Members()
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
        m.number.append(f"{_DIGITS2[pid]}-{field_numbers[member_fields[i]]}-{str(lo + i + 1).zfill(6)}")
        m.created.append(datetime.fromordinal(joined.toordinal()) + timedelta(hours=8 + random() * 6))
        m.birth.append(date.fromordinal(joined.toordinal() - 365 * (24 + below(11)) - below(365)))
        r = random()
        m.status.append("resigned" if r < 0.01 else "transferred" if r < 0.02 else "active")
        if random() < 0.6:
            m.licence[i] = True
            m.article32[i] = random() < 0.08
    return m


# --- the chunk builder ------------------------------------------------------------------------------

class _Assessment:
    """A fee assessment row, written once the request's history is complete (finance may approve it).

    `lines` and `extra` are JSON texts written by hand (json.dumps is the slowest thing here at a
    million requests): the assessment's lines, and what logic.fees adds to its event's data.
    `created_at` and `finance_at` are wall times (see `_wall`).
    """
    __slots__ = ("rid", "tariff_id", "lines", "prior_debt", "total", "years", "new_valid", "note", "created_by",
                 "created_at", "finance", "finance_by", "finance_at", "extra")

    def __init__(self, rid: int, tariff_id: int, lines: str, prior_debt: int, total: int, years: int | None,
                 new_valid: date | None, note: str | None, created_by: int | None, created_at: int,
                 finance: str, extra: str) -> None:
        self.rid, self.tariff_id, self.lines, self.prior_debt, self.total = rid, tariff_id, lines, prior_debt, total
        self.years, self.new_valid, self.note = years, new_valid, note
        self.created_by, self.created_at, self.finance = created_by, created_at, finance
        self.finance_by = self.finance_at = None
        self.extra = extra

    def event(self, stage: str, version: int) -> str:
        """The 'fee_assessed' event, as logic.fees writes it: at the request's current version (an
        assessment is not a transition), by the expert or (NULL) the tariff."""
        return (f"{self.rid}\t{_ts_us(self.created_at)}\t{_opt(self.created_by)}\tfee_assessed\t{stage}\t{stage}\t"
                f"{NULL}\t{version}\t{{\"assessment_id\":{self.rid},\"assessment_version\":1,\"total\":{self.total},"
                f"\"prior_debt\":{self.prior_debt},{self.extra}}}\n")

    def line(self) -> str:
        # id = request id: at most one assessment per demo request, and payments point at it.
        return (f"{self.rid}\t{self.rid}\t1\t{self.tariff_id}\t{self.lines}\t{self.prior_debt}\t{self.total}\t"
                f"{_opt(self.years)}\t{_opt(self.new_valid and self.new_valid.isoformat())}\t{_opt(self.note)}\t"
                f"{NULL}\t{_opt(self.created_by)}\t{_ts_us(self.created_at)}\t{self.finance}\t{_opt(self.finance_by)}\t"
                f"{_opt_ts_us(self.finance_at)}\n")


@dataclass
class _Spec:
    """One request before its timeline is computed."""
    type_code: str
    klass: str                 # completed / rejected / open / returned
    member: int                # index in the chunk's members
    target: str | None = None  # stage code for open requests that must cover a stage
    referred: bool = False
    payable: bool = True
    plan: list | None = None
    path: tuple | None = None
    start_hint: int | None = None   # wall time (see _wall)
    renews_year: int | None = None  # a yearly renewal: filed around the end of this validity year
    ahead: bool = True              # may pay for a year beyond the current one


class _ChunkBuilder:
    """Builds all rows of one chunk as COPY text."""

    def __init__(self, ctx: _Context, c: int) -> None:
        self.ctx = ctx
        self.c = c
        self.rng = random.Random(ctx.seed * 1_000_003 + c)
        self.m_lo, self.m_hi = _chunk_bounds(ctx.n_members, ctx.n_chunks, c)
        self.r_lo, self.r_hi = _chunk_bounds(ctx.n_requests, ctx.n_chunks, c)
        self.out: dict[str, list[str]] = {table: [] for table, _ in COPY_TABLES}
        self._random = self.rng.random
        self._paths: dict[tuple, tuple] = {}
        self._next_codes: dict[tuple, dict[str, str | None]] = {}
        self._actor_pools: dict[tuple, tuple[int, ...]] = {}
        self._spans: dict[int, tuple[float, float]] = {}
        self._doc_columns: dict[str, tuple] = {}
        self._renewal_years: dict[tuple, tuple] = {}
        self._tariff_lines: dict[tuple, tuple] = {}
        self._validity_changed: set[int] = set()
        self._now = _wall(ctx.now)

    # Faster than random.choice / randrange / randint, which the generator calls millions of times.
    def pick(self, seq):
        return seq[int(self._random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self._random() * n)

    def between(self, a: int, b: int) -> int:
        """An integer in [a, b]."""
        return a + int(self._random() * (b - a + 1))

    # ---- entry point
    def build(self) -> tuple[dict[str, bytes], dict[str, int]]:
        # A chunk is millions of small tuples and strings, none of them in a reference cycle: the
        # cyclic garbage collector would only rescan the growing lists again and again (about 8 %
        # of the time). Reference counting still frees everything.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._build()
        finally:
            if collecting:
                gc.enable()

    def _build(self) -> tuple[dict[str, bytes], dict[str, int]]:
        ctx, rng = self.ctx, self.rng
        n_req = self.r_hi - self.r_lo
        specs = self._specs(n_req)
        n_new = sum(1 for s in specs if s.type_code == "new_membership")
        count = self.m_hi - self.m_lo
        pool = min(n_new, count // 2)
        self.members = _generate_members(ctx, rng, self.m_lo, self.m_hi, pool)
        self._assign_members(specs)
        for spec in specs:
            self._plan(spec)
        # Requests are numbered and run in submission order, so a member's later renewal starts
        # from the validity the earlier one gave.
        specs.sort(key=lambda s: s.start_hint)
        for k, spec in enumerate(specs):
            self._emit_request(self.r_lo + k + 1, spec)  # the request table starts empty
        self._emit_members()
        data = {table: "".join(lines).encode() for table, lines in self.out.items() if lines}
        return data, {table: len(lines) for table, lines in self.out.items()}

    # ---- what is requested, by whom
    def _specs(self, n: int) -> list[_Spec]:
        rng = self.rng
        n_done = round(n * CLASS_SHARES[0][1])
        n_rej = round(n * CLASS_SHARES[1][1])
        n_ret = round(n * CLASS_SHARES[2][1])
        n_open = n - n_done - n_rej - n_ret
        # Every stage of every type is open somewhere, in every chunk.
        pairs = [(code, s.code) for code, stages in STAGES.items() for s in stages]
        if n_open < len(pairs):
            n_open = min(n, len(pairs))
            n_done = n - n_open - n_rej - n_ret
            if n_done < 0:
                n_rej = n_ret = 0
                n_done = n - n_open
        classes = ["completed"] * n_done + ["rejected"] * n_rej + ["returned"] * n_ret + ["open"] * n_open
        rng.shuffle(classes)
        types = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()), k=n)
        specs = []
        forced = 0
        for klass, type_code in zip(classes, types):
            spec = _Spec(type_code, klass, -1)
            if klass == "open" and forced < len(pairs):
                spec.type_code, spec.target = pairs[forced]
                forced += 1
            specs.append(spec)
        return specs

    def _assign_members(self, specs: list[_Spec]) -> None:
        """Who files each request: applicants file new memberships (one each), licence holders renew
        licences, and no member has two open requests of one type (the workflow refuses that)."""
        rng, m = self.rng, self.members
        regular = [i for i in range(m.pool_from) if m.status[i] == "active"] or list(range(len(m.ids)))
        holders = [i for i in regular if m.licence[i]] or regular
        a32 = [i for i in holders if m.article32[i]] or holders
        pool = list(range(m.pool_from, len(m.ids))) or regular
        next_pool = 0
        in_progress: set[tuple[int, str]] = set()  # (member, type) of requests still open
        self._assign_renewals([spec for spec in specs if spec.type_code == "membership_renewal"], regular)
        for spec in specs:
            t = spec.type_code
            if t == "new_membership":  # applicants apply once (unless they outnumber the chunk's members)
                spec.member = pool[next_pool % len(pool)]
                next_pool += 1
                continue
            if t == "membership_renewal":
                if spec.member >= 0:
                    continue
                if spec.target is None:  # more renewals than members: the rest become other types
                    t = spec.type_code = rng.choices(_OTHER_TYPES, _OTHER_WEIGHTS)[0]
            # Holders of the licence being renewed first; anyone if they are all busy.
            choices = {"licence_renewal": (holders, regular), "article32_renewal": (a32, holders, regular)}.get(
                t, (regular,))
            i = self.pick(choices[0])
            if spec.klass in ("open", "returned"):
                for candidates in choices:
                    for _ in range(10):
                        if (i, t) not in in_progress:
                            break
                        i = self.pick(candidates)
                in_progress.add((i, t))
            spec.member = i
            if t == "article32_renewal" and m.status[i] != "applicant":
                m.licence[i] = m.article32[i] = True  # renewing a licence means holding one
            elif t == "licence_renewal" and m.status[i] != "applicant":
                m.licence[i] = True

    def _assign_renewals(self, renewals: list[_Spec], regular: list[int]) -> None:
        """Members renew year after year: a completed renewal is a link in a member's yearly chain,
        filed around the end of a validity year (from the province's renewal window before it to a
        few months after) and extending validity by one year, the last link up to this year; so
        members who keep renewing are active now. Long-lapsed members (among them the 1381-1388
        discount cases) renew once, any time. Open renewals come from other members, whose
        validity the request then shows lapsed or about to end."""
        rng, m = self.rng, self.members
        current = JALALI.year_of(self.ctx.today)
        # Year-ends whose renewal season lies within the demo period, most recent first.
        years = [y for y in range(current - 1, current - 4, -1)
                 if JALALI.ends[y] + timedelta(days=90) >= self.ctx.start.date()
                 and JALALI.ends[y] - timedelta(days=60) <= (self.ctx.now - timedelta(days=25)).date()]
        members = regular[:]
        rng.shuffle(members)
        lapsed = [i for i in members if (m.valid_year[i] or current) <= current - 3]
        keeping = [i for i in members if (m.valid_year[i] or current) > current - 3]
        # Members whose validity ended in 1381-1388 get the central council's discount.
        discounted_to = max((to for _, to, _ in self.ctx.discounts), default=0)
        discounted = [i for i in lapsed if m.valid_year[i] <= discounted_to]
        lapsed = [i for i in lapsed if m.valid_year[i] > discounted_to] if discounted else lapsed
        closed = [spec for spec in renewals if spec.klass in ("completed", "rejected")]
        rest = [spec for spec in renewals if spec.klass not in ("completed", "rejected")]
        k = 0
        while k < len(closed):
            if (lapsed or discounted) and (rng.random() < 0.05 or not years or not keeping):
                closed[k].member = (lapsed or discounted).pop()
                k += 1
                continue
            if not keeping or not years:
                rest.extend(closed[k:])
                break
            i = keeping.pop()
            length = min(len(years), len(closed) - k, rng.choices((1, 2, 3), (30, 35, 35))[0])
            m.valid_year[i] = years[length - 1]  # what the member's validity was before the chain
            for j in range(length - 1, -1, -1):
                spec = closed[k]
                spec.member, spec.renews_year, spec.ahead = i, years[j], j == 0
                k += 1
        for spec in rest:  # open ones: some long-lapsed members (the discount shows at fee determination)
            r = rng.random()
            if discounted and (r < 0.2 or not keeping):
                spec.member = discounted.pop()
            elif lapsed and (r < 0.3 or not keeping):
                spec.member = lapsed.pop()
            elif keeping:
                spec.member = keeping.pop()

    # ---- the path through the stages, with every random choice made up front
    def _plan(self, spec: _Spec) -> None:
        """Choose the stages, outcomes, actors and durations; timeline comes later.

        A plan is a list of steps (stage, outcome, amount, actor, claim, reason) where outcome is
        pass / return / resubmit / reject / open / returned and amount is working hours for
        clock-running stages, calendar days for the member's own stages.
        """
        ctx, rng = self.ctx, self.rng
        pid = self.members.pid[spec.member]
        clock = ctx.clocks[pid]
        dh = clock.day_hours
        if spec.type_code == "rating":
            spec.referred = spec.target == "specialised_committee" or rng.random() < 0.2
        if spec.type_code == "licence_renewal":
            spec.payable = spec.target == "payment" or rng.random() < 0.7
        path, rejectable, returnable, codes = self._path(spec, pid)
        spec.path = path
        klass = spec.klass
        if klass == "rejected" and not rejectable:
            klass = spec.klass = "completed"
        if klass == "returned" and not returnable:
            klass = spec.klass = "open"
        # Where the request ends (or stands now).
        if klass == "completed":
            end = len(path) - 1
        elif klass == "rejected":
            end = rejectable[0] if rng.random() < 0.6 else self.pick(rejectable)
        elif klass == "returned":
            end = self.pick(returnable)
        else:
            end = codes.index(spec.target) if spec.target in codes else self.below(len(path))
        # Some requests were returned once along the way and resubmitted.
        earlier = [i for i in returnable if i < end]
        history_return = self.pick(earlier) if earlier and rng.random() < 0.1 else -1

        steps = []
        initial = None  # the initial reviewer: four eyes later
        for i in range(end + 1):
            s = path[i]
            outcome = "pass" if i < end else {"completed": "pass", "rejected": "reject", "open": "open",
                                               "returned": "returned"}[klass]
            if not s.clock:
                days = rng.random() * (14 if outcome == "open" else 10)
                steps.append((s, outcome, days, None, None, None))
                continue
            actor = self._actor(s, pid, initial)
            if s.code == INITIAL_REVIEW:
                initial = actor
            if i == history_return:
                steps.append((s, "return", self._handling(s, dh), actor, None, self.pick(RETURN_REASONS_FA)))
                steps.append((s, "resubmit", 0.1 + rng.random() * 7, None, None, None))
            if outcome == "open":
                # Age in working hours at the current stage: on time, at risk or breached.
                limit = s.limit_days * dh
                r = rng.random()
                if r < 0.5:
                    age = limit * 0.7 * rng.random()
                elif r < 0.65:
                    age = limit * (0.75 + 0.25 * rng.random())
                else:
                    age = limit + rng.random() * 15 * dh
                claimed = rng.random() < 0.4
                steps.append((s, "open", age, actor if claimed else None, rng.random() if claimed else None, None))
                continue
            reason = None
            if outcome == "reject":
                reason = self.pick(REJECT_REASONS_FA)
            elif outcome == "returned":
                reason = self.pick(RETURN_REASONS_FA)
            claim = rng.random() * 0.5 if rng.random() < 0.08 else None  # some picked the task up first
            steps.append((s, outcome, self._handling(s, dh), actor, claim, reason))
        spec.plan = steps
        spec.start_hint = self._start_hint(spec, clock)

    def _path(self, spec: _Spec, pid: int) -> tuple:
        """The stages this request goes through (optional ones only when their condition holds),
        with the indexes where it can be rejected or returned, and the stage codes."""
        finance = self.ctx.finance_required.get(pid, False)
        key = (spec.type_code, spec.referred, spec.payable, finance)
        cached = self._paths.get(key)
        if cached is None:
            condition = {Condition.FINANCE_APPROVAL: finance, Condition.REFERRAL: spec.referred,
                         Condition.PAYABLE: spec.payable, None: True}
            path = tuple(s for s in STAGES[spec.type_code] if condition[s.optional])
            cached = self._paths[key] = (
                path, [i for i, s in enumerate(path) if s.rejectable], [i for i, s in enumerate(path) if s.returnable],
                [s.code for s in path])
            # stage -> (the next stage's code or None, as text)
            self._next_codes[path] = {path[k].code: (path[k + 1].code, path[k + 1].code) if k + 1 < len(path)
                                      else (None, NULL) for k in range(len(path))}
        return cached

    def _handling(self, s: _StageInfo, dh: float) -> float:
        """Working hours a stage took: mostly within its limit, about 15 % over it."""
        limit = s.limit_days * dh
        rng = self.rng
        if rng.random() < 0.85:
            return limit * (0.03 + 0.97 * rng.random() ** 1.6)
        return limit * (1.02 + 2 * rng.random())

    def _actor(self, s: _StageInfo, pid: int, initial: int | None) -> int:
        """A staff member of the province with the stage's role (central staff for central stages);
        at four-eyes stages never the request's initial reviewer."""
        if s.code == INITIAL_REVIEW and initial is not None:
            return initial
        key = (pid, s.role, initial if s.four_eyes else None)
        pool = self._actor_pools.get(key)
        if pool is None:
            pool = self.ctx.pools.get((pid, s.role)) or self.ctx.pools[(None, s.role)]
            if s.four_eyes and initial is not None:
                pool = tuple(a for a in pool if a != initial) or pool
            self._actor_pools[key] = pool
        return pool[int(self._random() * len(pool))]

    def _start_hint(self, spec: _Spec, clock: _ProvinceClock) -> int:
        """Submission time (wall time): uniform for closed requests, worked back from 'now' for open ones."""
        ctx, rng = self.ctx, self.rng
        last = spec.plan[-1]
        if spec.klass in ("completed", "rejected"):
            # Uniform over the office hours of the period (a yearly renewal: of its renewal season);
            # the history is fitted before now later.
            span = self._spans.get(id(clock))
            if span is None:
                span = self._spans[id(clock)] = (clock.pos(_wall(ctx.start)),
                                                 clock.pos(self._now - 25 * _DAY_US))
            first, last = span
            if spec.renews_year is not None:
                end = _date_wall(JALALI.ends[spec.renews_year])
                window = ctx.renewal_window.get(self.members.pid[spec.member], 60) - 1
                first = max(first, clock.pos(end - window * _DAY_US))
                last = min(last, clock.pos(end + 90 * _DAY_US))
            begin = clock.at_pos(first + rng.random() * max(0.0, last - first))
            return self._maybe_off_hours(clock, begin)
        # Open and returned requests: when did the last thing happen?
        now = self._now
        before = spec.plan[:-1]
        if spec.klass == "returned":
            target = clock.back(now, rng.random() * 10 * clock.day_hours)
            hours = sum([st[2] for st in spec.plan if st[0].clock and st[1] != "resubmit"])
        elif last[0].clock:
            target = clock.back(now, last[2])
            hours = sum([st[2] for st in before if st[0].clock and st[1] != "resubmit"])
        else:
            target = now - _days_us(last[2])
            hours = sum([st[2] for st in before if st[0].clock and st[1] != "resubmit"])
        days = sum([st[2] for st in before if not st[0].clock or st[1] == "resubmit"])
        begin = clock.back(target - _days_us(days), hours)
        return self._maybe_off_hours(clock, begin)

    def _maybe_off_hours(self, clock: _ProvinceClock, moment: int) -> int:
        """About 15 % of requests are filed outside office hours: in the closed time just before."""
        if self.rng.random() >= 0.15:
            return moment
        day_open = moment - moment % _DAY_US + clock._open_us
        if moment < day_open or not clock.is_working(moment):
            return moment
        previous_close = clock.back(day_open, 0.0)
        if previous_close >= day_open:
            return moment
        closed = timedelta(microseconds=day_open - previous_close)
        return previous_close + _span_us(closed * (0.02 + 0.96 * self.rng.random()))

    # ---- the timeline
    def _timeline(self, spec: _Spec, start: int, clock: _ProvinceClock) -> tuple[list[tuple], int]:
        """When each step happened, from a submission time: (entered, left, claimed_at, assessed_at)
        per step, and the latest of those moments (all wall times).

        `left` is None for the step the request stands at now; deadlines are derived later from
        the clock fields, exactly as the workflow engine derives them.
        """
        add = clock.add_us
        now = self._now
        t = start
        times = []
        # What people did is recorded to the second; deadlines derived from it keep their precision.
        for s, outcome, amount, actor, claim, _ in spec.plan:
            if outcome == "resubmit" or not s.clock:
                left = None if outcome == "open" else _second_floor(t + _days_us(amount))
                times.append((t, left, None, None))
                t = left or t
                continue
            if outcome == "open":
                claimed = None
                if claim is not None:
                    claimed = _second_floor(add(t, claim * max(0.0, clock.between_us(t, now))))
                    claimed = max(t, min(claimed, now))
                times.append((t, None, claimed, None))
                return times, claimed or t  # the step the request stands at is the last one
            left = _second_floor(add(t, amount))
            claimed = _second_floor(add(t, amount * claim)) if claim is not None else None
            # The fee is determined a little before the expert approves it.
            assessed = None
            if s.fee and outcome == "pass":
                assessed = _second_floor(add(t, amount * 0.85))
            times.append((t, left, claimed, assessed))
            t = left
        return times, t  # steps follow each other: the last one ends last

    def _fit_timeline(self, spec: _Spec, clock: _ProvinceClock) -> tuple[int, list[tuple]]:
        """Shift the submission back until nothing in the history is after 'now'."""
        now = self._now
        start = _second_floor(spec.start_hint)
        for _ in range(20):
            times, latest = self._timeline(spec, start, clock)
            # The clock must have started too: a request filed in tonight's closed hours would
            # have its clock start in the future.
            if latest <= now and clock.next_opening_us(start) <= now:
                return start, times
            start -= max(latest - now, 0) + 12 * 3600 * _SECOND_US
        raise RuntimeError("could not fit a request's history before now")  # pragma: no cover

    # ---- rows of one request
    def _emit_request(self, rid: int, spec: _Spec) -> None:
        """All rows of one request: the request, its events, stage visits, fees, payment, documents.

        The clock bookkeeping is logic.workflow's: a segment of a clock-running stage runs from
        `stage_entered_at`; leaving it banks `segment` hours into `process_hours_used`; a return
        keeps the stage's hours in `stage_hours_used` so the resubmitted segment only gets what is
        left of the stage's limit; the visit of a return records the segment and no verdict.

        Moments are wall times (see `_wall`), each formatted once: a step is entered when the one
        before it was left. Hours are counted in units (see `_HOUR_UNITS`); the workflow's
        untouched counters are Decimal 0, written "0" where a banked one has four decimals.
        """
        ctx, rng, m = self.ctx, self.rng, self.members
        i = spec.member
        mid, pid = m.ids[i], m.pid[i]
        clock = ctx.clocks[pid]
        add = clock.add_us
        submitted, times = self._fit_timeline(spec, clock)
        type_code = spec.type_code
        if type_code == "membership_renewal":
            self._renewal_window(i, pid, submitted)
        path = spec.path
        out_ev = self.out["request_event"]
        out_visit = self.out["stage_visit"]
        next_code = self._next_codes[path]
        limits = clock.limits[type_code]
        total = clock.totals[type_code]
        visit_head = f"{rid}\t{pid}\t{type_code}\t"

        version = 1
        submitted_s = _ts_us(submitted)
        out_ev.append(f"{rid}\t{submitted_s}\t{NULL}\tsubmit\t{NULL}\t{path[0].code}\t{NULL}\t1\t{{}}\n")
        process_hours = stage_hours = 0   # units
        process_text = stage_text = "0"  # what the request row shows for them
        initial = None
        assessment = None      # an _Assessment once fees are known
        reviewer = None        # who checked the documents, and when (text)
        rejected_doc = None    # (actor, when) when a document was the problem
        status, stage, stage_entered_s = "completed", path[-1].code, submitted_s
        stage_due_s = stage_risk = due_at = risk_at = closed_at = None
        assignee = None
        last_at, last_s = submitted, submitted_s
        before, before_s = submitted, submitted_s  # the moment the previous step was left
        data = self._request_data(spec, submitted)

        for (s, outcome, amount, actor, claim, reason), (entered, left, claimed, assessed) in zip(spec.plan, times):
            code = s.code
            entered_s = before_s if entered == before else _ts_us(entered)
            if outcome == "resubmit":
                version += 1
                left_s = _ts_us(left)
                out_ev.append(f"{rid}\t{left_s}\t{NULL}\tresubmit\t{code}\t{code}\t{NULL}\t{version}\t{{}}\n")
                last_at = before = left
                last_s = before_s = left_s
                continue
            if not s.clock:
                stage, stage_entered_s = code, entered_s
                if s.payment and assessment is None:
                    # The payment stage opened with nothing assessed: the fee comes from the tariff.
                    assessment = self._tariff_assessment(rid, spec, pid, entered)
                    out_ev.append(assessment.event(code, version))
                if outcome == "open":
                    status = "open"
                    break
                version += 1
                to, to_s = next_code[code]
                left_s = _ts_us(left)
                if s.payment:
                    ref = f"BR{str(rid).zfill(10)}"
                    self.out["payment"].append(
                        f"{rid}\t{rid}\t{rid}\t{ref}\t{assessment.total}\t{left_s}\tdemo\t{NULL}\t{left_s}\n")
                    out_ev.append(f"{rid}\t{left_s}\t{NULL}\tpayment_confirmed\t{code}\t{to_s}\t{NULL}\t"
                                  f"{version}\t{{\"bank_reference\":\"{ref}\",\"amount\":{assessment.total},"
                                  f"\"payment_id\":{rid}}}\n")
                    if type_code == "membership_renewal":
                        self._extend_validity(i, rid, assessment, left)
                else:
                    out_ev.append(f"{rid}\t{left_s}\t{NULL}\tmember_completed\t{code}\t{to_s}\t{NULL}\t"
                                  f"{version}\t{{}}\n")
                last_at = before = left
                last_s = before_s = left_s
                if to is None:
                    closed_at = left
                continue

            # A segment of a clock-running stage: one visit row.
            limit, limit_s = limits[code]
            stage_left = limit - stage_hours
            visit_due_s = _ts_us(add(entered, stage_left / _HOUR_UNITS if stage_left > 0 else 0))
            if claimed is not None:
                version += 1
                claimed_s = _ts_us(claimed)
                out_ev.append(f"{rid}\t{claimed_s}\t{actor}\tclaim\t{code}\t{code}\t{NULL}\t{version}\t{{}}\n")
                if claimed > last_at:
                    last_at, last_s = claimed, claimed_s
            if outcome == "open":
                # The visit stays open (its actor is written when someone decides).
                out_visit.append(f"{visit_head}{code}\t{entered_s}\t{visit_due_s}\t{NULL}\t"
                                 f"{NULL}\t{NULL}\t{NULL}\t{limit_s}\t{NULL}\n")
                status, stage, stage_entered_s, stage_due_s = "open", code, entered_s, visit_due_s
                # Exact fractions of units, as the Decimal arithmetic of logic.workflow has them.
                risk_left = stage_left * _AT_RISK_DEN - limit * _AT_RISK_NUM
                stage_risk = add(entered, risk_left / (_HOUR_UNITS * _AT_RISK_DEN) if risk_left > 0 else 0)
                process_left = total - process_hours
                due_at = add(entered, process_left / _HOUR_UNITS if process_left > 0 else 0)
                risk_left = process_left * _AT_RISK_DEN - total * _AT_RISK_NUM
                risk_at = add(entered, risk_left / (_HOUR_UNITS * _AT_RISK_DEN) if risk_left > 0 else 0)
                assignee = actor if claimed is not None else None
                break
            if assessed is not None:
                assessment = self._fee_assessment(rid, spec, i, pid, actor, assessed)
                out_ev.append(assessment.event(code, version))
            segment = _segment_units(clock.working_us(entered, left))
            left_s = _ts_us(left)
            used = stage_hours + segment
            process_hours += segment
            process_text = None  # banked: written from the units below
            if outcome in ("return", "returned"):
                # A return pauses the stage: the visit records the segment and no verdict.
                visit_hours, met, action, stage_hours = segment, NULL, "return", used
                stage_text = None
            else:
                visit_hours, met, stage_hours, stage_text = used, ("t" if used <= limit else "f"), 0, "0"
                action = s.action if outcome == "pass" else (
                    "committee_decision" if s.committee else "reject")
            out_visit.append(f"{visit_head}{code}\t{entered_s}\t{visit_due_s}\t{left_s}\t"
                             f"{actor}\t{action}\t{_units_text(visit_hours)}\t{limit_s}\t{met}\n")
            if reviewer is None and s.checks_documents:
                reviewer = (actor, left_s)
            last_at = before = left
            last_s = before_s = left_s
            version += 1
            stage, stage_entered_s = code, entered_s
            if outcome == "pass":
                if code == INITIAL_REVIEW:
                    initial = actor
                to, to_s = next_code[code]
                event_data = "{}"
                if s.committee:
                    event_data = "{\"granted\":true}"
                elif s.finance and assessment is not None:
                    assessment.finance, assessment.finance_by, assessment.finance_at = "approved", actor, left
                elif to == "specialised_committee":
                    event_data = "{\"referred\":true}"  # the reviewer referred the request onward
                out_ev.append(f"{rid}\t{left_s}\t{actor}\t{action}\t{code}\t{to_s}\t{NULL}\t{version}\t"
                              f"{event_data}\n")
                if code == "head_approval":
                    self._head_approved(i, rid, spec, pid, left, assessment)
                if to is None:
                    closed_at = left
            elif outcome == "reject":
                event_data = "{\"granted\":false}" if s.committee else "{}"
                out_ev.append(f"{rid}\t{left_s}\t{actor}\t{action}\t{code}\t{NULL}\t{reason}\t{version}\t"
                              f"{event_data}\n")
                status, closed_at = "rejected", left
                rejected_doc = (actor, left_s)
            else:  # return to the member for correction: the clock stops until resubmission
                out_ev.append(f"{rid}\t{left_s}\t{actor}\treturn\t{code}\t{code}\t{reason}\t{version}\t{{}}\n")
                if outcome == "returned":
                    status = "returned"
                    rejected_doc = (actor, left_s)

        # The request row.
        met_sla = NULL
        if status in ("completed", "rejected"):
            met_sla = "t" if process_hours <= total else "f"
        jy = _jalali_year(submitted)
        tracking = f"{_DIGITS2[jy % 100]}{_DIGITS2[pid]}{str(rid).zfill(8)}"
        risk_columns = f"\t{_opt_ts_us(stage_risk)}\t{_opt_ts_us(risk_at)}" if ctx.risk_columns else ""
        clock_started = clock.next_opening_us(submitted)
        clock_started_s = submitted_s if clock_started == submitted else _ts_us(clock_started)
        self.out["request"].append(
            f"{rid}\t{tracking}\t{mid}\t{pid}\t{type_code}\t{stage}\t{status}\t{_opt(assignee)}\t{submitted_s}\t"
            f"{clock_started_s}\t{stage_entered_s}\t{stage_text or _units_text(stage_hours)}\t"
            f"{stage_due_s or NULL}\t{process_text or _units_text(process_hours)}\t{_opt_ts_us(due_at)}\t"
            f"{NULL if closed_at is None else last_s}\t{met_sla}\t"  # a closed request's last event is its closing
            f"{_opt(initial)}\t{'t' if spec.referred else 'f'}\t{version}\t{last_s}\t{data}{risk_columns}\n")
        if assessment is not None:
            self.out["fee_assessment"].append(assessment.line())
        self._request_documents(rid, spec, mid, submitted_s, reviewer, rejected_doc)
        if type_code == "new_membership" and m.created[i] is None:
            m.created[i] = _moment(submitted) - timedelta(minutes=5 + 60 * rng.random())
        if type_code == "transfer" and status == "completed":
            m.status[i] = "transferred"

    def _request_data(self, spec: _Spec, submitted: int) -> str:
        """The type's own fields (`Process.data_fields`), as JSON (`submitted` is a wall time)."""
        rng, m, i = self.rng, self.members, spec.member
        t = spec.type_code
        if t == "legacy_registration":
            year = m.valid_year[i] or 1390
            return (f"{{\"old_membership_no\":\"{m.number[i] or ''}\","
                    f"\"old_valid_until\":\"{JALALI.ends[year].isoformat()}\"}}")
        if t in ("membership_renewal", "licence_renewal"):
            return f"{{\"renewal_years\":{self.between(1, 3)}}}"
        if t == "transfer":
            dest = self.between(1, len(PROVINCES) - 1)
            dest += dest >= m.pid[i]  # any province but the member's own
            plaque = _PERSIAN_NUMBERS[self.between(1, 300)]
            address = f"{CITIES_FA[dest][0][0]}، {self.pick(STREETS_FA)}، پلاک {plaque}"
            return f"{{\"destination_province\":{dest},\"destination_address\":\"{address}\"}}"
        if t == "rating":
            kind = "consultant" if rng.random() < 0.5 else "contractor"
            return f"{{\"rating_kind\":\"{kind}\",\"requested_rank\":{self.between(1, 5)}}}"
        if t == "rating_registration":
            expiry = _wall_date(submitted) + timedelta(days=self.between(60, 1000))
            return f"{{\"rank\":{self.between(1, 5)},\"licence_expiry\":\"{expiry.isoformat()}\"}}"
        if t == "licence_issue":
            return f"{{\"competencies\":{_COMPETENCY_JSON[self._competencies()]}}}"
        return "{}"

    def _competencies(self) -> tuple[str, ...]:
        r = self.rng.random()
        for share, competencies in _COMPETENCY_SETS:
            if r < share:
                return competencies
            r -= share
        return _COMPETENCY_SETS[-1][1]

    # ---- fees and payments
    def _tariff(self, pid: int, year: int) -> tuple:
        tariffs = self.ctx.tariffs
        year = min(max(year, TARIFF_YEARS.start), TARIFF_YEARS.stop - 1)
        return tariffs.get((pid, year)) or tariffs[(pid, max(y for p, y in tariffs if p == pid))]

    def _fee_assessment(self, rid: int, spec: _Spec, i: int, pid: int, actor: int, at: int) -> _Assessment:
        """The expert's fee determination, as logic.fees computes it.

        Membership renewal: one line per unrenewed year at that year's annual fee, less the discount
        rule that applies to the year the validity ended, plus a prior debt; finance approves it
        when the province requires. Licence renewal: 1-3 years at this year's licence renewal fee,
        some free (the central council's exemption).
        """
        rng, m = self.rng, self.members
        year_now = _jalali_year(at)
        if spec.type_code == "membership_renewal":
            old_year = m.valid_year[i] or year_now - 1
            ahead = 1 if spec.ahead and rng.random() < 0.3 else 0  # some pay for next year too
            through = min(TARIFF_YEARS.stop - 1, max(old_year + 1, year_now + ahead))
            key = (pid, old_year, through)
            fixed = self._renewal_years.get(key)
            if fixed is None:
                fixed = self._renewal_years[key] = self._renewal_lines(pid, old_year, through)
            tariff_id, lines, total, n_lines, note, extra = fixed
            prior_debt = self.between(1, 19) * 500_000 if rng.random() < 0.2 else 0
            finance = "pending" if self.ctx.finance_required.get(pid, False) else "not_required"
            return _Assessment(rid, tariff_id, lines, prior_debt, total + prior_debt, n_lines, JALALI.ends[through],
                               note, actor, at, finance, extra)
        # Licence renewal: each year free (the central council's exemption) or paid.
        tariff = self._tariff(pid, year_now)
        fee = tariff[5]
        lines, free_years = [], []
        total = 0
        for k in range(self.between(1, 3)):
            free = not spec.payable or (k > 0 and rng.random() < 0.3)
            if free:
                free_years.append(str(year_now + k))
            else:
                total += fee
            lines.append(f"{{\"year\":{year_now + k},\"fee\":{fee},\"discount\":{fee if free else 0},"
                         f"\"amount\":{0 if free else fee},\"free\":{'true' if free else 'false'}}}")
        return _Assessment(rid, tariff[0], f"[{','.join(lines)}]", 0, total, len(lines), None, None, actor, at,
                           "not_required", f"\"free_years\":[{','.join(free_years)}]")

    def _renewal_lines(self, pid: int, old_year: int, through: int) -> tuple:
        """The part of a membership renewal's assessment fixed by province and years (cached per
        chunk): tariff id, lines JSON, total before prior debt, number of years, note, event extra."""
        bp = max((b for lo, hi, b in self.ctx.discounts if lo <= old_year <= hi), default=0)
        lines = []
        total = 0
        for year in range(old_year + 1, through + 1):
            fee = self._tariff(pid, year)[2]
            discount = (fee * bp + 5_000) // 10_000  # basis points, rounded half up to the Rial
            total += fee - discount
            lines.append(f"{{\"year\":{year},\"fee\":{fee},\"discount\":{discount},\"amount\":{fee - discount}}}")
        percent = f"\"{Decimal(bp) / 100}\"" if bp else "null"
        extra = f"\"through_year\":{through},\"discount_percent\":{percent}"
        note = "با تخفیف مصوبهٔ شورای مرکزی" if bp else None
        return self._tariff(pid, through)[0], f"[{','.join(lines)}]", total, len(lines), note, extra

    def _tariff_assessment(self, rid: int, spec: _Spec, pid: int, at: int) -> _Assessment:
        """What logic.fees.assess_from_tariff takes when a payment stage opens: this year's tariff
        items of the type (a new member also pays the year's annual fee: validity to its end)."""
        year = _jalali_year(at)
        key = (spec.type_code, pid, year)
        fixed = self._tariff_lines.get(key)
        if fixed is None:
            fixed = self._tariff_lines[key] = self._tariff_items(spec.type_code, pid, year)
        tariff_id, lines, total, years, new_valid, note = fixed
        return _Assessment(rid, tariff_id, lines, 0, total, years, new_valid, note, None, at, "not_required",
                           "\"source\":\"tariff\"")

    def _tariff_items(self, type_code: str, pid: int, year: int) -> tuple:
        """A tariff assessment's columns fixed by type, province and year (cached per chunk):
        tariff id, lines JSON, total, years, new validity, note."""
        tariff = self._tariff(pid, year)
        _, entrance, annual, card, issue, _, a32, rating = tariff
        items = {
            "new_membership": (("entrance_fee", entrance), ("annual_fee", annual), ("card_fee", card)),
            "card_reissue": (("card_fee", card),),
            "rating": (("rating_fee", rating),),
            "licence_issue": (("licence_issue_fee", issue),),
            "article32_renewal": (("article32_renewal_fee", a32),),
        }[type_code]
        lines = ",".join(f"{{\"item\":\"{item}\",\"year\":{year},\"fee\":{amount},\"discount\":0,"
                         f"\"amount\":{amount}}}" for item, amount in items)
        new_member = type_code == "new_membership"
        return (tariff[0], f"[{lines}]", sum(amount for _, amount in items), 1 if new_member else None,
                JALALI.ends[year] if new_member else None,
                f"بر اساس تعرفهٔ سال {str(year).translate(_PERSIAN_DIGITS)}")

    def _extend_validity(self, i: int, rid: int, assessment: _Assessment, at: int) -> None:
        m = self.members
        old_year = m.valid_year[i]
        new_valid = assessment.new_valid
        old = JALALI.ends[old_year].isoformat() if old_year else NULL
        self.out["validity_change"].append(f"{m.ids[i]}\t{old}\t{new_valid.isoformat()}\t{rid}\t{_ts_us(at)}\n")
        m.valid_year[i] = JALALI.year_of(new_valid)
        self._validity_changed.add(i)

    def _renewal_window(self, i: int, pid: int, submitted: int) -> None:
        """A renewal is accepted only from `renewal_window_days` before the validity ends (or once it
        has lapsed). A member who would be too early is one whose validity lapsed at the end of the
        year before (the demo picks the member's history to fit the request, not the other way)."""
        m = self.members
        year = m.valid_year[i]
        window = self.ctx.renewal_window.get(pid, 60)  # days
        if year is not None and JALALI.ends[year].toordinal() - window <= _WALL_EPOCH + submitted // _DAY_US:
            return
        if i in self._validity_changed:
            return  # a second renewal of the same member: only open requests covering every stage
        lapsed = _jalali_year(submitted + window * _DAY_US) - 1
        m.valid_year[i] = lapsed - (self.between(1, 3) if self.rng.random() < 0.2 else 0)

    def _head_approved(self, i: int, rid: int, spec: _Spec, pid: int, at: int,
                       assessment: _Assessment | None) -> None:
        """The head admits a new member: a number (the workflow's format, numbered here by member id),
        grade 3, and validity to the end of the year paid for."""
        m = self.members
        if spec.type_code != "new_membership" or m.status[i] != "applicant":
            return
        m.number[i] = f"{pid:02d}-{m.ids[i]:07d}"
        m.grade[i] = 3
        m.status[i] = "active"
        m.joined[i] = _wall_date(at)
        valid = assessment.new_valid if assessment and assessment.new_valid else JALALI.ends[_jalali_year(at)]
        m.valid_year[i] = JALALI.year_of(valid)
        self.out["validity_change"].append(f"{m.ids[i]}\t{NULL}\t{valid.isoformat()}\t{rid}\t{_ts_us(at)}\n")

    # ---- documents
    def _document_choices(self, type_code: str) -> tuple:
        """Per document a request of the type can carry: whether it is always an image, and its
        columns doc_type .. required with each of the 12 demo images and with its fitting PDF (an
        image for identity papers, a fitting PDF or a scanned image for the rest). Cached per chunk."""
        choices = self._doc_columns.get(type_code)
        if choices is None:
            files = self.ctx.files

            def columns(doc_type: str, key: str, required: bool) -> str:
                f = files[key]
                return (f"{doc_type}\t{DOCUMENT_TYPES_FA[doc_type]}\t{NULL}\t{doc_type}.{f.extension}\t{f.mime}\t"
                        f"{len(f.content)}\t{f.sha256}\t{'t' if required else 'f'}")

            choices = self._doc_columns[type_code] = tuple(
                (doc_type in _IMAGE_DOCS, [columns(doc_type, f"image-{k}", required) for k in range(12)],
                 columns(doc_type, _PDF_FOR_DOC.get(doc_type, "pdf-form"), required))
                for doc_type, required in REQUEST_DOCUMENTS[type_code])
        return choices

    def _request_documents(self, rid: int, spec: _Spec, mid: int, uploaded: str,
                           reviewer: tuple | None, rejected: tuple | None) -> None:
        """2-4 documents: pending until someone reviewed them; the last one rejected (with a
        reason) when the request was rejected or returned, the others accepted. `reviewer` and
        `rejected` are (actor, time text)."""
        random = self._random
        wanted = self._document_choices(spec.type_code)
        r = random()
        n = min(len(wanted), 2 if r < 0.5 else 3 if r < 0.85 else 4)
        out = self.out["document"]
        who = reviewer or rejected
        if who is not None:
            verdict = f"accepted\t{NULL}\t{who[0]}\t{who[1]}"
        else:
            verdict = f"pending\t{NULL}\t{NULL}\t{NULL}"
        head = f"{mid}\t{rid}\t"
        tail = f"\t{uploaded}\t{verdict}\n"
        for k in range(n):
            always_image, images, pdf = wanted[k]
            if rejected is not None and k == n - 1:
                reason = self.pick(DOCUMENT_REJECT_REASONS_FA)
                tail = f"\t{uploaded}\trejected\t{reason}\t{rejected[0]}\t{rejected[1]}\n"
            columns = images[int(random() * 12)] if always_image or random() < 0.25 else pdf
            out.append(head + columns + tail)

    # ---- member rows (after the requests: they may have changed validity, number, status)
    def _emit_members(self) -> None:
        ctx, rng, m = self.ctx, self.rng, self.members
        today = ctx.today
        field_numbers = {field: k + 1 for k, field in enumerate(FIELDS_FA)}
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
                f"{mid}\t{nid}\t{_opt(number)}\t{first_fa}\t{last_fa}\t{MALE_NAMES[m.father[i]][0]}\t{gender}\t"
                f"{m.birth[i].isoformat()}\t{m.birth_pid[i]}\t{pid}\t{m.field[i]}\t{_opt(grade)}\t{status}\t"
                f"{_opt(joined and joined.isoformat())}\t{_opt(valid and valid.isoformat())}\t{proof}\t"
                f"{_ts(created)}\n")
            self._education(i, mid, joined or created.date())
            self._contacts(mid, pid, first_en, last_en)
            self._addresses(mid, pid)
            if rng.random() < ctx.family_share:
                self._family(i, mid, gender, last_fa)
            if grade is not None and status not in ("resigned",):
                self._licences(i, mid, pid, field_numbers[m.field[i]], grade)

    def _education(self, i: int, mid: int, before: date) -> None:
        rng, m = self.rng, self.members
        label, specialisations = DEGREE_FIELDS_FA[m.field[i]]
        document = NULL
        if self.ctx.member_documents:
            document = str(mid)  # the member's degree scan: document id = member id (see load_demo)
            f = self.ctx.files[f"image-{self.below(12)}"] if rng.random() < 0.3 else self.ctx.files["pdf-degree"]
            uploaded = _ts(datetime.combine(before, datetime.min.time()) + timedelta(hours=9))
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
            plaque = _PERSIAN_NUMBERS[self.between(1, 250)]
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

    def _licences(self, i: int, mid: int, pid: int, field_no: int, grade: int) -> None:
        """A work licence (some expired by now) and, for a few, an Article 32 licence."""
        m = self.members
        out = self.out["work_licence"]
        today = self.ctx.today
        if m.licence[i]:
            issued = today - timedelta(days=self.between(30, 6 * 365))
            expires = issued + timedelta(days=5 * 365)
            competencies = ",".join(self._competencies())
            out.append(f"{mid}\twork\tW{_DIGITS2[pid]}{field_no}{str(mid).zfill(8)}\t{m.field[i]}\t{grade}\t"
                       f"{{{competencies}}}\t{issued.isoformat()}\t{expires.isoformat()}\n")
        if m.article32[i]:
            issued = today - timedelta(days=self.between(30, 4 * 365))
            out.append(f"{mid}\tarticle32\tA{_DIGITS2[pid]}{field_no}{str(mid).zfill(8)}\t{m.field[i]}\t{grade}\t{{}}\t"
                       f"{issued.isoformat()}\t{(issued + timedelta(days=3 * 365)).isoformat()}\n")


# Tables in the order a chunk writes them (parents before children), with the columns written.
# Tables without an `id` column here take ids from their sequence, in this deterministic order.
COPY_TABLES: tuple[tuple[str, str], ...] = (
    ("member", "id, national_id, membership_no, first_name, last_name, father_name, gender, birth_date, "
               "birth_province_id, province_id, field, grade, status, joined_on, valid_until, residence_proof, "
               "created_at"),
    ("member_document", "id, member_id, request_id, doc_type, title, description, file_name, mime, size_bytes, "
                        "sha256, required, uploaded_at, verdict, verdict_reason, verdict_by, verdict_at"),
    ("education", "member_id, level, field, specialisation, university, graduated_on, verification_code, "
                  "document_id"),
    ("contact", "member_id, kind, value, is_active"),
    ("address", "member_id, province_id, city, line, postal_code, is_legal"),
    ("family_member", "member_id, relation, first_name, last_name, national_id, birth_date"),
    ("work_licence", "member_id, kind, licence_no, field, grade, competencies, issued_on, expires_on"),
    ("request", "id, tracking_code, member_id, province_id, type_code, stage_code, status, assignee_id, "
                "submitted_at, clock_started_at, stage_entered_at, stage_hours_used, stage_due_at, "
                "process_hours_used, due_at, closed_at, met_sla, initial_reviewer_id, referred, version, "
                "updated_at, data"),
    ("document", "member_id, request_id, doc_type, title, description, file_name, mime, size_bytes, sha256, "
                 "required, uploaded_at, verdict, verdict_reason, verdict_by, verdict_at"),
    ("stage_visit", "request_id, province_id, type_code, stage_code, entered_at, due_at, left_at, actor_id, "
                    "outcome, hours_used, limit_hours, met"),
    ("request_event", "request_id, at, actor_id, action, from_stage, to_stage, reason, version, data"),
    ("fee_assessment", "id, request_id, version, tariff_id, lines, prior_debt, total, years, new_valid_until, "
                       "note, reason, created_by, created_at, finance_status, finance_by, finance_at"),
    ("payment", "id, request_id, assessment_id, bank_reference, amount, paid_at, source, recorded_by, recorded_at"),
    ("validity_change", "member_id, old_valid_until, new_valid_until, request_id, changed_at"),
)
# "member_document" is the document table (members' own degree scans, with explicit ids).
_TABLE_OF = {"member_document": "document"}
BULK_TABLES = ("member", "document", "education", "contact", "address", "family_member", "work_licence",
               "request", "stage_visit", "request_event", "fee_assessment", "payment", "validity_change")


def _build_chunk(c: int) -> tuple[dict[str, bytes], dict[str, int]]:
    assert _CTX is not None
    return _ChunkBuilder(_CTX, c).build()


# --- reference-like rows ----------------------------------------------------------------------------

def _years_touched(start: datetime, now: datetime) -> list[int]:
    """Gregorian years of the request history plus the next year (deadlines run past now)."""
    return list(range(start.year, now.year + 2))


def _load_holidays(cur, years: list[int]) -> int:
    import holidays as holidays_pkg

    official = holidays_pkg.country_holidays("IR", years=years, language="fa_IR")
    cur.execute("SELECT day FROM holiday WHERE province_id IS NULL")
    present = {row[0] for row in cur.fetchall()}
    rows = [(day, name) for day, name in sorted(official.items()) if day not in present]
    cur.executemany("INSERT INTO holiday (day, province_id, name_fa, source) VALUES (%s, NULL, %s, 'official')", rows)
    return len(rows)


def _load_staff(cur, rng: random.Random, now: datetime) -> int:
    pw_hash = bcrypt.hashpw(DEMO_PASSWORD.encode(), bcrypt.gensalt(12)).decode()  # once: bcrypt is slow on purpose
    created = now - timedelta(days=400)
    rows = []
    for username, roles, pid in DEMO_ACCOUNTS:
        names = MALE_NAMES if rng.random() < 0.7 else FEMALE_NAMES
        full_name = f"{rng.choice(names)[0]} {rng.choice(LAST_NAMES)[0]}"
        rows.append((username, full_name, f"{username}@demo.nezam.ir", pw_hash, list(roles), pid, created, created))
    cur.executemany(
        "INSERT INTO staff_user (username, full_name, email, password_hash, roles, province_id, password_changed_at, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING", rows)
    cur.execute("SELECT count(*) FROM staff_user WHERE username = ANY(%s)", ([a[0] for a in DEMO_ACCOUNTS],))
    return cur.fetchone()[0]


def _staff_pools(cur) -> dict[tuple[int | None, str], tuple[int, ...]]:
    """Who can act at each (province, role): demo accounts only, in a fixed order."""
    cur.execute("SELECT id, username FROM staff_user WHERE username = ANY(%s)", ([a[0] for a in DEMO_ACCOUNTS],))
    ids = dict((username, sid) for sid, username in cur.fetchall())
    pools: dict[tuple[int | None, str], list[int]] = {}
    for username, roles, pid in DEMO_ACCOUNTS:
        for role in roles:
            pools.setdefault((pid, role), []).append(ids[username])
    return {key: tuple(value) for key, value in pools.items()}


def tariff_for(pid: int, year: int) -> tuple[int, ...]:
    """(entrance, annual, card, licence issue, licence renewal per year, Article 32 renewal, rating) in Rial.

    The annual fee is about 25,000,000 Rial in Tehran in 1405, rising about 20 % a year (about
    300,000 in 1381); other provinces charge less.
    """
    factor = {TEHRAN_ID: 1.0, ISFAHAN_ID: 0.85, 5: 0.85, 11: 0.8, 17: 0.8}.get(pid, 0.6 + (pid % 5) * 0.03)
    annual = 25_000_000 * factor / 1.2 ** (1405 - year)
    return tuple(_round10k(annual * k) for k in (1.5, 1.0, 0.12, 0.8, 0.4, 0.6, 1.2))


def _load_tariffs(cur, now: datetime) -> dict[tuple[int, int], tuple]:
    rows = [(pid, year, *tariff_for(pid, year), now - timedelta(days=300))
            for pid, _, _ in PROVINCES for year in TARIFF_YEARS]
    cur.executemany(
        "INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
        "licence_renewal_fee, article32_renewal_fee, rating_fee, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (province_id, jalali_year) DO NOTHING", rows)
    cur.execute("SELECT province_id, jalali_year, id, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
                "licence_renewal_fee, article32_renewal_fee, rating_fee FROM fee_tariff")
    return {(r[0], r[1]): tuple(r[2:]) for r in cur.fetchall()}


def _load_blobs(cur) -> dict[str, DemoFile]:
    files = demo_files()
    cur.executemany("INSERT INTO blob (sha256, size_bytes, content) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [(f.sha256, len(f.content), f.content) for f in files])
    return {f.key: f for f in files}


def _province_clocks(cur) -> tuple[dict[int, _ProvinceClock], dict[int, bool]]:
    """Each province's calendar exactly as logic.calendar.calendar_for builds it: the province's
    working week and office hours, and every closed day in the holiday table (national ones and
    the province's own)."""
    cur.execute("SELECT province_id, workdays, opens, closes, finance_approval_required FROM province_setting")
    settings = {r[0]: r[1:] for r in cur.fetchall()}
    cur.execute("SELECT day, province_id FROM holiday")
    closed: dict[int | None, set[date]] = {}
    for day, pid in cur.fetchall():
        closed.setdefault(pid, set()).add(day)
    clocks: dict[int, _ProvinceClock] = {}
    shared: dict[tuple, _ProvinceClock] = {}  # provinces with the same calendar share one
    finance = {}
    for pid, _, _ in PROVINCES:
        setting = settings.get(pid)
        days = frozenset(closed.get(None, set()) | closed.get(pid, set()))
        key = (tuple(sorted(setting[0])), setting[1], setting[2], days) if setting else (None, days)
        if key not in shared:
            if setting:
                cal = BusinessCalendar(workdays=set(setting[0]), opens=setting[1], closes=setting[2], holidays=days)
            else:
                cal = BusinessCalendar(holidays=days)
            shared[key] = _ProvinceClock(cal)
        clocks[pid] = shared[key]
        finance[pid] = bool(setting[3]) if setting else False
    return clocks, finance


# --- bulk-load helpers ------------------------------------------------------------------------------

def _secondary_indexes(cur) -> list[tuple[str, str]]:
    """(name, definition) of the bulk tables' indexes that back no constraint.

    A large load drops them and rebuilds them from their own definitions: building an index once
    from sorted data is much cheaper than maintaining it row by row for millions of rows whose
    keys (times, actors, provinces) arrive in random order. Primary keys and unique constraints
    stay: they check the load as it goes.
    """
    cur.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        (list(BULK_TABLES),))
    return cur.fetchall()


def _leaf_keys(cur) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the primary keys and unique constraints of the bulk tables that
    no foreign key points at (events, visits, contacts...). A large load drops them and adds them
    back after the COPYs: one sorted build instead of millions of index insertions, and adding them
    back still refuses the load if a key repeats. Keys that foreign keys rely on stay."""
    cur.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid) "
        "ORDER BY 1, 2", (list(BULK_TABLES),))
    return cur.fetchall()


def _fix_sequences(cur, tables) -> None:
    """Move every id sequence past the ids written here, so later INSERTs don't collide."""
    for table in tables:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                    f"FROM {table}")


def _pick_workers(n_chunks: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, min(workers, n_chunks))
    return 1 if n_chunks < 3 else max(1, min(os.cpu_count() or 1, 4, n_chunks))


def _chunk_results(n_chunks: int, workers: int):
    """Chunk results in chunk order; built by forked workers, a few chunks ahead of the writer."""
    if workers <= 1:
        for c in range(n_chunks):
            yield _build_chunk(c)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pending = []
        next_chunk = 0
        window = workers + 2  # bounded: results are tens of megabytes each
        while next_chunk < n_chunks or pending:
            while next_chunk < n_chunks and len(pending) < window:
                pending.append(pool.apply_async(_build_chunk, (next_chunk,)))
                next_chunk += 1
            yield pending.pop(0).get()


# --- entry points -----------------------------------------------------------------------------------

def _session_settings(cur, skip_fk_triggers: bool | None) -> bool:
    cur.execute("SET LOCAL TIME ZONE 'Asia/Tehran'")  # the COPY text carries naive Tehran times
    cur.execute("SET LOCAL synchronous_commit = off")
    # Index rebuilds sort in memory: the largest (events by person and time) needs about 1 GB at a
    # million requests, shared by the build's parallel workers. Only a build takes it, and only as needed.
    cur.execute("SET LOCAL maintenance_work_mem = '2GB'")
    if skip_fk_triggers is None:
        cur.execute("SELECT current_setting('is_superuser') = 'on'")
        skip_fk_triggers = cur.fetchone()[0]
    if skip_fk_triggers:
        # No foreign-key triggers for this transaction, as pg_restore does; only a superuser may.
        cur.execute("SET LOCAL session_replication_role = replica")
    return skip_fk_triggers


def _context(cur, *, seed: int, now: datetime, start: datetime, requests: int, members: int) -> _Context:
    """Everything the chunk builders read: calendars, staff, tariffs, rules, files."""
    years = _years_touched(start, now)
    _load_holidays(cur, years)
    _load_staff(cur, random.Random(seed), now)
    tariffs = _load_tariffs(cur, now)
    files = _load_blobs(cur)
    clocks, finance = _province_clocks(cur)
    cur.execute("SELECT count(*) = 2 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'request' AND column_name IN ('stage_risk_at', 'risk_at')")
    risk_columns = cur.fetchone()[0]
    cur.execute("SELECT valid_end_year_from, valid_end_year_to, percent FROM discount_rule WHERE is_active")
    discounts = [(int(a), int(b), int(p * 100)) for a, b, p in cur.fetchall()]  # percent -> basis points
    cur.execute("SELECT province_id, renewal_window_days FROM province_setting")
    renewal_window = dict(cur.fetchall())
    n_chunks = max(1, math.ceil(requests / CHUNK_REQUESTS), math.ceil(members / CHUNK_MEMBERS))
    if requests:
        n_chunks = min(n_chunks, members)  # every chunk needs members to file its requests
    small = members <= 200_000
    return _Context(seed=seed, now=now, start=start, n_members=members, n_requests=requests, n_chunks=n_chunks,
                    clocks=clocks, finance_required=finance, pools=_staff_pools(cur), tariffs=tariffs,
                    discounts=discounts, renewal_window=renewal_window, files=files, member_documents=small,
                    family_share=1.0 if small else 0.2, risk_columns=risk_columns)


def _write_chunks(cur, ctx: _Context, workers: int, say, freeze: bool = False) -> dict[str, int]:
    """COPY every chunk, in chunk order, as the workers finish them. `freeze` (tables emptied in this
    transaction) writes the rows already frozen, so nothing later has to set their hint bits."""
    options = " (FREEZE)" if freeze else ""
    t0 = time.perf_counter()
    totals: dict[str, int] = {}
    waited = copying = 0.0  # where the writer's time goes: waiting for chunks, or in COPY
    results = _chunk_results(ctx.n_chunks, workers)
    for c in range(ctx.n_chunks):
        t1 = time.perf_counter()
        data, chunk_counts = next(results)
        t2 = time.perf_counter()
        waited += t2 - t1
        for table, columns in COPY_TABLES:
            payload = data.get(table)
            if not payload:
                continue
            if table == "request" and ctx.risk_columns:
                columns += ", stage_risk_at, risk_at"
            with cur.copy(f"COPY {_TABLE_OF.get(table, table)} ({columns}) FROM STDIN{options}") as copy:
                copy.write(payload)
        copying += time.perf_counter() - t2
        for table, n in chunk_counts.items():
            name = _TABLE_OF.get(table, table)
            totals[name] = totals.get(name, 0) + n
        if (c + 1) % max(1, ctx.n_chunks // 5) == 0 or c + 1 == ctx.n_chunks:
            say(f"  {c + 1}/{ctx.n_chunks} chunks in {time.perf_counter() - t0:.1f}s "
                f"(waiting for chunks {waited:.1f}s, in COPY {copying:.1f}s)")
    return totals


def _count(cur, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    return counts


def _analyze(engine: sa.Engine, tables: tuple[str, ...]) -> None:
    """Planner statistics for the loaded tables, on two connections at once (ANALYZE of one table
    uses one core; the tables split about evenly by size)."""
    from concurrent.futures import ThreadPoolExecutor

    def run(names: tuple[str, ...]) -> None:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True  # ANALYZE outside a transaction block
            raw.driver_connection.execute("ANALYZE " + ", ".join(names))
        finally:
            raw.driver_connection.autocommit = False  # back to the pool as the pool lent it
            raw.close()
    largest = ("request_event", "document", "fee_assessment")  # about half the rows
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(run, largest), pool.submit(run, tuple(t for t in tables if t not in largest))]:
            done.result()


def load_demo(engine: sa.Engine, requests: int = DEFAULT_REQUESTS, members: int | None = None,
              seed: int = DEFAULT_SEED, now: datetime | None = None, *, if_empty: bool = False,
              workers: int | None = None, bulk: bool | None = None, skip_fk_triggers: bool | None = None,
              progress=None) -> dict:
    """Load the demo data into a migrated database without members, in one transaction.

    Returns row counts per table (`skipped` instead when `if_empty` and members exist), the number
    of worker processes and the elapsed seconds. `now` (default: the current time in Tehran)
    bounds every generated time. `bulk` forces or forbids dropping and rebuilding the secondary
    indexes (default: for large loads); `skip_fk_triggers` likewise (default: when superuser).
    """
    global _CTX
    t0 = time.perf_counter()
    if members is None:
        members = min(MAX_MEMBERS, max(1, requests // 2))
    if requests < 0 or members < 0 or (requests > 0 and members < 1):
        raise ValueError("requests need at least one member")
    now = to_tehran_naive(now) if now is not None else datetime.now(TEHRAN).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    start = datetime.combine(JALALI.start_of(FIRST_JALALI_YEAR), datetime.min.time())
    if bulk is None:
        bulk = requests >= BULK_THRESHOLD or members >= BULK_THRESHOLD
    say = progress or (lambda message: None)

    raw = engine.raw_connection()
    conn = raw.driver_connection
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM member")
        existing = cur.fetchone()[0]
        if existing:
            conn.rollback()
            if if_empty:
                return {"skipped": True, "existing_members": existing, "elapsed": time.perf_counter() - t0}
            raise RuntimeError(f"the database already has {existing} members; load the demo into an empty one "
                               "(or pass --if-empty)")
        replica = _session_settings(cur, skip_fk_triggers)
        ctx = _CTX = _context(cur, seed=seed, now=now, start=start, requests=requests, members=members)
        if ctx.member_documents:
            # Members' degree scans take ids 1..members (id = member id); request documents follow.
            cur.execute("SELECT setval(pg_get_serial_sequence('document', 'id'), %s)", (max(members, 1),))
        indexes = _secondary_indexes(cur) if bulk else []
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        keys = _leaf_keys(cur) if bulk else []
        for table, name, _ in keys:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        if bulk and replica:
            # The tables are empty (no members, so nothing that hangs off one). Emptied in this
            # transaction, they get new files that need no WAL on a wal_level=minimal server (the
            # embedded one): the COPYs and index builds below write none, and commit syncs the files.
            # The replica role keeps the append-only tables' TRUNCATE guard from firing.
            cur.execute("TRUNCATE " + ", ".join(BULK_TABLES))
        say(f"reference rows ready in {time.perf_counter() - t0:.1f}s; {requests:,} requests and {members:,} "
            f"members in {ctx.n_chunks} chunk(s)")
        workers = _pick_workers(ctx.n_chunks, workers)
        totals = _write_chunks(cur, ctx, workers, say, freeze=bulk and replica)
        for table, name, definition in keys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cur.execute(definition)
        if indexes:
            say(f"{len(indexes)} indexes rebuilt at {time.perf_counter() - t0:.1f}s")
        _fix_sequences(cur, ("holiday", "staff_user", "fee_tariff") + BULK_TABLES)
        cur.execute("SELECT to_regclass('membership_no_seq') IS NOT NULL")
        if cur.fetchone()[0] and members:
            # Admissions here number members like the workflow does ("PP-NNNNNNN", from the member
            # id); the workflow's next number must come after them.
            cur.execute("SELECT setval('membership_no_seq', greatest(%s, (SELECT last_value FROM membership_no_seq)))",
                        (members,))
        counts = _count(cur, ("holiday", "staff_user", "fee_tariff", "blob"))
        conn.commit()
        say(f"committed at {time.perf_counter() - t0:.1f}s")
        _analyze(engine, ("holiday", "staff_user", "fee_tariff", "blob") + BULK_TABLES)
    except BaseException:
        conn.rollback()
        raise
    finally:
        _CTX = None
        raw.close()
    counts.update(totals)
    counts["workers"] = workers
    counts["elapsed"] = round(time.perf_counter() - t0, 2)
    return counts


def keep_freed_memory() -> bool:
    """Let this process (and the workers it forks) reuse the memory it frees instead of handing it back
    to the kernel: glibc only; False elsewhere.

    Each chunk allocates and frees a few hundred megabytes of strings and buffers, and glibc hands large
    freed blocks (by default over 128 kB) and a free top of its heap back to the kernel. On a VM whose
    kernel reports free pages to its host (free page reporting, as on the Firecracker machines here) a
    page touched again after that costs a host fault: touching 2 GB of new memory took 6.8 s the first
    time and 1.2 s the next. At a million requests this took the loader's Python processes from
    10.0–10.8 to 7.0–9.5 s of system time in an hour when the machine was slow, and made no difference
    in one when it was fast.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = mallopt(m_mmap_threshold, 32 << 20)     # the largest glibc allows: chunks' buffers come from the heap
    ok &= mallopt(m_trim_threshold, 1 << 30)     # and freeing them leaves the heap's top in place
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.demo", description="Load demo data into an empty database.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="small: 3,000 requests; million: 1,000,000 requests and 400,000 members; "
                             "national: 5,000,000 requests and 1,000,000 members")
    parser.add_argument("--requests", type=int, help="number of requests (overrides --scale)")
    parser.add_argument("--members", type=int, help="number of members (default: about requests / 2)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when members already exist")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    parser.add_argument("--workers", type=int, help="generator processes (default: by CPU count)")
    args = parser.parse_args(argv)

    from db.engine import database_url, make_engine

    scale_requests, scale_members = SCALES[args.scale]
    requests = args.requests if args.requests is not None else scale_requests
    members = args.members if args.members is not None else (
        scale_members if args.requests is None else None)
    if members is not None:
        members = min(members, MAX_MEMBERS)
    engine = make_engine(args.database_url or database_url())
    keep_freed_memory()  # a short-lived process: what it keeps is returned when it exits
    try:
        result = load_demo(engine, requests=requests, members=members, seed=args.seed, if_empty=args.if_empty,
                           workers=args.workers, progress=print)
    except RuntimeError as exc:
        print(f"db.demo: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if result.get("skipped"):
        print(f"db.demo: the database already has {result['existing_members']} members; nothing loaded.")
        return 0
    shown = ("member", "request", "request_event", "stage_visit", "document", "fee_assessment", "payment",
             "staff_user", "holiday")
    print("db.demo: loaded " + ", ".join(f"{result.get(t, 0):,} {t}" for t in shown))
    print(f"db.demo: {result['elapsed']:.1f}s with {result['workers']} worker(s); "
          f"demo password for every account: {DEMO_PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
