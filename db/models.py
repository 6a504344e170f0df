"""The schema, as SQLAlchemy models. Migrations in `db/migrations` create it; constraints here make
bad states impossible in the database itself, whatever code writes to it.

Times are `timestamptz`; money is `bigint` Rial; dates a person enters are stored Gregorian and
shown Jalali.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.outcomes import CHANGE_KINDS_FA
from domain.processes import Status
from domain.reference import (ALLOWED_MIME_TYPES, COMPETENCIES_FA, CONTACT_KINDS_FA, DEGREE_LEVELS_FA,
                             DOCUMENT_TYPES_FA, FIELDS_FA, LICENCE_KINDS_FA, MEMBER_STATUSES_FA)
from domain.roles import ALL_ROLES

TZ = sa.DateTime(timezone=True)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


# --- organisation -------------------------------------------------------------------------------

class Province(Base):
    __tablename__ = "province"
    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(sa.Text, unique=True)
    name_fa: Mapped[str] = mapped_column(sa.Text, unique=True)


class ProvinceSetting(Base):
    """Per-province working week, office hours and rules the issue texts leave to the province."""
    __tablename__ = "province_setting"
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"), primary_key=True)
    workdays: Mapped[list[int]] = mapped_column(ARRAY(sa.SmallInteger), server_default="{5,6,0,1,2}")
    opens: Mapped[time] = mapped_column(sa.Time, server_default="07:30")
    closes: Mapped[time] = mapped_column(sa.Time, server_default="14:30")
    renewal_window_days: Mapped[int] = mapped_column(sa.Integer, server_default="60")
    finance_approval_required: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("opens < closes", name="office_hours"),
        sa.CheckConstraint("cardinality(workdays) BETWEEN 1 AND 7 AND workdays <@ ARRAY[0,1,2,3,4,5,6]::smallint[]",
                           name="workdays"),
        sa.CheckConstraint("renewal_window_days BETWEEN 0 AND 366", name="renewal_window"),
    )


class Holiday(Base):
    """A closed day. National holidays have no province; a province may add its own closures."""
    __tablename__ = "holiday"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("province.id"))
    name_fa: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text, server_default="official")
    __table_args__ = (
        sa.CheckConstraint(_in("source", ("official", "manual")), name="source"),
        sa.Index("uq_holiday_day_province", "day", sa.text("coalesce(province_id, 0)"), unique=True),
    )


class StaffUser(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    username: Mapped[str] = mapped_column(sa.Text, unique=True)
    full_name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(sa.Text))
    # NULL: central organisation staff, who see all provinces.
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("province.id"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    failed_logins: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(TZ)
    password_changed_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("cardinality(roles) >= 1 AND roles <@ ARRAY[%s]::text[]"
                           % ", ".join(repr(r) for r in ALL_ROLES), name="roles"),
        sa.CheckConstraint("failed_logins >= 0", name="failed_logins"),
        sa.CheckConstraint("password_hash LIKE '$2%'", name="bcrypt_hash"),
        sa.CheckConstraint("username = lower(username) AND length(username) BETWEEN 3 AND 64", name="username"),
    )


class StaffSession(Base):
    """A signed-in browser session. The login cookie carries a random 256-bit token; `id` is its
    HMAC-SHA256 under COOKIE_KEY, so a copy of this table opens no session (migration 0017)."""
    __tablename__ = "staff_session"
    id: Mapped[bytes] = mapped_column(sa.LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"))
    issued_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    __table_args__ = (
        sa.CheckConstraint("octet_length(id) = 32", name="id_length"),
        # Revoking all of a user's sessions (password change, deactivation) reads the live ones.
        sa.Index("ix_staff_session_user_id", "user_id", postgresql_where=sa.text("revoked_at IS NULL")),
    )


class SavedQueueFilter(Base):
    """A queue filter a member of staff saved under a name of their own (migration 0020): the view,
    the filters and the sort, as the page's widgets hold them."""
    __tablename__ = "saved_queue_filter"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.Text)
    filters: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.UniqueConstraint("staff_user_id", "name"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 60", name="name"),
    )


class LoginThrottle(Base):
    """Recent failed logins, shared by every app process: one row per typed username
    (`user:<name>`) and one for all of them (`all`)."""
    __tablename__ = "login_throttle"
    scope: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer)
    window_started_at: Mapped[datetime] = mapped_column(TZ)
    last_failed_at: Mapped[datetime] = mapped_column(TZ)
    __table_args__ = (sa.CheckConstraint("failures >= 1", name="failures"),)


# --- members ------------------------------------------------------------------------------------

