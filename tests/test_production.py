"""What production refuses (deploy/serve.py runs these checks before it starts anything) and the
first administrator, made from the console."""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from demo import DEMO_PASSWORD
from deploy import admin as admin_cli
from domain.errors import Conflict, ValidationError
from domain.reference import TEHRAN_ID
from logic.production import KNOWN_DEMO_PASSWORDS, config_problems, database_problems
from logic.staff import create_first_admin
from tests.factories import make_staff

STRONG = "Kq7#mZ2!vR9x"


def test_the_demo_password_is_the_one_production_looks_for():
    assert DEMO_PASSWORD in KNOWN_DEMO_PASSWORDS


@pytest.mark.parametrize("mode, key, found", [
    ("demo", "f3a9" * 16, "APP_MODE=production"),
    (None, None, "COOKIE_KEY"),
    ("production", "a" * 40, "COOKIE_KEY"),
])
def test_production_refuses_demo_mode_and_weak_cookie_keys(mode, key, found):
    problems = config_problems(mode, key)
    assert problems and any(found in p for p in problems)


def test_a_strong_key_in_production_mode_passes():
    assert config_problems("production", "9c4e1f0b7a2d58e3c6b1f4a7d0e9c2b5") == []


def test_accounts_with_the_demo_password_and_no_administrator_are_refused(db):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)                      # the demo password
    make_staff(db, "isfahan.expert", ["expert"], TEHRAN_ID, password=STRONG)
    problems = database_problems(db)
    assert any("tehran.expert" in p and "isfahan.expert" not in p for p in problems)
    assert any("deploy.admin" in p for p in problems)


def test_a_database_with_an_administrator_and_own_passwords_passes(db):
    make_staff(db, "chief", ["admin"], None, password=STRONG)
    assert database_problems(db) == []


def test_the_first_administrator_is_made_once_and_audited(db):
    uid = create_first_admin(db, username="chief", full_name="مدیر سامانه", password=STRONG)
    with db.connect() as c:
        row = c.execute(sa.text("SELECT roles, province_id FROM staff_user WHERE id = :i"), {"i": uid}).one()
        audit = c.execute(sa.text("SELECT action, actor_id FROM audit_event WHERE entity_id = :i"),
                          {"i": str(uid)}).one()
    assert (row.roles, row.province_id) == (["admin"], None)
    assert (audit.action, audit.actor_id) == ("first_admin_created", None)
    with pytest.raises(Conflict):
        create_first_admin(db, username="second", full_name="مدیر دوم", password=STRONG)


def test_a_weak_first_password_is_refused_and_nothing_is_made(db):
    with pytest.raises(ValidationError):
        create_first_admin(db, username="chief", full_name="مدیر سامانه", password="12345678")
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM staff_user")).scalar_one() == 0


def test_the_console_asks_twice_and_never_takes_the_password_as_an_argument(db, db_url, monkeypatch, capsys):
    answers = iter([STRONG, STRONG + "x"])
    monkeypatch.setattr(admin_cli.getpass, "getpass", lambda prompt="": next(answers))
    assert admin_cli.main(["--username", "chief", "--full-name", "مدیر سامانه", "--database-url", db_url]) == 2
    assert "یکی نیستند" in capsys.readouterr().err
    answers = iter([STRONG, STRONG])
    assert admin_cli.main(["--username", "chief", "--full-name", "مدیر سامانه", "--database-url", db_url]) == 0
    with db.connect() as c:
        assert c.execute(sa.text("SELECT username FROM staff_user")).scalar_one() == "chief"
