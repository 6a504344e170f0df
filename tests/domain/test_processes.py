"""The process definitions hold together as data: stages, roles, limits, checklists, conditions,
effects and fees (seed 002 for the stages; DOMAIN.md for the fees)."""
from __future__ import annotations

import pytest

from domain import processes as p
from domain.fees import ITEM_LABELS_FA, tariff_fee
from domain.processes import PROCESSES, STAFF_ACTIONS, STAGE_INDEX, FeeRule, StageKind, done_action

ALL_STAGES = [(proc, s) for proc in PROCESSES.values() for s in proc.stages]


@pytest.mark.parametrize("type_code", list(PROCESSES))
def test_every_type_has_unique_stages_and_a_total_no_smaller_than_its_stages(type_code):
    proc = PROCESSES[type_code]
    codes = [s.code for s in proc.stages]
    assert len(codes) == len(set(codes))
    if proc.total_limit_days is not None:
        assert proc.total_limit_days >= max(1, sum(s.limit_days or 0 for s in proc.stages))
    assert all(STAGE_INDEX[(type_code, c)] == (proc, proc.stage(c), i) for i, c in enumerate(codes))
    # Four eyes needs someone to compare with: an initial reviewer earlier in the same process.
    for i, s in enumerate(proc.stages):
        if s.four_eyes:
            assert any(x.records_reviewer for x in proc.stages[:i])


H = p.LESS_THAN_A_DAY  # «کمتر از ۱ روز»
# Seed 002's figures, chart by chart: the process total and each staff stage's limit (None: the chart
# gives none). Every figure below is quoted with its sentence in docs/DOMAIN.md.
SEED_LIMITS = {
    "new_membership": (5, {"initial_review": 1, "final_review": 1, "head_approval": 1, "card_issue": 2}),
    "legacy_registration": (2, {"initial_review": 1, "final_review": 1}),
    "membership_renewal": (None, {"fee_determination": None, "finance_approval": None}),   # «زمانبری ... صفر»
    "transfer": (1, {"initial_review": H, "final_review": H, "head_approval": None}),
    "card_reissue": (2, {"card_issue": 2}),
    "rating": (14, {"initial_review": 3, "supervisory_review": 2, "central_review": None,
                    "specialised_committee": None, "final_review": 1}),
    "rating_registration": (1, {"initial_review": H, "final_review": H}),
    "rating_correction": (1, {"initial_review": H, "final_review": H}),
    "licence_issue": (14, {"initial_review": 1, "final_review": 1, "licence_committee": 10, "licence_print": None}),
    "licence_renewal": (None, {"initial_review": H, "final_review": H, "licence_committee": 10,
                               "licence_print": None}),
    "article32_renewal": (None, {"initial_review": H, "final_review": H, "card_issue": H}),
}


def test_the_time_limits_are_the_seeds_and_none_is_invented():
    assert set(SEED_LIMITS) == set(PROCESSES)
    for code, (total, stages) in SEED_LIMITS.items():
        proc = PROCESSES[code]
        assert proc.total_limit_days == total, code
        assert {s.code: s.limit_days for s in proc.stages if s.clock_runs} == stages, code


def test_limits_read_as_the_seed_writes_them():
    assert p.limit_fa(None) == "بدون مهلت مصوب"
    assert p.limit_fa(p.LESS_THAN_A_DAY) == "کمتر از ۱ روز"
    assert p.limit_fa(10) == "۱۰ روز کاری"


def test_staff_stages_have_a_role_and_actions_member_stages_have_neither_nor_a_limit():
    for proc, s in ALL_STAGES:
        if s.kind in p.MEMBER_KINDS:
            assert s.role is None and s.limit_days is None and not s.clock_runs
        else:
            assert s.role is not None and s.clock_runs and STAFF_ACTIONS[s.kind]
        if s.kind in (StageKind.REVIEW, StageKind.FEE, StageKind.DECISION, StageKind.COMMITTEE):
            assert s.checklist, (proc.code, s.code)


def test_the_event_of_leaving_a_stage_forward_follows_its_kind():
    assert {done_action(s) for _, s in ALL_STAGES if s.kind is StageKind.COMMITTEE} == {"committee_decision"}
    assert {done_action(s) for _, s in ALL_STAGES if s.kind is StageKind.ISSUE} == {"complete"}
    assert {done_action(s) for _, s in ALL_STAGES if s.kind is StageKind.PAYMENT} == {"payment_confirmed"}
    assert {done_action(s) for _, s in ALL_STAGES if s.kind is StageKind.REVIEW} == {"approve"}


def test_every_effect_named_is_known_and_every_known_effect_is_used():
    named = {e for _, s in ALL_STAGES for e in s.on_enter + s.on_done + s.on_reject}
    assert named == p.EFFECTS


def test_payment_stages_take_their_fee_from_the_tariff_and_only_a_renewal_extends_validity():
    for proc, s in ALL_STAGES:
        if s.kind is StageKind.PAYMENT:
            assert s.on_enter == (p.ASSESS_FROM_TARIFF,)
    extending = [proc.code for proc, s in ALL_STAGES if p.EXTEND_VALIDITY in s.on_done]
    assert extending == ["membership_renewal"]
    admitting = [(proc.code, s.code) for proc, s in ALL_STAGES if p.GRANT_MEMBERSHIP_NO in s.on_done]
    assert admitting == [("new_membership", "head_approval")]


def test_fee_rules_and_tariff_items_are_consistent():
    for proc in PROCESSES.values():
        has_fee_stage = any(s.kind is StageKind.FEE for s in proc.stages)
        assert (proc.fee_rule is not None) == has_fee_stage, proc.code
        assert set(proc.fee_items) <= set(ITEM_LABELS_FA)
        if proc.fee_items:
            assert any(s.kind is StageKind.PAYMENT for s in proc.stages)
    assert PROCESSES["membership_renewal"].fee_rule is FeeRule.MEMBERSHIP_YEARS
    assert PROCESSES["licence_renewal"].fee_rule is FeeRule.LICENCE_YEARS
    assert [c for c, proc in PROCESSES.items() if proc.renewal_window] == ["membership_renewal"]


def test_a_new_member_pays_entrance_annual_fee_and_card_for_this_years_validity():
    tariff = {"entrance_fee": 20_000_000, "annual_fee": 5_000_000, "card_fee": 1_500_000}
    fee = tariff_fee(PROCESSES["new_membership"], tariff, 1405)
    assert [line["item"] for line in fee.lines] == ["entrance_fee", "annual_fee", "card_fee"]
    assert fee.total == 26_500_000 and fee.years == 1
    assert fee.new_valid_until.isoformat() == "2027-03-20"  # 1405/12/29
    assert fee.note_fa == "بر اساس تعرفهٔ سال ۱۴۰۵"
    card = tariff_fee(PROCESSES["card_reissue"], {"card_fee": 1_500_000}, 1405)
    assert (card.total, card.years, card.new_valid_until) == (1_500_000, None, None)
    assert tariff_fee(PROCESSES["membership_renewal"], tariff, 1405) is None  # the expert sets it