def member_name_words(table: str = "") -> str:
    """The words a member's name is searched by: its words split at each ZWNJ, and the same words
    with the ZWNJ left out, so «علی‌اکبر» is found typed as «علی اکبر», «علیاکبر» or «علی‌اکبر»
    (people type the half-space or not). `table` qualifies the columns in a query ("member.")."""
    name = f"{table}first_name || ' ' || {table}last_name"
    return f"to_tsvector('simple', replace({name}, chr(8204), ' ') || ' ' || replace({name}, chr(8204), ''))"


class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    national_id: Mapped[str] = mapped_column(sa.String(10), unique=True)
    membership_no: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    first_name: Mapped[str] = mapped_column(sa.Text)
    last_name: Mapped[str] = mapped_column(sa.Text)
    father_name: Mapped[str | None] = mapped_column(sa.Text)
    gender: Mapped[str] = mapped_column(sa.String(1))
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    birth_province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))  # membership / residence
    field: Mapped[str] = mapped_column(sa.Text)
    grade: Mapped[int | None] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.Text, server_default="applicant")
    joined_on: Mapped[date | None] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    residence_proof: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("length(national_id) = 10 AND national_id ~ '^[0-9]+$'", name="national_id_digits"),
        sa.CheckConstraint(_in("gender", ("m", "f")), name="gender"),
        sa.CheckConstraint(_in("field", FIELDS_FA), name="field"),
        sa.CheckConstraint("grade IN (1, 2, 3)", name="grade"),
        sa.CheckConstraint(_in("status", MEMBER_STATUSES_FA), name="status"),
        sa.CheckConstraint("status = 'applicant' OR membership_no IS NOT NULL", name="member_has_number"),
        sa.CheckConstraint("birth_province_id = province_id OR residence_proof IS NOT NULL", name="residence_proof"),
        # The directory's name search by word prefix; 'simple' keeps Persian words as written (0012).
        sa.Index("ix_member_name_fts", sa.text(member_name_words()), postgresql_using="gin"),
        sa.Index("ix_member_province_name", "province_id", "last_name", "first_name"),
        sa.Index("ix_member_province_valid_until", "province_id", "valid_until"),
        sa.Index("ix_member_province_joined", "province_id", "joined_on"),  # new members per month (0007)
        sa.Index("ix_member_active_kpi", "id", postgresql_include=["province_id", "field", "grade"],
                 postgresql_where=sa.text("status = 'active'")),  # licence holders by field and grade (0007)
        sa.Index("ix_member_national_id_prefix", "national_id", postgresql_ops={"national_id": "text_pattern_ops"}),
        sa.Index("ix_member_national_id_suffix", sa.func.reverse(sa.literal_column("national_id")).label("nid_reversed"),
                 postgresql_ops={"nid_reversed": "text_pattern_ops"}),
    )


class MemberNameWord(Base):
    """The words of each member's name (the lexemes of `member_name_words`), one row per word, kept
    by the trigger `member_name_word_sync` (0021): the name search reads member ids from the primary
    key's "C"-ordered words by prefix range, without visiting the member table."""
    __tablename__ = "member_name_word"
    word: Mapped[str] = mapped_column(sa.Text(collation="C"), primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    # A request's member tested word by word (logic.members.name_words_match), index-only; and the
    # trigger's delete when a name is corrected.
    __table_args__ = (sa.Index("ix_member_name_word_member_id", "member_id", "word"),)


class Education(Base):
    __tablename__ = "education"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(sa.Text)
    field: Mapped[str] = mapped_column(sa.Text)
    specialisation: Mapped[str | None] = mapped_column(sa.Text)
    university: Mapped[str | None] = mapped_column(sa.Text)
    graduated_on: Mapped[date | None] = mapped_column(sa.Date)
    verification_code: Mapped[str | None] = mapped_column(sa.Text)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("document.id"))
    __table_args__ = (sa.CheckConstraint(_in("level", DEGREE_LEVELS_FA), name="level"),)


class Contact(Base):
    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[str] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    __table_args__ = (
        sa.CheckConstraint(_in("kind", CONTACT_KINDS_FA), name="kind"),
        sa.Index("ix_contact_mobile", "value", postgresql_where=sa.text("kind = 'mobile'")),
    )


class Address(Base):
    __tablename__ = "address"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))
    city: Mapped[str] = mapped_column(sa.Text)
    line: Mapped[str] = mapped_column(sa.Text)
    postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    is_legal: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    __table_args__ = (
        sa.CheckConstraint("length(postal_code) = 10 AND postal_code ~ '^[0-9]+$'", name="postal_code"),
        # At most one legal address per member; the service keeps it at exactly one.
        sa.Index("uq_address_one_legal", "member_id", unique=True, postgresql_where=sa.text("is_legal")),
    )


