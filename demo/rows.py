"""COPY text: the tables a chunk writes, and the formatting of its values.

Rows are formatted by hand as PostgreSQL's COPY text format (tab-separated, `\\N` for NULL) and
their JSON with f-strings: the values are numbers, codes and Persian text from the demo's own
lists, which need no escaping (no quotes, backslashes, tabs or newlines; the tests check the
lists). Moments are *wall microseconds* (`domain.calendar.to_wall`: naive Tehran time counted in
microseconds from 2000-01-01), formatted by table look-up; the session time zone of the load is
Asia/Tehran.
"""
from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from datetime import date, datetime, timedelta

from domain.calendar import US_PER_DAY, WALL_EPOCH
from domain.clock import HOUR_UNITS

NULL = "\\N"  # COPY text format's NULL

_WALL_EPOCH_ORDINAL = WALL_EPOCH.toordinal()
_SECOND_US = 1_000_000
_ONE_US = timedelta(microseconds=1)

# Zero-padded digits by table look-up: format specs ("{n:04d}") are slow in hot f-strings.
DIGITS2 = [f"{n:02d}" for n in range(100)]
DIGITS3 = [f"{n:03d}" for n in range(1000)]
DIGITS4 = [f"{n:04d}" for n in range(10_000)]


def opt(value) -> str:
    return NULL if value is None else str(value)


def ts(moment: datetime) -> str:
    """A naive Tehran time for COPY."""
    return moment.isoformat(" ")


def units_text(units: int) -> str:
    """Clock units (`domain.clock`) as the hours the database stores: always four decimals, what
    str() of `units_to_hours` writes."""
    return f"{units // HOUR_UNITS}.{DIGITS4[units % HOUR_UNITS]}"


# --- wall microseconds ---------------------------------------------------------------------------

# Text of every day 2000-2040 ("YYYY-MM-DD ") and every second of a day ("HH:MM:SS"): a timestamp
# is two list look-ups and a concatenation (the same instants recur many times per request).
_DAY_TEXT = [date.fromordinal(_WALL_EPOCH_ORDINAL + k).isoformat() + " "
             for k in range(date(2041, 1, 1).toordinal() - _WALL_EPOCH_ORDINAL)]
_SECOND_TEXT = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def ts_us(wall: int) -> str:
    """`ts` of a wall time: what datetime.isoformat(" ") writes."""
    day, us = divmod(wall, US_PER_DAY)
    second, fraction = divmod(us, _SECOND_US)
    if fraction:
        return f"{_DAY_TEXT[day]}{_SECOND_TEXT[second]}.{DIGITS3[fraction // 1000]}{DIGITS3[fraction % 1000]}"
    return _DAY_TEXT[day] + _SECOND_TEXT[second]


def wall_date(wall: int) -> date:
    return date.fromordinal(_WALL_EPOCH_ORDINAL + wall // US_PER_DAY)


def span_us(span: timedelta) -> int:
    """A timedelta in microseconds (where timedelta arithmetic still does the rounding)."""
    return span // _ONE_US


def days_us(days: float) -> int:
    """`timedelta(days=days)` in microseconds, without building one: the integer part exactly,
    the fraction in float arithmetic, the leftover rounded half to even, step by step as CPython's
    timedelta constructor does it (the tests compare the two)."""
    if days < 0:
        return span_us(timedelta(days=days))
    fraction, whole = math.modf(days)
    us = int(whole) * US_PER_DAY
    if fraction:
        leftover, whole = math.modf(86_400_000_000.0 * fraction)
        us += int(whole)
        if leftover > 0.5 or (leftover == 0.5 and us & 1):
            us += 1
    return us


def second_floor(wall: int) -> int:
    """`.replace(microsecond=0)` of the moment."""
    return wall - wall % _SECOND_US


# --- JSON ----------------------------------------------------------------------------------------

_DATA_TEXT: dict[tuple, str] = {}


def data_text(data) -> str:
    """An event's data as JSON (`{}` for none), cached: the data of the events `decide` writes
    (a committee's verdict, a referral) repeat."""
    if not data:
        return "{}"
    key = tuple(data.items())
    text = _DATA_TEXT.get(key)
    if text is None:
        text = _DATA_TEXT[key] = json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))
    return text


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flat_json(fields: dict) -> str:
    """`json_text` of the fields that are not None, when every value is a string or an integer and
    every key a plain identifier (a record change's details): joined here, with json's own string
    encoder, instead of a JSONEncoder per row."""
    parts = []
    for key, value in fields.items():
        kind = type(value)
        if kind is str:
            parts.append(f"\"{key}\":{encode_basestring(value)}")
        elif kind is int:
            parts.append(f"\"{key}\":{value}")
        elif value is not None:
            return json_text({k: v for k, v in fields.items() if v is not None})
    return "{" + ",".join(parts) + "}"


# --- the tables ----------------------------------------------------------------------------------

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
    ("request", "id, tracking_code, member_id, province_id, type_code, stage_code, status, assignee_id, "
                "submitted_at, clock_started_at, stage_entered_at, stage_hours_used, stage_due_at, "
                "process_hours_used, due_at, closed_at, met_sla, initial_reviewer_id, referred, version, "
                "updated_at, data"),
    ("work_licence", "id, member_id, kind, licence_no, field, grade, competencies, issued_on, expires_on, "
                     "request_id"),
    ("document", "member_id, request_id, doc_type, title, description, file_name, mime, size_bytes, sha256, "
                 "required, uploaded_at, verdict, verdict_reason, verdict_by, verdict_at"),
    ("stage_visit", "request_id, province_id, type_code, stage_code, entered_at, due_at, left_at, actor_id, "
                    "outcome, hours_used, limit_hours, met"),
    ("request_event", "request_id, at, actor_id, action, from_stage, to_stage, reason, version, data"),
    ("fee_assessment", "id, request_id, version, tariff_id, lines, prior_debt, total, years, new_valid_until, "
                       "note, reason, created_by, created_at, finance_status, finance_by, finance_at"),
    ("payment", "id, request_id, assessment_id, bank_reference, amount, paid_at, source, recorded_by, recorded_at"),
    ("validity_change", "member_id, old_valid_until, new_valid_until, request_id, changed_at"),
    ("record_change", "member_id, request_id, kind, at, province_id, licence_id, details"),
)
# "member_document" is the document table (members' own degree scans, with explicit ids).
TABLE_OF = {"member_document": "document"}
# Tables computed in SQL from the rows loaded, after the COPYs (`demo.load._fill_derived`): the
# triggers that keep them do not fire in a replica-mode session.
DERIVED_TABLES = ("member_name_word",)
BULK_TABLES = ("member", "document", "education", "contact", "address", "family_member", "work_licence",
               "request", "stage_visit", "request_event", "fee_assessment", "payment", "validity_change",
               "record_change") + DERIVED_TABLES
