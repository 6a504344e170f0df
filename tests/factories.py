"""Small builders for test data, written through plain SQL so tests don't depend on the services
they test."""
from __future__ import annotations

import functools

import bcrypt
import sqlalchemy as sa

from logic.auth import Actor

PASSWORD = "Demo@1404"


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def make_staff(engine: sa.Engine, username: str, roles: list[str], province_id: int | None,
               full_name: str | None = None, password: str = PASSWORD) -> Actor:
    full_name = full_name or f"کاربر {username}"
    with engine.begin() as conn:
        uid = conn.execute(
            sa.text("INSERT INTO staff_user (username, full_name, password_hash, roles, province_id) "
                    "VALUES (:u, :n, :h, :r, :p) RETURNING id"),
            {"u": username, "n": full_name, "h": password_hash(password), "r": roles, "p": province_id},
        ).scalar_one()
    return Actor(uid, username, full_name, frozenset(roles), province_id)


_member_seq = iter(range(100_000_000, 999_999_999, 7919))


def make_member(engine: sa.Engine, province_id: int, *, status: str = "active", field: str = "civil",
                valid_until=None, first_name: str = "مریم", last_name: str = "احمدی",
                birth_province_id: int | None = None, mobile: str | None = None) -> int:
    from logic.national_id import make_national_id
    nid = make_national_id(f"{next(_member_seq):09d}")
    membership_no = None if status == "applicant" else f"T-{nid}"
    birth = birth_province_id or province_id
    with engine.begin() as conn:
        mid = conn.execute(sa.text(
            "INSERT INTO member (national_id, membership_no, first_name, last_name, gender, birth_province_id, "
            "province_id, field, grade, status, valid_until, residence_proof) VALUES (:nid, :no, :fn, :ln, 'f', "
            ":bp, :p, :f, :g, :st, :vu, :rp) RETURNING id"),
            {"nid": nid, "no": membership_no, "fn": first_name, "ln": last_name, "bp": birth, "p": province_id,
             "f": field, "g": None if status == "applicant" else 3, "st": status, "vu": valid_until,
             "rp": None if birth == province_id else "insurance_list"}).scalar_one()
        if mobile:
            conn.execute(sa.text("INSERT INTO contact (member_id, kind, value) VALUES (:m, 'mobile', :v)"),
                         {"m": mid, "v": mobile})
    return mid


def make_assessment(engine: sa.Engine, request_id: int, total: int, *, new_valid_until=None,
                    finance_status: str = "not_required", version: int = 1, reason: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO fee_assessment (request_id, version, total, new_valid_until, finance_status, reason) "
            "VALUES (:r, :v, :t, :nv, :fs, :reason) RETURNING id"),
            {"r": request_id, "v": version, "t": total, "nv": new_valid_until, "fs": finance_status,
             "reason": reason}).scalar_one()