class FamilyMember(Base):
    __tablename__ = "family_member"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(sa.Text)
    first_name: Mapped[str] = mapped_column(sa.Text)
    last_name: Mapped[str] = mapped_column(sa.Text)
    national_id: Mapped[str | None] = mapped_column(sa.String(10))
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    __table_args__ = (
        sa.CheckConstraint(_in("relation", ("spouse", "child")), name="relation"),
        sa.CheckConstraint("length(national_id) = 10 AND national_id ~ '^[0-9]+$'", name="national_id_digits"),
    )


class WorkLicence(Base):
    __tablename__ = "work_licence"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text, server_default="work")
    licence_no: Mapped[str] = mapped_column(sa.Text, unique=True)
    field: Mapped[str] = mapped_column(sa.Text)
    grade: Mapped[int] = mapped_column(sa.SmallInteger)
    competencies: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    issued_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date] = mapped_column(sa.Date)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"))  # the request that issued it (0013)
    __table_args__ = (
        sa.CheckConstraint(_in("kind", LICENCE_KINDS_FA), name="kind"),
        sa.CheckConstraint(_in("field", FIELDS_FA), name="field"),
        sa.CheckConstraint("grade IN (1, 2, 3)", name="grade"),
        sa.CheckConstraint("competencies <@ ARRAY[%s]::text[]" % ", ".join(repr(c) for c in COMPETENCIES_FA),
                           name="competencies"),
        sa.CheckConstraint("expires_on > issued_on", name="dates"),
        sa.Index("ix_work_licence_issued_on", "issued_on"),
        sa.Index("ix_work_licence_request_id", "request_id", postgresql_where=sa.text("request_id IS NOT NULL")),
        # Members with a valid work licence on a date (migration 0007).
        sa.Index("ix_work_licence_member_valid", "member_id", "expires_on", postgresql_include=["issued_on"],
                 postgresql_where=sa.text("kind = 'work'")),
    )


class ValidityChange(Base):
    """Membership validity history: every extension or correction of `member.valid_until`."""
    __tablename__ = "validity_change"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    old_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    new_valid_until: Mapped[date] = mapped_column(sa.Date)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"))
    changed_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())


class RecordChange(Base):
    """The member record's history: one row per change a request made to it (admission, the old
    membership registered, a province move, a card, a rank, a licence issued or renewed), naming
    that request. Append-only (0013), like the events."""
    __tablename__ = "record_change"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(TZ)
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))  # the member's province after it
    licence_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_licence.id"))
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    __table_args__ = (
        sa.CheckConstraint(_in("kind", CHANGE_KINDS_FA), name="kind"),
        sa.Index("ix_record_change_member_at", "member_id", "at"),
        sa.Index("ix_record_change_kind_at", "kind", "at", postgresql_include=["province_id", "licence_id"]),
    )


# --- documents ----------------------------------------------------------------------------------

class Blob(Base):
    """File content, addressed by its sha256: the same scan uploaded twice is stored once."""
    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    __table_args__ = (
        sa.CheckConstraint("length(sha256) = 64 AND sha256 ~ '^[0-9a-f]+$'", name="sha256_hex"),
        sa.CheckConstraint("size_bytes = octet_length(content) AND size_bytes > 0", name="size"),
    )


class BlobPreview(Base):
    """A large image's scaled-down copy for the screen (logic/previews.py); the original stays in `blob`."""
    __tablename__ = "blob_preview"
    sha256: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("blob.sha256", ondelete="CASCADE"),
                                        primary_key=True)
    mime: Mapped[str] = mapped_column(sa.String(40))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    __table_args__ = (
        sa.CheckConstraint("mime IN ('image/jpeg', 'image/png')", name="mime"),
        sa.CheckConstraint("width > 0 AND height > 0", name="size"),
    )


class Document(Base):
    __tablename__ = "document"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"), index=True)
    doc_type: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    file_name: Mapped[str] = mapped_column(sa.Text)
    mime: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.ForeignKey("blob.sha256"))
    required: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    uploaded_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    verdict: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    verdict_reason: Mapped[str | None] = mapped_column(sa.Text)
    verdict_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    verdict_at: Mapped[datetime | None] = mapped_column(TZ)
    __table_args__ = (
        sa.CheckConstraint(_in("doc_type", DOCUMENT_TYPES_FA), name="doc_type"),
        sa.CheckConstraint(_in("mime", ALLOWED_MIME_TYPES), name="mime"),
        sa.CheckConstraint("size_bytes > 0", name="size"),
        sa.CheckConstraint(_in("verdict", ("pending", "accepted", "rejected")), name="verdict"),
        sa.CheckConstraint("verdict <> 'rejected' OR coalesce(verdict_reason, '') <> ''", name="reject_reason"),
        sa.CheckConstraint("length(file_name) BETWEEN 1 AND 200", name="file_name"),
    )


