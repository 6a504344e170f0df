"""`python -m db.migrate [upgrade|downgrade] [revision]`: apply the Alembic migrations."""
from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config(str(INI))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine | None = None, revision: str = "head") -> None:
    if engine is None:
        command.upgrade(alembic_config(), revision)
        return
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: sa.Engine | None = None, revision: str = "base") -> None:
    if engine is None:
        command.downgrade(alembic_config(), revision)
        return
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def main(argv: list[str]) -> None:
    action = argv[0] if argv else "upgrade"
    if action == "upgrade":
        upgrade(revision=argv[1] if len(argv) > 1 else "head")
    elif action == "downgrade":
        downgrade(revision=argv[1] if len(argv) > 1 else "base")
    else:
        raise SystemExit("usage: python -m db.migrate [upgrade|downgrade] [revision]")
    print(f"migrations: {action} done")


if __name__ == "__main__":
    main(sys.argv[1:])
