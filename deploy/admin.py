"""Create the first administrator of a production database, asking for the password at the console
(never on the command line, where it would stay in the shell's history):

    python -m deploy.admin --username admin --full-name "نام مدیر"
"""
from __future__ import annotations

import argparse
import getpass
import sys

from db.engine import database_url, make_engine
from domain.errors import DomainError
from logic.staff import create_first_admin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.admin", description=__doc__.splitlines()[0])
    parser.add_argument("--username", required=True)
    parser.add_argument("--full-name", required=True)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    password = getpass.getpass("گذرواژهٔ مدیر: ")
    if getpass.getpass("تکرار گذرواژه: ") != password:
        print("دو گذرواژه یکی نیستند؛ چیزی ساخته نشد.", file=sys.stderr)
        return 2
    engine = make_engine(args.database_url or database_url())
    try:
        create_first_admin(engine, username=args.username, full_name=args.full_name, password=password)
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"مدیر «{args.username}» ساخته شد.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