# --- process definitions (synced from domain.processes) ------------------------------------------

class RequestType(Base):
    __tablename__ = "request_type"
    code: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    name_fa: Mapped[str] = mapped_column(sa.Text)
    total_limit_days: Mapped[int | None] = mapped_column(sa.Integer)   # None: the seed gives no total
    sort_order: Mapped[int] = mapped_column(sa.Integer)


class RequestStage(Base):
    __tablename__ = "request_stage"
    type_code: Mapped[str] = mapped_column(sa.ForeignKey("request_type.code"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.SmallInteger)
    name_fa: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str | None] = mapped_column(sa.Text)
    limit_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))   # 0.5: «کمتر از ۱ روز»
    clock_runs: Mapped[bool] = mapped_column(sa.Boolean)
    optional: Mapped[str | None] = mapped_column(sa.Text)
    checklist: Mapped[list] = mapped_column(JSONB, server_default="[]")
    __table_args__ = (
        sa.UniqueConstraint("type_code", "seq"),
        sa.CheckConstraint("clock_runs OR limit_days IS NULL", name="limit_only_when_clock"),
        sa.CheckConstraint("role IS NULL OR role = ANY(ARRAY[%s])" % ", ".join(repr(r) for r in ALL_ROLES),
                           name="role"),
    )


# --- requests -----------------------------------------------------------------------------------

