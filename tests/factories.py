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
