"""Every request's history, replayed through `domain.machine.decide`.

A request's plan (`demo.plan`) says who does what when; each step here is one call of `decide`
with the state the previous step left, the facts the services would read and the province's
calendar, and the rows are written from the `Transition` it returns, as `logic.workflow.apply`
writes them: the effects of leaving the stage (`t.effects`), the stage visit closed and the one
opened, the event (at the new state's version), then `t.effects_after_event`; the request row is
the final state, its deadlines `domain.clock.deadlines`. Each effect name of `domain.processes` has
one bulk handler here (`Histories._effects`), the loader's counterpart of `logic.effects`, which
appends rows or changes the chunk's members. What the rules compute (fees, numbers, codes) comes
from the domain's functions; only the random choices are the loader's (and the expert's fee
determination at a fee stage, which is not a transition, is written here before the approval).
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial

from demo.context import JALALI, TARIFF_YEARS, jalali_year
from demo.rows import DIGITS4, NULL, data_text, flat_json, json_text, opt, ts_us, units_text
from domain import outcomes as o
from domain import processes as p
from domain.calendar import from_wall
from domain.clock import HOUR_UNITS, deadlines
from domain.errors import ValidationError
from domain.fees import check_licence_years, licence_renewal_lines, renewal_quote, tariff_fee
from domain.identifiers import membership_number, tracking_code
from domain.jalali import to_gregorian
from domain.machine import CLAIM, PAYMENT_CONFIRMED, SUBMIT, Action, Facts, RequestState, decide
from domain.processes import PROCESSES, STAGE_INDEX, Status
from domain.reference import ADMISSION_GRADE

_SUBMIT = Action(SUBMIT)
_action = partial(tuple.__new__, Action)  # Action(...) positionally, without its generated __new__
_DECLARES = {code: o.declares(proc.effects) for code, proc in PROCESSES.items()}  # read per request
_CLAIM = Action(CLAIM)
_MET = {None: NULL, True: "t", False: "f"}
# The kinds of licence a member holds, by (holds a work licence, holds an Article 32 licence).
_HELD = {(work, a32): frozenset(kind for kind, flag in (("work", work), ("article32", a32)) if flag)
         for work in (False, True) for a32 in (False, True)}
_NOTHING_HELD = _HELD[(False, False)]
_STATUS = {status: status.value for status in Status}  # plain text: formatting an enum is slow


class Assessment:
    """A fee assessment row, written once the request's history is complete (finance may mark it).

    `lines` and `extra` are JSON texts: the assessment's lines, and what logic.assessments adds to
    its event's data. `created_at` and `finance_at` are wall times.
    """
    __slots__ = ("rid", "tariff_id", "lines", "prior_debt", "total", "years", "new_valid", "note", "created_by",
                 "created_at", "finance", "finance_by", "finance_at", "extra")

    def __init__(self, rid: int, tariff_id: int, lines: str, prior_debt: int, total: int, years: int | None,
                 new_valid: date | None, note: str | None, created_by: int | None, created_at: int,
                 finance: str, extra: str) -> None:
        self.rid, self.tariff_id, self.lines, self.prior_debt, self.total = rid, tariff_id, lines, prior_debt, total
        self.years, self.new_valid, self.note = years, new_valid, note
        self.created_by, self.created_at, self.finance = created_by, created_at, finance
        self.finance_by = self.finance_at = None
        self.extra = extra

    def event(self, at: str, stage: str, version: int) -> str:
        """The 'fee_assessed' event, as logic.assessments writes it: on the request's current stage
        and at its current version (an assessment is not a transition), by the expert or (NULL)
        the tariff."""
        return (f"{self.rid}\t{at}\t{opt(self.created_by)}\tfee_assessed\t{stage}\t{stage}\t"
                f"{NULL}\t{version}\t{{\"assessment_id\":{self.rid},\"assessment_version\":1,\"total\":{self.total},"
                f"\"prior_debt\":{self.prior_debt},{self.extra}}}\n")

    def line(self) -> str:
        # id = request id: at most one assessment per demo request, and payments point at it.
        return (f"{self.rid}\t{self.rid}\t1\t{self.tariff_id}\t{self.lines}\t{self.prior_debt}\t{self.total}\t"
                f"{opt(self.years)}\t{opt(self.new_valid and self.new_valid.isoformat())}\t{opt(self.note)}\t"
                f"{NULL}\t{opt(self.created_by)}\t{ts_us(self.created_at)}\t{self.finance}\t{opt(self.finance_by)}\t"
                f"{NULL if self.finance_at is None else ts_us(self.finance_at)}\n")


class History:
    """One request while it is replayed: its state as the request row shows it now, its fee
    assessment, its open stage visit, and the moment and actor of the step being applied (what an
    effect handler reads)."""
    __slots__ = ("rid", "spec", "i", "pid", "proc", "cal", "finance", "visit_head", "state", "assessment", "facts",
                 "visit", "visit_limit", "at", "at_s", "actor", "entered_s", "payment_data", "payment_text",
                 "reviewer", "problem", "data", "parsed", "granted")

    def __init__(self, rid, spec, i, pid, cal, finance, visit_head) -> None:
        self.rid, self.spec, self.i, self.pid, self.cal, self.finance = rid, spec, i, pid, cal, finance
        self.proc = PROCESSES[spec.type_code]
        self.visit_head = visit_head
        self.state: RequestState | None = None
        self.assessment: Assessment | None = None
        self.facts: Facts | None = None   # the facts of the next step, while they cannot change
        self.entered_s = None   # when the current stage (segment) was entered, as text
        self.visit = self.visit_limit = None   # the open visit's columns up to its due time; its limit
        self.payment_data = self.payment_text = None
        self.reviewer = None    # who checked the documents, and when (text)
        self.problem = None     # (actor, when) when a document was the problem
        self.data = None        # the request's own data, as JSON text
        self.parsed = None      # and as a dict, once an effect or the submission reads it
        self.granted = None     # a rank the central review granted by points


class Histories:
    """The replay (a mixin of the chunk builder: `ctx`, `rng`, `members`, `out` and the quick draws)."""

    def _init_histories(self) -> None:
        cache = self.ctx.cache
        self._facts: dict[tuple, Facts] = cache("facts")
        self._renewal_fees: dict[tuple, tuple] = cache("renewal_fees")
        self._licence_fees: dict[tuple, tuple] = cache("licence_fees")
        self._tariff_fees: dict[tuple, tuple | None] = cache("tariff_fees")
        self._actions: dict[tuple, Action] = cache("actions")
        self._renewal_facts: dict[tuple, Facts] = cache("renewal_facts")
        self._drafts: dict[tuple, RequestState] = cache("drafts")
        self._validity_changed: set[int] = set()
        # Per member, the validity changes its requests wrote: (wall time, year before, year after).
        self._validity_log: dict[int, list[tuple[int, int | None, int]]] = {}
        self._relied: dict[int, int] = {}   # per member, the latest Jalali year a service of theirs needed valid
        self._effects = {
            p.ASSESS_FROM_TARIFF: self._assess_from_tariff,
            p.APPROVE_ASSESSMENT: self._approve_assessment,
            p.REJECT_ASSESSMENT: self._reject_assessment,
            p.EXTEND_VALIDITY: self._extend_validity,
            p.GRANT_MEMBERSHIP_NO: self._grant_membership_no,
            p.ACTIVATE_MEMBER: self._activate_member,
            p.REGISTER_OLD_MEMBERSHIP: self._register_old_membership,
            p.MOVE_PROVINCE: self._move_province,
            p.ISSUE_CARD: self._issue_card,
            p.RECORD_RANK: self._record_rank,
            p.ISSUE_WORK_LICENCE: self._issue_work_licence,
            p.RENEW_WORK_LICENCE: self._renew_work_licence,
            p.RENEW_ARTICLE32_LICENCE: self._renew_article32_licence,
        }
        assert set(self._effects) == p.EFFECTS, "every effect of domain.processes needs a handler here"
        self._out_event = self.out["request_event"]
        self._out_visit = self.out["stage_visit"]
        self._out_request = self.out["request"]
        self._out_payment = self.out["payment"]
        self._out_assessment = self.out["fee_assessment"]
        self._out_record = self.out["record_change"]

    # ---- one transition
    def _apply(self, h: History, action: Action, actor, wall: int, text: str, facts: Facts | None = None):
        """Decide `action` at `wall` and write what follows, in the order logic.workflow.apply does:
        the effects of leaving the stage, the visit closed and the one opened, the event (at the new
        state's version), the effects that follow the event."""
        t = decide(h.state, action, actor, facts or h.facts or self._facts_of(h, wall), h.cal, wall)
        st, (name, from_stage, to_stage, reason, data, _), closed, opened, effects, _, after = t
        actor_id = actor.id if actor is not None else None
        if effects:
            h.at, h.at_s, h.actor = wall, text, actor_id
            for effect in effects:
                self._effects[effect](h)
        if closed is not None:
            outcome, closed_by, units, met = closed
            self._out_visit.append(
                f"{h.visit}{text}\t{NULL if closed_by is None else closed_by}\t{outcome}\t"
                f"{units // HOUR_UNITS}.{DIGITS4[units % HOUR_UNITS]}\t{h.visit_limit}\t{_MET[met]}\n")
            h.visit = None
        if opened is not None:
            code, _, due, limit = opened
            if limit is None:  # a stage without a limit: no due time, no limit
                h.visit, h.visit_limit = f"{h.visit_head}{code}\t{text}\t{NULL}\t", NULL
            else:
                h.visit = f"{h.visit_head}{code}\t{text}\t{ts_us(due)}\t"
                h.visit_limit = units_text(limit)
        if st.stage_entered_at != h.state.stage_entered_at:
            h.entered_s = text
        if data is not None and "granted_rank" in data:
            h.granted = data["granted_rank"]
        h.state = st
        self._out_event.append(
            f"{h.rid}\t{text}\t{NULL if actor_id is None else actor_id}\t{name}\t{from_stage or NULL}\t"
            f"{to_stage or NULL}\t{reason or NULL}\t{st.version}\t"
            f"{'{}' if data is None else h.payment_text if data is h.payment_data else data_text(data)}\n")
        h.at_s = text
        if after:
            h.at, h.actor = wall, actor_id
            for effect in after:
                self._effects[effect](h)
        return t

    def _facts_of(self, h: History, wall: int) -> Facts:
        """What logic.workflow.facts_for reads: the province's finance setting, the current
        assessment's total and, without one, this year's tariff fee of the type."""
        a, top = h.assessment, h.spec.top_rank
        if a is None and h.proc.fee_items:  # the tariff of the year: not kept (a year may turn)
            fee = self._tariff_fee(h.proc, h.pid, jalali_year(wall))
            return self._facts_for(h.finance, None, fee[2] if fee is not None else None, top)
        h.facts = facts = self._facts_for(h.finance, None if a is None else a.total, None, top)
        return facts

    def _facts_for(self, finance: bool, assessment_total: int | None, tariff_total: int | None,
                   top_rank: bool = False) -> Facts:
        key = (finance, assessment_total, tariff_total, top_rank)
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = Facts(finance, assessment_total, tariff_total, top_rank=top_rank)
        return facts

    def _valid_year_at(self, i: int, wall: int) -> int | None:
        """The member's validity year at a moment: the requests are replayed one whole history
        at a time, so a renewal filed earlier may have been paid after this moment."""
        log = self._validity_log.get(i)
        if not log:
            return self.members.valid_year[i]
        for at, _, new in reversed(log):
            if at <= wall:
                return new
        return log[0][1]

    def _submit_facts(self, h: History, submitted: int) -> Facts:
        """What logic.workflow.submit reads: the finance setting, the member's validity (a renewal's
        window, a service's paid dues), the province's renewal window and the kinds of licence the
        member holds (no member has another open request of the type: the plan sees to that)."""
        proc, m, i = h.proc, self.members, h.i
        if not (proc.renewal_window or proc.needs_paid_dues or proc.renews_licence):
            return self._facts_for(h.finance, None, None)
        year = self._valid_year_at(i, submitted)
        held = _NOTHING_HELD
        if proc.renews_licence:
            held = _HELD[(bool(m.licence[i] or (i, "work") in self._held),
                          bool(m.article32[i] or (i, "article32") in self._held))]
        window = self.ctx.renewal_window.get(h.pid, 60)
        key = (h.finance, year, window, held)
        facts = self._renewal_facts.get(key)
        if facts is None:
            facts = self._renewal_facts[key] = Facts(
                h.finance, valid_until=JALALI.ends[year] if year else None, renewal_window_days=window,
                licences_held=held)
        return facts

    def _fit_paid_dues(self, spec, submitted: int) -> int:
        """The rules refused a service to a member whose validity had lapsed (seed 001): as with the
        renewal window, the member's history is fitted to the request. Another member of the
        province who is valid then takes it (lapsed members are kept for the renewals); failing
        that, a member whose validity no request of the chunk has written or relied on is made
        valid through the year of the request. Returns the member who files it."""
        m = self.members
        i = spec.member
        year = jalali_year(submitted)

        def valid(j: int) -> bool:
            return (self._valid_year_at(j, submitted) or 0) >= year

        def raisable(j: int) -> bool:
            return j not in self._validity_changed and j not in self._validity_log

        def free(j: int) -> bool:  # j of the member's province
            return m.status[j] == "active" and (j, spec.type_code) not in self._in_progress and j not in self._movers
        if i in self._movers:  # a transfer's member files nothing else here: its validity is free to fit
            m.valid_year[i] = year
            return i
        pid = m.pid[i]
        local = [j for j, q in enumerate(m.pid) if q == pid]  # the province's members, in order
        candidates = [j for j in local if free(j) and valid(j)]
        if not candidates and not raisable(i):
            candidates = [j for j in local if free(j) and raisable(j)]
        if candidates:
            key = (i, spec.type_code)
            i = spec.member = self.pick(candidates)
            if spec.klass in ("open", "returned") and key in self._in_progress:
                self._in_progress.discard(key)
                self._in_progress.add((i, spec.type_code))
            kind = PROCESSES[spec.type_code].renews_licence
            if kind:  # renewing a licence means holding one (as the plan gives its renewers)
                m.licence[i] = True
                m.article32[i] = m.article32[i] or kind == "article32"
        elif not raisable(i):
            raise RuntimeError("too few members for the requests: no member of the province has paid dues "
                               "for a service; load more members")
        if not valid(i):  # never written: its validity before the chunk
            m.valid_year[i] = year
        return i

    # ---- rows of one request
    def _emit_request(self, rid: int, spec, timeline: tuple[int, list[tuple]]) -> None:
        """All rows of one request: the request, its events, stage visits, fees, payment, documents.
        `timeline` is the plan's (`_fit_timeline`): when it was submitted and when each step happened."""
        ctx, m = self.ctx, self.members
        i = spec.member
        if m.pid[i] != spec.pid:
            # An earlier request of this member (a transfer) moved them after this one was planned:
            # the request is filed in, and worked by the staff of, the province they are in now.
            self._plan(spec)
            timeline = self._fit_timeline(spec, ctx.calendars[m.pid[i]])
        mid, pid = m.ids[i], m.pid[i]
        cal = ctx.calendars[pid]
        submitted, times = timeline
        type_code = spec.type_code
        actors = ctx.actors
        apply = self._apply
        h = History(rid, spec, i, pid, cal, ctx.finance_required.get(pid, True), f"{rid}\t{pid}\t{type_code}\t")
        proc = h.proc
        submitted_s = h.entered_s = ts_us(submitted)

        # Submission (a renewal only within the province's window before the validity ends).
        draft = self._drafts.get((type_code, pid))
        if draft is None:  # what submit decides on: the type and province (the moment is `now`'s)
            draft = self._drafts[(type_code, pid)] = RequestState.draft(type_code, pid, submitted)
        h.state = draft
        data, h.parsed = self._request_data(spec, submitted)
        h.data = data
        # What the member declared, which submission checks (as logic.workflow.submit passes it).
        submit = _action((SUBMIT, None, None, False, None, h.parsed)) if _DECLARES[type_code] else _SUBMIT
        try:
            apply(h, submit, None, submitted, submitted_s, self._submit_facts(h, submitted))
        except ValidationError:
            if proc.renewal_window:
                i = h.i = self._fit_renewal_window(spec, submitted)
                if m.pid[i] != pid:  # nobody in the province could renew then: planned again elsewhere
                    self._plan(spec)
                    return self._emit_request(rid, spec, self._fit_timeline(spec, ctx.calendars[m.pid[i]]))
            elif proc.needs_paid_dues:
                i = h.i = self._fit_paid_dues(spec, submitted)
            else:
                raise
            mid = m.ids[i]
            if _DECLARES[type_code]:  # what the member declared may name the member (an old number)
                data, h.parsed = self._request_data(spec, submitted)
                h.data = data
                submit = _action((SUBMIT, None, None, False, None, h.parsed))
            apply(h, submit, None, submitted, submitted_s, self._submit_facts(h, submitted))
        if proc.needs_paid_dues:  # the request relied on it: no later fitting may lapse it before then
            self._relied[i] = max(self._relied.get(i, 0), jalali_year(submitted))
        elif proc.renewal_window:  # its fee is determined from the validity it was filed with
            self._validity_changed.add(i)

        for (s, outcome, amount, actor_id, claim, action), (entered, left, claimed, assessed) in zip(
                spec.plan, times):
            if outcome == "resubmit":
                apply(h, action, None, left, ts_us(left))
                continue
            if not s.clock:  # the member's own stages: completing records, paying
                if outcome == "open":
                    break
                left_s = ts_us(left)
                if s.action == PAYMENT_CONFIRMED:
                    total = h.assessment.total
                    ref = f"BR{rid:010d}"
                    self._out_payment.append(f"{rid}\t{rid}\t{rid}\t{ref}\t{total}\t{left_s}\tdemo\t{NULL}\t{left_s}\n")
                    h.payment_data = {"bank_reference": ref, "amount": total, "payment_id": rid}
                    h.payment_text = f"{{\"bank_reference\":\"{ref}\",\"amount\":{total},\"payment_id\":{rid}}}"
                    action = _action((PAYMENT_CONFIRMED, None, None, False, None, h.payment_data))
                apply(h, action, None, left, left_s)
                continue
            if claimed is not None:
                apply(h, _CLAIM, actors[actor_id], claimed, ts_us(claimed))
            if outcome == "open":
                break
            if assessed is not None:  # the expert's fee, a little before the approval
                self._fee_assessment(h, actor_id, assessed)
            left_s = ts_us(left)
            apply(h, action, actors[actor_id], left, left_s)
            if outcome != "pass" and outcome != "return":  # rejected, or returned for good
                h.problem = (actor_id, left_s)
            if h.reviewer is None and s.checks_documents:
                h.reviewer = (actor_id, left_s)

        # The request row, from the final state.
        st = h.state
        stage_due = stage_risk = due = risk = NULL
        if st.clock_runs:
            d = deadlines(cal, proc, STAGE_INDEX[(type_code, st.stage_code)][1], st.stage_entered_at,
                          st.stage_hours_used, st.process_hours_used)
            if d.stage_due_at is not None:
                stage_due, stage_risk = ts_us(d.stage_due_at), ts_us(d.stage_risk_at)
            if d.due_at is not None:
                due, risk = ts_us(d.due_at), ts_us(d.risk_at)
        if h.visit is not None:  # the visit of the stage the request stands at stays open
            self._out_visit.append(f"{h.visit}{NULL}\t{NULL}\t{NULL}\t{NULL}\t{h.visit_limit}\t{NULL}\n")
        risk_columns = f"\t{stage_risk}\t{risk}" if ctx.risk_columns else ""
        self._out_request.append(
            f"{rid}\t{tracking_code(jalali_year(submitted), pid, rid)}\t{mid}\t{pid}\t{type_code}\t"
            f"{st.stage_code}\t{_STATUS[st.status]}\t{NULL if st.assignee_id is None else st.assignee_id}\t"
            f"{submitted_s}\t{submitted_s if st.clock_started_at == submitted else ts_us(st.clock_started_at)}\t"
            f"{h.entered_s}\t{units_text(st.stage_hours_used)}\t{stage_due}\t"
            f"{units_text(st.process_hours_used)}\t{due}\t{NULL if st.closed_at is None else h.at_s}\t"
            f"{_MET[st.met_sla]}\t{NULL if st.initial_reviewer_id is None else st.initial_reviewer_id}\t"
            f"{'t' if st.referred else 'f'}\t{st.version}\t{h.at_s}\t{data}{risk_columns}\n")
        if h.assessment is not None:
            self._out_assessment.append(h.assessment.line())
        self._request_documents(rid, spec, mid, submitted_s, h.reviewer, h.problem)
        if type_code == "new_membership" and m.created[i] is None:
            m.created[i] = from_wall(submitted) - timedelta(minutes=5 + 60 * self.rng.random())

    def _fit_renewal_window(self, spec, submitted: int) -> int:
        """The rules refused a renewal filed before the province's window opened: the demo picks the
        member's history to fit the request, not the other way. A member whose validity no earlier
        request of the chunk moved becomes one whose validity lapsed at the end of the year before;
        one who renewed already (there are few members for many requests) hands the request to
        another member of the province who has not. Returns the member who files it."""
        m = self.members
        i = spec.member
        window = self.ctx.renewal_window.get(m.pid[i], 60)  # days
        lapsed = jalali_year(submitted + window * 86_400_000_000) - 1  # the latest end the window is open for

        def open_now(j: int) -> bool:  # the window is open for j as things stand (no renewal of j's in the chunk)
            year = self._valid_year_at(j, submitted)
            return j not in self._validity_changed and year == m.valid_year[j] and (year is None or year <= lapsed)

        def lowerable(j: int, strict: bool = True) -> bool:  # j's validity before the chunk may still be chosen
            return (j not in self._validity_changed and j not in self._validity_log
                    and (not strict or self._relied.get(j, 0) <= lapsed))

        def open_again(j: int) -> bool:  # renewed in the chunk, all of it before now, and its window open again
            log = self._validity_log.get(j)
            return bool(log) and log[-1][0] <= submitted and log[-1][2] <= lapsed and m.valid_year[j] == log[-1][2]
        if not lowerable(i):
            key = (i, spec.type_code)
            pid, status, in_progress, movers = m.pid[i], m.status, self._in_progress, self._movers
            free = [j for j, q in enumerate(m.pid) if q == pid and status[j] != "applicant"
                    and (j, spec.type_code) not in in_progress and j not in movers]
            candidates = [j for j in free if open_now(j) or lowerable(j)]
            if not candidates:
                # A province with few members in the chunk: one whose service earlier this year needed
                # it valid (the only case where the demo's final record bends seed 001's rule).
                candidates = [j for j in free if lowerable(j, strict=False)]
            if not candidates:
                # Few members, many renewals: one who renewed earlier and whose new validity's window is open.
                candidates = [j for j in free if open_again(j)]
            if not candidates:
                # Nobody in the province: a member of another province whose validity may still be chosen
                # files it (the caller plans it again there, with that province's staff and calendar).
                candidates = [j for j in range(len(m.ids)) if m.status[j] != "applicant" and lowerable(j)
                              and (j, spec.type_code) not in self._in_progress and j not in self._movers]
            if not candidates:
                raise RuntimeError("too few members for the requests: a member would renew again before the "
                                   "renewal window opens; load more members")
            i = spec.member = self.pick(candidates)
            if spec.klass in ("open", "returned") and key in self._in_progress:
                self._in_progress.discard(key)
                self._in_progress.add((i, spec.type_code))
            if open_now(i) or open_again(i):
                return i
        # Lapsed at the end of the year before the window, some for longer (never before a year a
        # service of theirs relied on).
        extra = self.between(1, 3) if self.rng.random() < 0.2 else 0
        m.valid_year[i] = max(lapsed - extra, min(self._relied.get(i, 0), lapsed))
        return i

    # ---- fees: the expert's determination at a fee stage (not a transition)
    def _fee_assessment(self, h: History, actor: int, at: int) -> None:
        """The expert's fee determination, as logic.fees makes it, with its 'fee_assessed' event.

        Membership renewal (`domain.fees.renewal_quote`): the unrenewed years up to this year (some
        pay for next year too) at each year's annual fee less the discount rule that applies, plus a
        prior debt; finance approves it when the province requires. Licence renewal
        (`licence_renewal_lines`): 1-3 years at this year's licence renewal fee, some free (the
        central council's exemption).
        """
        rng, m, spec, pid = self.rng, self.members, h.spec, h.pid
        year_now = jalali_year(at)
        if h.proc.fee_rule is p.FeeRule.MEMBERSHIP_YEARS:
            i = h.i
            old_year = m.valid_year[i] or year_now - 1
            ahead = 1 if spec.ahead and rng.random() < 0.3 else 0  # some pay for next year too
            through = min(TARIFF_YEARS.stop - 1, max(old_year + 1, year_now + ahead))
            prior_debt = self.between(1, 19) * 500_000 if rng.random() < 0.2 else 0
            key = (pid, old_year, through, prior_debt)
            fixed = self._renewal_fees.get(key)
            if fixed is None:
                fixed = self._renewal_fees[key] = self._renewal_fee(pid, old_year, through, prior_debt)
            tariff_id, lines, total, n_lines, new_valid, note, extra = fixed
            finance = "pending" if h.finance else "not_required"
            a = Assessment(h.rid, tariff_id, lines, prior_debt, total, n_lines, new_valid, note, actor, at, finance,
                           extra)
        else:  # a work licence's years, each free or paid
            tariff = self.ctx.tariffs[(pid, year_now)]
            years = []
            for k in range(self.between(1, 3)):
                years.append((year_now + k, not spec.payable or (k > 0 and rng.random() < 0.3)))
            key = (tuple(years), tariff["licence_renewal_fee"])
            fixed = self._licence_fees.get(key)
            if fixed is None:
                chosen = check_licence_years(years)
                lines, total = licence_renewal_lines(chosen, tariff["licence_renewal_fee"])
                fixed = self._licence_fees[key] = (json_text(lines), total, len(lines),
                                                   f"\"free_years\":{json_text([y for y, free in chosen if free])}")
            lines, total, n_lines, extra = fixed
            a = Assessment(h.rid, tariff["id"], lines, 0, total, n_lines, None, None, actor, at, "not_required",
                           extra)
        h.assessment, h.facts = a, None
        st = h.state
        self._out_event.append(a.event(ts_us(at), st.stage_code, st.version))

    def _renewal_fee(self, pid: int, old_year: int, through: int, prior_debt: int) -> tuple:
        """The columns of a membership renewal's assessment (cached per chunk): tariff id, lines
        JSON, total, number of years, new validity, note, event extra."""
        tariffs = self.ctx.tariffs
        quote = renewal_quote(JALALI.ends[old_year], through,
                              {y: tariffs[(pid, y)]["annual_fee"] for y in range(old_year + 1, through + 1)},
                              prior_debt, self.ctx.discounts)
        percent = f"\"{quote.discount.percent}\"" if quote.discount else "null"
        return (tariffs[(pid, quote.through_year)]["id"], json_text([line.as_json() for line in quote.lines]),
                quote.total, quote.years, to_gregorian(quote.new_valid_until),
                "با تخفیف مصوبهٔ شورای مرکزی" if quote.discount else None,
                f"\"through_year\":{quote.through_year},\"discount_percent\":{percent}")

    def _tariff_fee(self, proc, pid: int, year: int) -> tuple | None:
        """`domain.fees.tariff_fee` of the type from the province's tariff of the year (cached per
        chunk), as the assessment's columns: tariff id, lines JSON, total, years, new validity,
        note; None without a tariff for the year."""
        key = (proc.code, pid, year)
        try:
            return self._tariff_fees[key]
        except KeyError:
            pass
        tariff = self.ctx.tariffs.get((pid, year))
        fee = tariff_fee(proc, tariff, year) if tariff is not None else None
        fixed = None
        if fee is not None:
            fixed = (tariff["id"], json_text(list(fee.lines)), fee.total, fee.years, fee.new_valid_until, fee.note_fa)
        self._tariff_fees[key] = fixed
        return fixed

    # ---- the effects (logic.effects' handlers, as rows)
    def _assess_from_tariff(self, h: History) -> None:
        if h.assessment is not None:
            return
        fixed = self._tariff_fee(h.proc, h.pid, jalali_year(h.at))
        if fixed is None:
            return
        tariff_id, lines, total, years, new_valid, note = fixed
        h.assessment = a = Assessment(h.rid, tariff_id, lines, 0, total, years, new_valid, note, None, h.at,
                                      "not_required", "\"source\":\"tariff\"")
        h.facts = None
        st = h.state
        self._out_event.append(a.event(h.at_s, st.stage_code, st.version))

    def _finance_mark(self, h: History, status: str) -> None:
        a = h.assessment
        if a is None:
            raise ValidationError("مبلغی برای تأیید تعیین نشده است.")
        a.finance, a.finance_by, a.finance_at = status, h.actor, h.at

    def _approve_assessment(self, h: History) -> None:
        self._finance_mark(h, "approved")

    def _reject_assessment(self, h: History) -> None:
        self._finance_mark(h, "rejected")

    def _change(self, h: History, kind: str, licence_id: int | None = None, **details) -> None:
        """The record's history row of a change (logic.effects._change)."""
        m, i = self.members, h.i
        details = flat_json(details)
        self._out_record.append(f"{m.ids[i]}\t{h.rid}\t{kind}\t{h.at_s}\t{m.pid[i]}\t{opt(licence_id)}\t{details}\n")

    def _validity(self, h: History, new: date) -> None:
        m, i = self.members, h.i
        old_year = m.valid_year[i]
        old = JALALI.ends[old_year].isoformat() if old_year else NULL
        self.out["validity_change"].append(f"{m.ids[i]}\t{old}\t{new.isoformat()}\t{h.rid}\t{h.at_s}\n")
        m.valid_year[i] = JALALI.year_of(new)
        self._validity_log.setdefault(i, []).append((h.at, old_year, m.valid_year[i]))

    def _data(self, h: History) -> dict:
        parsed = h.parsed
        if parsed is None:
            parsed = h.parsed = json.loads(h.data)
        return parsed

    def _extend_validity(self, h: History) -> None:
        """A paid renewal moves the member's validity to the assessed new end date."""
        a = h.assessment
        if a is None or a.new_valid is None:
            raise ValidationError("تاریخ پایان اعتبار جدید در مبلغ تعیین‌شده مشخص نیست.")
        self._validity(h, a.new_valid)
        self._validity_changed.add(h.i)
        # A lapsed member is active again: the member row's status follows its validity (emit_members).

    def _grant_membership_no(self, h: History) -> None:
        m, i = self.members, h.i
        if m.number[i] is None:
            # The workflow's number from its sequence; here the member's id stands for it (the loader
            # moves membership_no_seq past the members).
            m.number[i] = membership_number(h.pid, m.ids[i])

    def _activate_member(self, h: History) -> None:
        """Admission: active from today, grade 3, valid to the end of the year paid for."""
        m, i = self.members, h.i
        m.status[i] = "active"
        m.joined[i] = m.joined[i] or from_wall(h.at).date()
        a = h.assessment
        if a is not None and a.new_valid is not None:
            self._validity(h, a.new_valid)
        m.grade[i] = m.grade[i] or ADMISSION_GRADE
        self._change(h, o.ADMITTED, membership_no=m.number[i], grade=m.grade[i])

    def _register_old_membership(self, h: History) -> None:
        m, i = self.members, h.i
        old = o.declared_old_membership(self._data(h))
        m.number[i] = old.membership_no
        self._validity(h, old.valid_until)
        if m.status[i] == "applicant":
            m.status[i] = "active"  # emit_members sets active or lapsed from the validity
            m.joined[i] = m.joined[i] or old.valid_until - timedelta(days=365)
        m.grade[i] = m.grade[i] or ADMISSION_GRADE
        self._change(h, o.OLD_MEMBERSHIP_REGISTERED, membership_no=old.membership_no,
                     valid_until=old.valid_until.isoformat())

    def _move_province(self, h: History) -> None:
        m, i = self.members, h.i
        data = self._data(h)
        origin = m.pid[i]
        m.pid[i] = o.destination_province(data, origin)
        self._change(h, o.MOVED_PROVINCE, from_province=origin, to_province=m.pid[i],
                     address=data.get("destination_address"))

    def _issue_card(self, h: History) -> None:
        self._change(h, o.CARD_ISSUED)

    def _record_rank(self, h: History) -> None:
        rank = o.recorded_rank(self._data(h), h.granted)
        self._change(h, o.RANK_RECORDED, rating_kind=rank.kind, rank=rank.rank)

    def _issue_work_licence(self, h: History) -> None:
        lic = self.issue_licence(h.i, from_wall(h.at).date(), o.requested_competencies(self._data(h)), h.rid)
        self._change(h, o.LICENCE_ISSUED, lic.id, licence_no=lic.number, expires_on=lic.expires.isoformat())

    def _renew(self, h: History, kind: str, years: int) -> None:
        today = from_wall(h.at).date()
        lic = self.held_licence(h.i, kind, before=today)
        old = lic.expires
        lic.expires = o.renewed_expiry(old, years, today)
        self._change(h, o.LICENCE_RENEWED, lic.id, licence_no=lic.number, years=years,
                     old_expires_on=old.isoformat(), new_expires_on=lic.expires.isoformat())

    def _renew_work_licence(self, h: History) -> None:
        a = h.assessment
        self._renew(h, "work", a.years if a is not None and a.years else o.requested_years(self._data(h)))

    def _renew_article32_licence(self, h: History) -> None:
        self._renew(h, "article32", o.requested_years(self._data(h)))