class Request(Base):
    __tablename__ = "request"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(sa.Text, unique=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), index=True)
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))
    type_code: Mapped[str] = mapped_column(sa.ForeignKey("request_type.code"))
    stage_code: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="open")
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(TZ)
    # When the clock started: the first office opening at or after submission (seed 003).
    clock_started_at: Mapped[datetime] = mapped_column(TZ)
    stage_entered_at: Mapped[datetime] = mapped_column(TZ)
    # Working hours already spent in this stage before the clock was stopped (return for correction).
    stage_hours_used: Mapped[Decimal] = mapped_column(sa.Numeric(10, 4), server_default="0")
    # NULL while the clock is stopped (member stages, returned requests) or the request is closed.
    stage_due_at: Mapped[datetime | None] = mapped_column(TZ)
    # After this moment less than a quarter of the stage's time is left: "at risk" by plain comparison.
    stage_risk_at: Mapped[datetime | None] = mapped_column(TZ)
    # Working hours spent so far in clock-running stages, and the whole process's deadline.
    process_hours_used: Mapped[Decimal] = mapped_column(sa.Numeric(10, 4), server_default="0")
    due_at: Mapped[datetime | None] = mapped_column(TZ)
    risk_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    # Whether the whole process finished within its limit (set when closed).
    met_sla: Mapped[bool | None] = mapped_column(sa.Boolean)
    # The person who did the initial review: four eyes at the later review stages.
    initial_reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    referred: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    data: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    __table_args__ = (
        sa.ForeignKeyConstraint(["type_code", "stage_code"], ["request_stage.type_code", "request_stage.code"],
                                name="fk_request_stage"),
        sa.CheckConstraint(_in("status", [s.value for s in Status]), name="status"),
        sa.CheckConstraint("(status IN ('completed', 'rejected')) = (closed_at IS NOT NULL)", name="closed_at"),
        sa.CheckConstraint("status IN ('completed', 'rejected') OR met_sla IS NULL", name="met_sla_when_closed"),
        sa.CheckConstraint("status = 'open' OR stage_due_at IS NULL", name="no_due_unless_open"),
        sa.CheckConstraint("(stage_due_at IS NULL) = (stage_risk_at IS NULL) AND stage_risk_at <= stage_due_at "
                           "AND (due_at IS NULL) = (risk_at IS NULL) AND risk_at <= due_at", name="risk_before_due"),
        sa.CheckConstraint("clock_started_at >= submitted_at", name="clock_after_submit"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint("stage_hours_used >= 0 AND process_hours_used >= 0", name="hours"),
        sa.CheckConstraint("length(tracking_code) BETWEEN 10 AND 14 AND tracking_code ~ '^[0-9]+$'", name="tracking_code"),
        # The queue: open requests of a province at a stage, most urgent first.
        sa.Index("ix_request_queue", "province_id", "type_code", "stage_code", "stage_due_at",
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_open_due", "province_id", "stage_due_at", postgresql_where=sa.text("status = 'open'")),
        # Partial codes in the queue's search (0019): the first digits, and the last through reverse().
        sa.Index("ix_request_open_code_prefix", "tracking_code", postgresql_ops={"tracking_code": "text_pattern_ops"},
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_open_code_suffix", sa.func.reverse(sa.literal_column("tracking_code")).label("code_reversed"),
                 postgresql_ops={"code_reversed": "text_pattern_ops"}, postgresql_where=sa.text("status = 'open'")),
        # The group view and "next task" (migration 0008): unclaimed work in due order, filtered on
        # the included columns without visiting the heap; the member for a name search (0021).
        sa.Index("ix_request_unclaimed", "province_id", "stage_due_at", "id",
                 postgresql_include=["type_code", "stage_code", "initial_reviewer_id", "stage_risk_at", "member_id"],
                 postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL")),
        sa.Index("ix_request_assignee", "assignee_id", "stage_due_at", postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_province_submitted", "province_id", "submitted_at"),
        sa.Index("ix_request_open_submitted", "province_id", "submitted_at", postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_province_closed", "province_id", "closed_at"),
        # KPI queries (migration 0007), read index-only: at-risk and breached across provinces, stages
        # that overran their limit before a return, claims per person, cycle times, transfers in.
        sa.Index("ix_request_open_due_all", "stage_due_at", postgresql_include=["stage_risk_at", "province_id"],
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_open_risk", "province_id", "type_code", "stage_code", "stage_risk_at",
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_request_open_used", "province_id", postgresql_include=["type_code", "stage_code", "stage_hours_used", "id"],
                 postgresql_where=sa.text("status = 'open' AND stage_hours_used > 0")),
        sa.Index("ix_request_open_claims", "province_id", "assignee_id",
                 postgresql_where=sa.text("status = 'open' AND assignee_id IS NOT NULL")),
        sa.Index("ix_request_completed_kpi", "province_id", "closed_at",
                 postgresql_include=["type_code", "process_hours_used"],
                 postgresql_where=sa.text("status = 'completed'")),
        sa.Index("ix_request_transfer_in", sa.text("(data->>'destination_province')"), "closed_at",
                 postgresql_where=sa.text("type_code = 'transfer' AND status = 'completed'")),
        # Cycle-time percentiles (0022): one province's, type's and hour's completed requests of a period.
        sa.Index("ix_request_completed_hours", "province_id", "type_code",
                 sa.text("(least(floor(process_hours_used), 32000)::smallint)"), "closed_at",
                 postgresql_include=["process_hours_used"], postgresql_where=sa.text("status = 'completed'")),
    )


class RequestEvent(Base):
    """Append-only: a trigger refuses UPDATE and DELETE."""
    __tablename__ = "request_event"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"))
    at: Mapped[datetime] = mapped_column(TZ)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))  # NULL: member or system
    action: Mapped[str] = mapped_column(sa.Text)
    from_stage: Mapped[str | None] = mapped_column(sa.Text)
    to_stage: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # The request's version this event produced: one state change per version, so no transition is
    # recorded twice. Notes (comments, document verdicts) carry the version they were written at.
    version: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    __table_args__ = (
        sa.Index("uq_request_event_transition", "request_id", "version", unique=True,
                 postgresql_where=sa.text("action NOT IN ('comment', 'document_verdict', 'deadline_recomputed', "
                                          "'fee_assessed')")),
        sa.Index("ix_request_event_request", "request_id", "at"),
        sa.Index("ix_request_event_actor_at", "actor_id", "at", postgresql_where=sa.text("actor_id IS NOT NULL")),
        sa.Index("ix_request_event_at", "at"),
    )


class StageVisit(Base):
    """One row per stay of a request in a clock-running stage: the fact table of SLA KPIs."""
    __tablename__ = "stage_visit"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"), index=True)
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))
    type_code: Mapped[str] = mapped_column(sa.Text)
    stage_code: Mapped[str] = mapped_column(sa.Text)
    entered_at: Mapped[datetime] = mapped_column(TZ)
    due_at: Mapped[datetime | None] = mapped_column(TZ)
    left_at: Mapped[datetime | None] = mapped_column(TZ)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    hours_used: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 4))
    limit_hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 4))   # None: a stage without a limit
    met: Mapped[bool | None] = mapped_column(sa.Boolean)
    __table_args__ = (
        sa.CheckConstraint("(left_at IS NULL) = (outcome IS NULL)", name="closed_has_outcome"),
        sa.Index("uq_stage_visit_open", "request_id", unique=True, postgresql_where=sa.text("left_at IS NULL")),
        # A person's visits of one whole hour of handling time in a period: the exact median per
        # expert reads only the hour that holds it (migration 0009).
        sa.Index("ix_stage_visit_hours", "actor_id", sa.text("(least(floor(hours_used), 32000)::smallint)"), "left_at",
                 postgresql_include=["province_id", "hours_used"],
                 postgresql_where=sa.text("left_at IS NOT NULL AND actor_id IS NOT NULL")),
    )


