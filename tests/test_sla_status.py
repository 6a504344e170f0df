"""SLA status in SQL agrees with the calendar's own rule (less than a quarter of the time left is
"at risk"), for every open request at many moments."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from db.models import Request
from domain.calendar import BusinessCalendar, SlaStatus, open_status
from domain.jalali import TEHRAN
from domain.reference import TEHRAN_ID
from logic import workflow as wf
from logic.sla_sql import request_status, stage_status, status_filter
from tests.factories import file_request, make_member, make_staff

CAL = BusinessCalendar()
SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)


def test_sql_status_matches_the_calendar_rule(db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    ids = []
    for i, type_code in enumerate(["new_membership", "rating", "transfer", "licence_issue", "card_reissue"]):
        ids.append(file_request(db, make_member(db, TEHRAN_ID), type_code,
                             submitted_at=SAT_0800 + timedelta(minutes=37 * i)).request_id)
    wf.return_for_correction(db, expert, ids[2], 1, "نقص مدارک", now=SAT_0800 + timedelta(hours=3))
    seen = set()
    for minutes in range(0, 60 * 24 * 6, 45):
        now = SAT_0800 + timedelta(minutes=minutes)
        with db.connect() as c:
            rows = c.execute(sa.select(Request.id, Request.type_code, Request.stage_code, Request.stage_due_at,
                                       stage_status(now), request_status(now)).where(Request.id.in_(ids))).all()
            for status in (SlaStatus.BREACHED, SlaStatus.AT_RISK, SlaStatus.ON_TIME, SlaStatus.PAUSED):
                filtered = set(c.scalars(sa.select(Request.id).where(Request.id.in_(ids),
                                                                     status_filter(now, status))))
                assert filtered == {r.id for r in rows if r[4] == status.value}
        for r in rows:
            from domain.processes import process
            stage = process(r.type_code).stage(r.stage_code)
            limit = (stage.limit_days or 0) * CAL.day_hours
            expected = open_status(CAL, now, r.stage_due_at, limit)
            assert r[4] == expected.value, (r, now)
            seen.add(r[4])
    assert seen == {"on_time", "at_risk", "breached", "paused"}
