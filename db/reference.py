"""Reference rows every database needs: provinces, their settings, the process definitions and the
central council's discount rule. Idempotent: run by the migrations and safe to run again."""
from __future__ import annotations

import json
import sqlalchemy as sa

from domain.processes import PROCESSES, limit_decimal
from domain.reference import PROVINCES


def sync_reference_data(conn: sa.Connection) -> None:
    conn.execute(
        sa.text("INSERT INTO province (id, code, name_fa) VALUES (:id, :code, :name) "
                "ON CONFLICT (id) DO UPDATE SET code = excluded.code, name_fa = excluded.name_fa"),
        [{"id": pid, "code": code, "name": name} for pid, code, name in PROVINCES],
    )
    conn.execute(sa.text("INSERT INTO province_setting (province_id) SELECT id FROM province "
                         "ON CONFLICT DO NOTHING"))
    for order, proc in enumerate(PROCESSES.values(), start=1):
        conn.execute(
            sa.text("INSERT INTO request_type (code, name_fa, total_limit_days, sort_order) "
                    "VALUES (:c, :n, :t, :o) ON CONFLICT (code) DO UPDATE SET name_fa = excluded.name_fa, "
                    "total_limit_days = excluded.total_limit_days, sort_order = excluded.sort_order"),
            {"c": proc.code, "n": proc.name_fa, "t": proc.total_limit_days, "o": order},
        )
        # Sequence numbers are shifted out of the way first so reordering stages never collides.
        conn.execute(sa.text("UPDATE request_stage SET seq = seq + 1000 WHERE type_code = :c"), {"c": proc.code})
        for seq, st in enumerate(proc.stages, start=1):
            conn.execute(
                sa.text("INSERT INTO request_stage (type_code, code, seq, name_fa, kind, role, limit_days, "
                        "clock_runs, optional, checklist) VALUES (:t, :c, :s, :n, :k, :r, :l, :cr, :o, "
                        "CAST(:cl AS jsonb)) ON CONFLICT (type_code, code) DO UPDATE SET seq = excluded.seq, "
                        "name_fa = excluded.name_fa, kind = excluded.kind, role = excluded.role, "
                        "limit_days = excluded.limit_days, clock_runs = excluded.clock_runs, "
                        "optional = excluded.optional, checklist = excluded.checklist"),
                {"t": proc.code, "c": st.code, "s": seq, "n": st.name_fa, "k": st.kind.value,
                 "r": st.role.value if st.role else None, "l": limit_decimal(st.limit_days), "cr": st.clock_runs,
                 "o": st.optional.value if st.optional else None,
                 "cl": json.dumps(list(st.checklist), ensure_ascii=False)},
            )
    has_rule = conn.execute(sa.text("SELECT count(*) FROM discount_rule")).scalar()
    if not has_rule:
        conn.execute(sa.text(
            "INSERT INTO discount_rule (name_fa, valid_end_year_from, valid_end_year_to, percent) VALUES "
            "('مصوبهٔ شورای مرکزی: اعتبار پایان‌یافته بین ۱۳۸۱ تا ۱۳۸۸', 1381, 1388, 5)"))