class AuditEvent(Base):
    """Append-only audit of every write that is not a request transition (tariffs, holidays, staff...)."""
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("province.id"))
    action: Mapped[str] = mapped_column(sa.Text)
    entity: Mapped[str] = mapped_column(sa.Text)
    entity_id: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    # The hash chain (migration 0016, db.audit_chain): set by a trigger, which also assigns the id.
    prev_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, server_default=sa.FetchedValue())
    row_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, server_default=sa.FetchedValue())
    __table_args__ = (sa.Index("ix_audit_event_at", "at"),)


class AuditChainHead(Base):
    """The one row naming the audit chain's last id and hash; only the chain trigger writes it."""
    __tablename__ = "audit_chain_head"
    id: Mapped[bool] = mapped_column(sa.Boolean, primary_key=True, server_default=sa.true())
    last_id: Mapped[int] = mapped_column(sa.BigInteger)
    last_hash: Mapped[bytes] = mapped_column(sa.LargeBinary)
    __table_args__ = (sa.CheckConstraint("id", name="one_row"),)


# --- fees and payments --------------------------------------------------------------------------

class FeeTariff(Base):
    __tablename__ = "fee_tariff"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("province.id"))
    jalali_year: Mapped[int] = mapped_column(sa.SmallInteger)
    entrance_fee: Mapped[int] = mapped_column(sa.BigInteger)
    annual_fee: Mapped[int] = mapped_column(sa.BigInteger)
    card_fee: Mapped[int] = mapped_column(sa.BigInteger)
    licence_issue_fee: Mapped[int] = mapped_column(sa.BigInteger)
    licence_renewal_fee: Mapped[int] = mapped_column(sa.BigInteger)  # per year
    article32_renewal_fee: Mapped[int] = mapped_column(sa.BigInteger)
    rating_fee: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.UniqueConstraint("province_id", "jalali_year"),
        sa.CheckConstraint("jalali_year BETWEEN 1370 AND 1500", name="year"),
        sa.CheckConstraint("entrance_fee >= 0 AND annual_fee >= 0 AND card_fee >= 0 AND licence_issue_fee >= 0 "
                           "AND licence_renewal_fee >= 0 AND article32_renewal_fee >= 0 AND rating_fee >= 0",
                           name="non_negative"),
    )


class DiscountRule(Base):
    """Central council discounts kept as data: members whose validity ended in [from, to] get `percent` off."""
    __tablename__ = "discount_rule"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name_fa: Mapped[str] = mapped_column(sa.Text)
    valid_end_year_from: Mapped[int] = mapped_column(sa.SmallInteger)
    valid_end_year_to: Mapped[int] = mapped_column(sa.SmallInteger)
    percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    __table_args__ = (
        sa.CheckConstraint("valid_end_year_from <= valid_end_year_to", name="range"),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name="percent"),
    )


