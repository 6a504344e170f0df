"""A small world with something on every page (requests at several stages with documents, a paid
renewal, a payment awaiting finance, a member with a full profile, official holidays, a published
release, audit events), for the Latin-letter walk and the RTL browser test."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from domain.jalali import TEHRAN, now_tehran, to_jalali
from domain.reference import TEHRAN_ID
from domain.roles import Role
from domain.text import to_persian_digits as fa
from logic import holidays, releases
from logic import workflow as wf
from tests.factories import (ALL_TABLES, add_document, file_request, make_full_member, make_member, make_staff,
                             req_row, step, tiny_pdf, tiny_png, validity_for)

TARIFF = ("INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
          "licence_renewal_fee, article32_renewal_fee, rating_fee) VALUES (:p, :y, 5000000, 20000000, 1000000, "
          "3000000, 2000000, 2500000, 4000000) ON CONFLICT DO NOTHING")


def build(engine) -> dict:
    """Returns the usernames by role, a request code per purpose, and the full member's id."""
    now = now_tehran()
    year = to_jalali(now).year
    with engine.begin() as c:
        for y in (year - 1, year, year + 1):
            c.execute(sa.text(TARIFF), {"p": TEHRAN_ID, "y": y})
    users = {r.value: f"walk.{r.value}" for r in Role}
    actors = {r: make_staff(engine, users[r], [r], None if r == "central_expert" else TEHRAN_ID, f"کاربر {fa(i)}")
              for i, r in enumerate(users, start=1)}
    drivers = {"expert": actors["expert"], "final": actors["final_reviewer"], "head": actors["head"],
               "finance": actors["finance"], "committee": actors["committee"], "rating": actors["rating_committee"],
               "central": actors["central_expert"],
               "expert2": make_staff(engine, "walk.expert2", ["expert", "final_reviewer"], TEHRAN_ID, "کاربر دوم")}
    start = now - timedelta(days=6)
    clock = [start]

    def at_stage(type_code: str, stage: str | None, **member) -> str:
        member.setdefault("valid_until", validity_for(type_code))
        mid = make_member(engine, TEHRAN_ID, **member)
        out = file_request(engine, mid, type_code, submitted_at=clock[0])
        while stage is not None and req_row(engine, out.request_id)["stage_code"] != stage:
            clock[0] += timedelta(minutes=7)
            step(engine, drivers, out.request_id, clock[0], refer=stage == "specialised_committee")
        return out.tracking_code, out.request_id

    codes = {}
    codes["new"], new_id = at_stage("new_membership", None, status="applicant", first_name="زهرا", last_name="کریمی")
    add_document(engine, new_id, tiny_png(), "image/png", "national_card")
    add_document(engine, new_id, tiny_pdf(), "application/pdf", "degree")
    wf.comment(engine, actors["expert"], new_id, "تماس گرفته شد.", now=clock[0])
    codes["final"], _ = at_stage("transfer", "final_review")
    codes["finance"], _ = at_stage("membership_renewal", "finance_approval")
    codes["committee"], _ = at_stage("licence_issue", "licence_committee")
    codes["central"], _ = at_stage("card_reissue", "card_issue")
    codes["paid"], paid_id = at_stage("licence_issue", "initial_review")
    # A payment at 02:23 Tehran time (the gateway's night batch): its time must read ۰۲:۲۳.
    night = datetime.combine(clock[0].date(), time(2, 23), TEHRAN)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE payment SET paid_at = :t WHERE request_id = :r"), {"t": night, "r": paid_id})
    codes["returned"], ret_id = at_stage("membership_renewal", None)
    wf.return_for_correction(engine, actors["expert"], ret_id, req_row(engine, ret_id)["version"],
                             "تصویر کارت ملی ناخواناست.", now=clock[0] + timedelta(minutes=3))
    member_id = make_full_member(engine)["id"]
    holidays.load_official_holidays(engine, None, [now.year - 1, now.year, now.year + 1])
    holidays.update_office_hours(engine, actors["admin"], TEHRAN_ID, workdays=[5, 6, 0, 1, 2],
                                 opens=time(7, 30), closes=time(14, 30))
    rid = releases.compose(engine, actors["board"], title="آمار خدمات دو ماه گذشته", province_id=TEHRAN_ID,
                           period_from=(now - timedelta(days=60)).date(), period_to=(now - timedelta(days=1)).date(),
                           tables=ALL_TABLES, note="برای آزمون").release_id
    board2 = make_staff(engine, "walk.board2", ["board"], TEHRAN_ID, "کاربر هیأت دوم")
    releases.approve_and_publish(engine, board2, rid)
    return {"users": users, "codes": codes, "member_id": member_id, "release_id": rid}