class FeeAssessment(Base):
    """An expert's (or the tariff's) fee determination. Immutable: a correction is a new version with a
    reason; only finance's mark (finance_status, finance_by, finance_at) may change afterwards."""
    __tablename__ = "fee_assessment"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"))
    version: Mapped[int] = mapped_column(sa.Integer)
    tariff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_tariff.id"))
    lines: Mapped[list] = mapped_column(JSONB, server_default="[]")
    prior_debt: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    total: Mapped[int] = mapped_column(sa.BigInteger)
    years: Mapped[int | None] = mapped_column(sa.SmallInteger)
    new_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    finance_status: Mapped[str] = mapped_column(sa.Text, server_default="not_required")
    finance_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    finance_at: Mapped[datetime | None] = mapped_column(TZ)
    __table_args__ = (
        sa.UniqueConstraint("request_id", "version"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint("prior_debt >= 0 AND total >= 0", name="non_negative"),
        sa.CheckConstraint("version = 1 OR coalesce(reason, '') <> ''", name="correction_reason"),
        sa.CheckConstraint(_in("finance_status", ("not_required", "pending", "approved", "rejected")),
                           name="finance_status"),
        # "Has any assessment used this tariff (row or year)?" for the tariff screen.
        sa.Index("ix_fee_assessment_tariff_id", "tariff_id"),
        sa.Index("ix_fee_assessment_lines", "lines", postgresql_using="gin",
                 postgresql_ops={"lines": "jsonb_path_ops"}),
        # A trigger (migration 0005) refuses DELETE and any UPDATE but finance's mark.
    )


class Payment(Base):
    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_assessment.id"))
    bank_reference: Mapped[str] = mapped_column(sa.Text, unique=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    paid_at: Mapped[datetime] = mapped_column(TZ)
    source: Mapped[str] = mapped_column(sa.Text, server_default="manual")
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount"),
        sa.CheckConstraint(_in("source", ("manual", "gateway_csv", "demo")), name="source"),
        sa.CheckConstraint("length(bank_reference) BETWEEN 6 AND 40 AND bank_reference ~ '^[A-Za-z0-9-]+$'",
                           name="bank_reference"),
        sa.Index("ix_payment_paid_at", "paid_at"),
    )


# --- transparency -------------------------------------------------------------------------------

class StatRelease(Base):
    """A board release of statistics. Once published, a trigger refuses any change."""
    __tablename__ = "stat_release"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text)
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("province.id"))
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    tables: Mapped[list] = mapped_column(JSONB, server_default="[]")
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    composed_by: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"))
    composed_at: Mapped[datetime] = mapped_column(TZ, server_default=sa.func.now())
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    published_at: Mapped[datetime | None] = mapped_column(TZ)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stat_release.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    snapshot: Mapped[dict | None] = mapped_column(JSONB)
    __table_args__ = (
        sa.CheckConstraint(_in("status", ("draft", "published")), name="status"),
        sa.CheckConstraint("period_from <= period_to", name="period"),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> composed_by", name="four_eyes"),
        sa.CheckConstraint("status <> 'published' OR (approved_by IS NOT NULL AND published_at IS NOT NULL "
                           "AND snapshot IS NOT NULL)", name="published_complete"),
    )


# --- KPI rollups (migration 0007) ---------------------------------------------------------------
# Kept by statement-level triggers on stage_visit, request and payment in the same transaction as
# each change; rebuilt from those tables by kpi_rebuild() after bulk loads (kpi_state.dirty).
# A day is a Tehran calendar day. Triggers only INSERT delta rows (delta_id > 0), so decisions never
# wait on a shared rollup row; readers sum every row of a key, and kpi_compact() folds the deltas
# into the key's base row (delta_id = 0). No foreign keys: the rows are derived.

class KpiState(Base):
    __tablename__ = "kpi_state"
    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    dirty: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    rebuilt_at: Mapped[datetime | None] = mapped_column(TZ)
    compacted_upto: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # kpi_delta_seq at compaction
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


def _count() -> Mapped[int]:
    return mapped_column(sa.Integer, server_default="0")


def _key(type_=sa.Text) -> Mapped:
    return mapped_column(type_, primary_key=True, autoincrement=False)


def _delta_id() -> Mapped[int]:
    return mapped_column(sa.BigInteger, primary_key=True, autoincrement=False, server_default="0")


def _delta_index(table: str) -> sa.Index:
    return sa.Index(f"ix_{table}_delta_id", "delta_id", postgresql_where=sa.text("delta_id > 0"))


class KpiVisitHours(Base):
    """Finished visits per province, person, day left and whole hour of handling time (0009)."""
    __tablename__ = "kpi_visit_hours"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    actor_id: Mapped[int] = _key(sa.BigInteger)
    day: Mapped[date] = _key(sa.Date)
    hour: Mapped[int] = _key(sa.SmallInteger)
    delta_id: Mapped[int] = _delta_id()
    decisions: Mapped[int] = _count()
    verdicts: Mapped[int] = _count()
    met: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_visit_hours"),)


class KpiVisitDay(Base):
    """Finished stage visits per province, day left, type and stage."""
    __tablename__ = "kpi_visit_day"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    day: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    stage_code: Mapped[str] = _key()
    delta_id: Mapped[int] = _delta_id()
    decisions: Mapped[int] = _count()   # every finished visit (approve, reject, return, complete...)
    verdicts: Mapped[int] = _count()    # finished with a met/missed verdict (returns are pauses)
    met: Mapped[int] = _count()
    returns: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_visit_day"),)


class KpiRequestDay(Base):
    """Closed requests per province, day closed, type and status."""
    __tablename__ = "kpi_request_day"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    day: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    status: Mapped[str] = _key()
    delta_id: Mapped[int] = _delta_id()
    closed: Mapped[int] = _count()
    met: Mapped[int] = _count()
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(16, 4), server_default="0")
    __table_args__ = (_delta_index("kpi_request_day"),)


class KpiDay(Base):
    """Per province and day: what the monthly trends and the analytics page add up."""
    __tablename__ = "kpi_day"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    day: Mapped[date] = _key(sa.Date)
    delta_id: Mapped[int] = _delta_id()
    visit_verdicts: Mapped[int] = _count()
    visit_met: Mapped[int] = _count()
    requests_closed: Mapped[int] = _count()   # closed and judged against a process total (0015)
    requests_met: Mapped[int] = _count()
    payments: Mapped[int] = _count()
    payments_amount: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    renewals_paid: Mapped[int] = _count()
    renewals_amount: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    transfers_out: Mapped[int] = _count()
    transfers_in: Mapped[int] = _count()   # by destination province
    licences_issued: Mapped[int] = _count()
    licences_renewed: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_day"),)


class KpiOpenDay(Base):
    """Open requests per province, type, stage, Tehran day of the stage deadline and of the moment
    it turns at risk ('infinity': the clock is stopped, i.e. returned to the member or at the
    member's own stage)."""
    __tablename__ = "kpi_open_day"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    type_code: Mapped[str] = _key()
    stage_code: Mapped[str] = _key()
    due_day: Mapped[date] = _key(sa.Date)
    risk_day: Mapped[date] = _key(sa.Date)
    delta_id: Mapped[int] = _delta_id()
    n: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_open_day"),)


class KpiLicenceDay(Base):
    """Completed work-licence issues and renewals per province, day, type, field and grade (0: none)."""
    __tablename__ = "kpi_licence_day"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    day: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    field: Mapped[str] = _key()
    grade: Mapped[int] = _key(sa.SmallInteger)
    delta_id: Mapped[int] = _delta_id()
    n: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_licence_day"),)


# --- Month level of the KPI rollups (migration 0022) ---------------------------------------------
# The same sums as the daily tables per Jalali month (`month`: its first Gregorian day,
# jalali_month_start(day)), kept by a trigger on each daily table from the delta rows the fact
# triggers add there; rebuilt from the daily tables by kpi_rebuild(). A period sums its whole months
# here and its partial months at either end from the daily tables.

class KpiVisitMonth(Base):
    __tablename__ = "kpi_visit_month"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    month: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    stage_code: Mapped[str] = _key()
    delta_id: Mapped[int] = _delta_id()
    decisions: Mapped[int] = _count()
    verdicts: Mapped[int] = _count()
    met: Mapped[int] = _count()
    returns: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_visit_month"),)


class KpiRequestMonth(Base):
    __tablename__ = "kpi_request_month"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    month: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    status: Mapped[str] = _key()
    delta_id: Mapped[int] = _delta_id()
    closed: Mapped[int] = _count()
    met: Mapped[int] = _count()
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(16, 4), server_default="0")
    __table_args__ = (_delta_index("kpi_request_month"),)


class KpiMonth(Base):
    __tablename__ = "kpi_month"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    month: Mapped[date] = _key(sa.Date)
    delta_id: Mapped[int] = _delta_id()
    visit_verdicts: Mapped[int] = _count()
    visit_met: Mapped[int] = _count()
    requests_closed: Mapped[int] = _count()
    requests_met: Mapped[int] = _count()
    payments: Mapped[int] = _count()
    payments_amount: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    renewals_paid: Mapped[int] = _count()
    renewals_amount: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    transfers_out: Mapped[int] = _count()
    transfers_in: Mapped[int] = _count()
    licences_issued: Mapped[int] = _count()
    licences_renewed: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_month"),)


class KpiVisitHoursMonth(Base):
    __tablename__ = "kpi_visit_hours_month"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    actor_id: Mapped[int] = _key(sa.BigInteger)
    month: Mapped[date] = _key(sa.Date)
    hour: Mapped[int] = _key(sa.SmallInteger)
    delta_id: Mapped[int] = _delta_id()
    decisions: Mapped[int] = _count()
    verdicts: Mapped[int] = _count()
    met: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_visit_hours_month"),)


class KpiCycleMonth(Base):
    """Completed requests per province, Jalali month closed, type and whole hour of process time:
    where each rank of the cycle-time percentiles lies (kept by a trigger on request)."""
    __tablename__ = "kpi_cycle_month"
    province_id: Mapped[int] = _key(sa.SmallInteger)
    month: Mapped[date] = _key(sa.Date)
    type_code: Mapped[str] = _key()
    hour: Mapped[int] = _key(sa.SmallInteger)
    delta_id: Mapped[int] = _delta_id()
    n: Mapped[int] = _count()
    __table_args__ = (_delta_index("kpi_cycle_month"),)
