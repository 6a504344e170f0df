"""What happens to each request, chosen up front: its type, who files it, how it ends, its stages,
who acts at each and how long each took, and so when every step happened.

The plan makes only the random choices. The stages a request passes through are
`domain.machine.path`'s; whom four eyes keep away from a stage is `excluded_reviewer`'s; every
working-time step is the province's `BusinessCalendar`'s (its wall-microsecond API). The history is
then replayed through `decide` (`demo.histories`), which checks each step and writes what follows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from demo.context import JALALI
from demo.rows import days_us, second_floor, span_us
from domain.calendar import US_PER_DAY, US_PER_HOUR, BusinessCalendar, wall_of_day
from domain.machine import (APPROVE, COMPLETE, REJECT, RESUBMIT, RETURN, Action, Facts, excluded_reviewer, next_stage,
                            path)
from domain.processes import PROCESSES, STAFF_ACTIONS, Process, Stage, StageKind, done_action

# How often each request type is filed.
TYPE_WEIGHTS = {"membership_renewal": 30, "licence_renewal": 20, "licence_issue": 12, "card_reissue": 9,
                "new_membership": 8, "rating": 5, "legacy_registration": 4, "transfer": 3,
                "rating_registration": 3, "rating_correction": 2, "article32_renewal": 4}
# What renewals beyond one per member become (large loads with few members).
_OTHER_TYPES = [t for t in TYPE_WEIGHTS if t not in ("membership_renewal", "new_membership")]
_OTHER_WEIGHTS = [TYPE_WEIGHTS[t] for t in _OTHER_TYPES]
# What happens to requests: most are closed; the open ones fill the queues.
CLASS_SHARES = (("completed", 0.75), ("rejected", 0.08), ("returned", 0.03))  # the rest stays open

REJECT_REASONS_FA = (
    "مدرک تحصیلی با رشته‌های اصلی یا مرتبط مطابقت ندارد.",
    "اطلاعات هویتی با مدارک بارگذاری‌شده مطابقت ندارد.",
    "سوابق کاری ارائه‌شده برای پایهٔ درخواستی کافی نیست.",
    "بدهی‌های عضو تسویه نشده است.",
    "پروانهٔ اشتغال معتبر ارائه نشده است.",
    "درخواست تکراری است؛ درخواست دیگری با همین موضوع در جریان است.",
)
RETURN_REASONS_FA = (
    "تصویر کارت ملی ناخوانا است؛ لطفاً دوباره بارگذاری کنید.",
    "شمارهٔ شبا با نام عضو مطابقت ندارد؛ لطفاً اصلاح کنید.",
    "نشانی پستی ناقص است؛ کد پستی را وارد کنید.",
    "گواهی دورهٔ آموزشی بارگذاری نشده است.",
    "تصویر مدرک تحصیلی ناقص است؛ هر دو روی مدرک را بارگذاری کنید.",
)

_SECOND = 1_000_000  # µs
_RESUBMIT = Action(RESUBMIT)

# Stage kinds at which the reviewer looks at the request's documents (and gives them a verdict).
_DOCUMENT_KINDS = frozenset({StageKind.REVIEW, StageKind.FEE, StageKind.ISSUE})


UNLIMITED_STAGE_DAYS = 1.0


class StageView:
    """A stage of a process with what the generator asks about it per step, read once from the
    domain's definition (attribute look-ups are faster than enum tests and dict look-ups)."""

    __slots__ = ("stage", "code", "role", "limit_days", "clock", "action", "returnable", "rejectable", "fee",
                 "records_reviewer", "checks_documents", "done", "done_referring")

    def __init__(self, stage: Stage) -> None:
        staff = STAFF_ACTIONS.get(stage.kind, frozenset())
        self.stage = stage
        self.code = stage.code
        self.role = stage.role.value if stage.role else None
        # How long the demo's staff take is drawn around the stage's limit; a stage the seed gives no
        # time takes about as long as a one-day stage (its clock has no deadline to meet or miss).
        self.limit_days = float(stage.limit_days) if stage.limit_days is not None else UNLIMITED_STAGE_DAYS
        self.clock = stage.clock_runs
        # The action that moves a request on from here: staff approve (or complete an issue stage);
        # the member's and the gateway's is the stage's own (member_completed, payment_confirmed).
        self.action = (APPROVE if APPROVE in staff else COMPLETE) if staff else done_action(stage)
        self.returnable = RETURN in staff
        self.rejectable = REJECT in staff
        self.fee = stage.kind is StageKind.FEE
        self.records_reviewer = stage.records_reviewer
        self.checks_documents = stage.kind in _DOCUMENT_KINDS
        # The action that leaves the stage forward (staff tick every box of its checklist), as it is
        # or referring the request onward.
        checklist = (True,) * len(stage.checklist) if stage.checklist else None
        self.done = Action(self.action, None, checklist)
        self.done_referring = Action(self.action, None, checklist, True)


VIEWS: dict[tuple[str, str], StageView] = {
    (code, s.code): StageView(s) for code, proc in PROCESSES.items() for s in proc.stages}


class PathPlan:
    """The stages a request goes through (`domain.machine.path`) and what the plan needs of them."""

    __slots__ = ("views", "codes", "rejectable", "returnable", "refers")

    def __init__(self, proc: Process, facts: Facts, referred: bool) -> None:
        stages = path(proc, facts, referred=referred)
        self.views = tuple(VIEWS[(proc.code, s.code)] for s in stages)
        self.codes = [s.code for s in stages]
        self.rejectable = [i for i, v in enumerate(self.views) if v.rejectable]
        self.returnable = [i for i, v in enumerate(self.views) if v.returnable]
        # Where a referring reviewer sends the request elsewhere than a plain approval would.
        self.refers = tuple(referred and next_stage(proc, proc.stages.index(s), True, facts)[0]
                            is not next_stage(proc, proc.stages.index(s), False, facts)[0] for s in stages)


@dataclass
class Spec:
    """One request before its timeline is computed."""
    type_code: str
    klass: str                 # completed / rejected / open / returned
    member: int                # index in the chunk's members
    target: str | None = None  # stage code for open requests that must cover a stage
    referred: bool = False
    payable: bool = True
    plan: list | None = None
    path: PathPlan | None = None
    start_hint: int | None = None   # wall time (domain.calendar.to_wall)
    renews_year: int | None = None  # a yearly renewal: filed around the end of this validity year
    ahead: bool = True              # may pay for a year beyond the current one
    top_rank: bool = False          # a rating asking for one of the two top ranks (the central review)
    pid: int | None = None          # the province the plan was made in (the member's then)


class Planner:
    """The plan of a chunk's requests (a mixin of the chunk builder: `ctx`, `rng`, `members`, the
    quick draws `pick`, `below`, `between`, `_random`, and `_now`, a wall time)."""

    # ---- what is requested, by whom
    def _specs(self, n: int) -> list[Spec]:
        rng = self.rng
        n_done = round(n * CLASS_SHARES[0][1])
        n_rej = round(n * CLASS_SHARES[1][1])
        n_ret = round(n * CLASS_SHARES[2][1])
        n_open = n - n_done - n_rej - n_ret
        # Every stage of every type is open somewhere, in every chunk.
        pairs = [(code, s.code) for code, proc in PROCESSES.items() for s in proc.stages]
        if n_open < len(pairs):
            n_open = min(n, len(pairs))
            n_done = n - n_open - n_rej - n_ret
            if n_done < 0:
                n_rej = n_ret = 0
                n_done = n - n_open
        classes = ["completed"] * n_done + ["rejected"] * n_rej + ["returned"] * n_ret + ["open"] * n_open
        rng.shuffle(classes)
        types = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()), k=n)
        specs = []
        forced = 0
        for klass, type_code in zip(classes, types):
            spec = Spec(type_code, klass, -1)
            if klass == "open" and forced < len(pairs):
                spec.type_code, spec.target = pairs[forced]
                forced += 1
            specs.append(spec)
        return specs

    def _assign_members(self, specs: list[Spec]) -> None:
        """Who files each request: applicants file new memberships (one each), licence holders renew
        licences, and no member has two open requests of one type (the workflow refuses that)."""
        rng, m = self.rng, self.members
        regular = [i for i in range(m.pool_from) if m.status[i] == "active"] or list(range(len(m.ids)))
        # A transfer moves its member to another province for good: they file nothing else here
        # (their later requests would belong to the destination's staff).
        movers = [spec for spec in specs if spec.type_code == "transfer"]
        self._movers = set()
        if movers and len(regular) > 2 * len(movers):
            regular = regular[:]
            rng.shuffle(regular)
            for spec in movers:
                spec.member = regular.pop()
                self._movers.add(spec.member)
        holders = [i for i in regular if m.licence[i]] or regular
        a32 = [i for i in holders if m.article32[i]] or holders
        pool = list(range(m.pool_from, len(m.ids))) or regular
        next_pool = 0
        in_progress = self._in_progress = set()  # (member, type) of requests still open
        self._assign_renewals([spec for spec in specs if spec.type_code == "membership_renewal"], regular)
        # Services go first to members who keep their dues paid (seed 001 refuses the others) and
        # whose validity no renewal of the chunk moves: lapsed members are left for the renewals.
        renewers = {spec.member for spec in specs if spec.type_code == "membership_renewal" and spec.member >= 0}
        current = JALALI.year_of(self.ctx.today)
        steady = [i for i in regular if i not in renewers and (m.valid_year[i] or 0) >= current] or regular
        steady_set = set(steady)
        steady_holders = [i for i in holders if i in steady_set] or holders
        steady_a32 = [i for i in a32 if i in steady_set] or a32
        for spec in specs:
            t = spec.type_code
            if t == "transfer" and spec.member >= 0:
                continue
            if t == "new_membership":  # applicants apply once (unless they outnumber the chunk's members)
                spec.member = pool[next_pool % len(pool)]
                next_pool += 1
                continue
            if t == "membership_renewal":
                if spec.member >= 0:
                    continue
                if spec.target is None:  # more renewals than members: the rest become other types
                    t = spec.type_code = rng.choices(_OTHER_TYPES, _OTHER_WEIGHTS)[0]
            # Holders of the licence being renewed first; anyone if they are all busy.
            choices = {"licence_renewal": (steady_holders, holders, regular),
                       "article32_renewal": (steady_a32, a32, holders, regular)}.get(
                t, (steady, regular) if PROCESSES[t].needs_paid_dues else (regular,))
            i = self.pick(choices[0])
            if spec.klass in ("open", "returned"):
                for candidates in choices:
                    for _ in range(10):
                        if (i, t) not in in_progress:
                            break
                        i = self.pick(candidates)
                in_progress.add((i, t))
            spec.member = i
            if t == "article32_renewal":
                m.licence[i] = m.article32[i] = True  # renewing a licence means holding one
            elif t == "licence_renewal":
                m.licence[i] = True

    def _assign_renewals(self, renewals: list[Spec], regular: list[int]) -> None:
        """Members renew year after year: a completed renewal is a link in a member's yearly chain,
        filed around the end of a validity year (from the province's renewal window before it to a
        few months after) and extending validity by one year, the last link up to this year; so
        members who keep renewing are active now. Long-lapsed members (among them the 1381-1388
        discount cases) renew once, any time. Open renewals come from other members, whose
        validity the request then shows lapsed or about to end; those that must cover a stage get
        their members first, so that even with few members no one renews twice within a window."""
        rng, m = self.rng, self.members
        current = JALALI.year_of(self.ctx.today)
        # Year-ends whose renewal season lies within the demo period, most recent first.
        years = [y for y in range(current - 1, current - 4, -1)
                 if JALALI.ends[y] + timedelta(days=90) >= self.ctx.start.date()
                 and JALALI.ends[y] - timedelta(days=60) <= (self.ctx.now - timedelta(days=25)).date()]
        members = regular[:]
        rng.shuffle(members)
        lapsed = [i for i in members if (m.valid_year[i] or current) <= current - 3]
        keeping = [i for i in members if (m.valid_year[i] or current) > current - 3]
        # Members whose validity ended in a year a discount rule covers (1381-1388) get it.
        discounted_to = max((rule.year_to for rule in self.ctx.discounts), default=0)
        discounted = [i for i in lapsed if m.valid_year[i] <= discounted_to]
        lapsed = [i for i in lapsed if m.valid_year[i] > discounted_to] if discounted else lapsed
        closed = [spec for spec in renewals if spec.klass in ("completed", "rejected")]
        rest = [spec for spec in renewals if spec.klass not in ("completed", "rejected")]
        forced = [spec for spec in rest if spec.target is not None]
        self._assign_open_renewals(forced, lapsed, discounted, keeping)
        rest = [spec for spec in rest if spec.target is None]
        k = 0
        while k < len(closed):
            if (lapsed or discounted) and (rng.random() < 0.05 or not years or not keeping):
                closed[k].member = (lapsed or discounted).pop()
                k += 1
                continue
            if not keeping or not years:
                rest.extend(closed[k:])
                break
            i = keeping.pop()
            length = min(len(years), len(closed) - k, rng.choices((1, 2, 3), (30, 35, 35))[0])
            m.valid_year[i] = years[length - 1]  # what the member's validity was before the chain
            for j in range(length - 1, -1, -1):
                spec = closed[k]
                spec.member, spec.renews_year, spec.ahead = i, years[j], j == 0
                k += 1
        self._assign_open_renewals(rest, lapsed, discounted, keeping)

    def _assign_open_renewals(self, specs: list[Spec], lapsed: list[int], discounted: list[int],
                              keeping: list[int]) -> None:
        """Open renewals: some from long-lapsed members (the discount shows at fee determination)."""
        for spec in specs:
            r = self.rng.random()
            if discounted and (r < 0.2 or not keeping):
                spec.member = discounted.pop()
            elif lapsed and (r < 0.3 or not keeping):
                spec.member = lapsed.pop()
            elif keeping:
                spec.member = keeping.pop()

    # ---- the path through the stages, with every random choice made up front
    def _plan(self, spec: Spec) -> None:
        """Choose the stages, outcomes, actors and durations; timeline comes later.

        A plan is a list of steps (stage view, outcome, amount, actor, claim, action) where outcome
        is pass / return / resubmit / reject / open / returned, amount is working hours for
        clock-running stages and calendar days for the member's own stages, and action is what the
        replay asks `decide` to do at the step's end (None: the step does not end, or the member's
        own action with its data).
        """
        ctx, rng = self.ctx, self.rng
        pid = spec.pid = self.members.pid[spec.member]
        cal = ctx.calendars[pid]
        dh = cal.day_hours
        if spec.type_code == "rating":
            spec.referred = spec.target == "specialised_committee" or rng.random() < 0.2
            spec.top_rank = spec.target == "central_review" or rng.random() < 0.3
        if spec.type_code == "licence_renewal":
            spec.payable = spec.target == "payment" or rng.random() < 0.7
        plan = spec.path = self._path(spec, pid)
        views, rejectable, returnable = plan.views, plan.rejectable, plan.returnable
        klass = spec.klass
        if klass == "rejected" and not rejectable:
            klass = spec.klass = "completed"
        if klass == "returned" and not returnable:
            klass = spec.klass = "open"
        # Where the request ends (or stands now).
        if klass == "completed":
            end = len(views) - 1
        elif klass == "rejected":
            end = rejectable[0] if rng.random() < 0.6 else self.pick(rejectable)
        elif klass == "returned":
            end = self.pick(returnable)
        else:
            end = plan.codes.index(spec.target) if spec.target in plan.codes else self.below(len(views))
        # Some requests were returned once along the way and resubmitted.
        earlier = [i for i in returnable if i < end]
        history_return = self.pick(earlier) if earlier and rng.random() < 0.1 else -1

        steps = []
        initial = None  # the initial reviewer: four eyes later
        last = {"completed": "pass", "rejected": "reject", "open": "open", "returned": "returned"}[klass]
        for i in range(end + 1):
            s = views[i]
            outcome = "pass" if i < end else last
            if not s.clock:
                days = rng.random() * (14 if outcome == "open" else 10)
                steps.append((s, outcome, days, None, None, s.done))
                continue
            actor = self._actor(s, pid, initial)
            if s.records_reviewer:
                initial = actor
            if i == history_return:
                steps.append((s, "return", self._handling(s, dh), actor, None,
                              self._action(RETURN, self.pick(RETURN_REASONS_FA))))
                steps.append((s, "resubmit", 0.1 + rng.random() * 7, None, None, _RESUBMIT))
            if outcome == "open":
                # Age in working hours at the current stage: on time, at risk or breached.
                limit = s.limit_days * dh
                r = rng.random()
                if r < 0.5:
                    age = limit * 0.7 * rng.random()
                elif r < 0.65:
                    age = limit * (0.75 + 0.25 * rng.random())
                else:
                    age = limit + rng.random() * 15 * dh
                claimed = rng.random() < 0.4
                steps.append((s, "open", age, actor if claimed else None, rng.random() if claimed else None, None))
                continue
            if outcome == "reject":
                action = self._action(REJECT, self.pick(REJECT_REASONS_FA))
            elif outcome == "returned":
                action = self._action(RETURN, self.pick(RETURN_REASONS_FA))
            else:  # approve (with every box of the stage's checklist ticked), or complete an issue stage
                action = s.done_referring if plan.refers[i] else s.done
            claim = rng.random() * 0.5 if rng.random() < 0.08 else None  # some picked the task up first
            steps.append((s, outcome, self._handling(s, dh), actor, claim, action))
        spec.plan = steps
        spec.start_hint = self._start_hint(spec, cal)

    def _action(self, name: str, reason: str) -> Action:
        """A rejection or return with its reason (one object for each: the reasons repeat)."""
        key = (name, reason)
        action = self._actions.get(key)
        if action is None:
            action = self._actions[key] = Action(name, reason)
        return action

    def _path(self, spec: Spec, pid: int) -> PathPlan:
        """The stages this request goes through, as the domain's `path` gives them for the facts the
        plan chose: the province's finance setting, the referral, and whether the fee is payable
        (an expert's fee of zero for a licence renewal whose years are all free; a tariff fee
        otherwise)."""
        finance = self.ctx.finance_required.get(pid, True)
        key = (spec.type_code, spec.referred, spec.payable, finance, spec.top_rank)
        cached = self._paths.get(key)
        if cached is None:
            proc = PROCESSES[spec.type_code]
            facts = Facts(finance, (1 if spec.payable else 0) if proc.fee_rule else None,
                          1 if proc.fee_items else None, top_rank=spec.top_rank)
            cached = self._paths[key] = PathPlan(proc, facts, spec.referred)
        return cached

    def _handling(self, s: StageView, dh: float) -> float:
        """Working hours a stage took: mostly within its limit, about 15 % over it."""
        limit = s.limit_days * dh
        rng = self.rng
        if rng.random() < 0.85:
            return limit * (0.03 + 0.97 * rng.random() ** 1.6)
        return limit * (1.02 + 2 * rng.random())

    def _actor(self, s: StageView, pid: int, initial: int | None) -> int:
        """A staff member of the province with the stage's role (central staff for central stages),
        never the one four eyes exclude."""
        excluded = excluded_reviewer(s.stage, initial)
        key = (pid, s.role, excluded)
        pool = self._actor_pools.get(key)
        if pool is None:
            pool = self.ctx.pools.get((pid, s.role)) or self.ctx.pools[(None, s.role)]
            if excluded is not None:
                pool = tuple(a for a in pool if a != excluded)
                if not pool:
                    raise RuntimeError(f"province {pid} has nobody but the initial reviewer for {s.code}")
            self._actor_pools[key] = pool
        return pool[int(self._random() * len(pool))]

    # ---- when: working-time positions of the province's calendar
    def _anchor(self, cal: BusinessCalendar) -> int:
        """The position of the calendar's first opening in 2000 (positions are measured from it, in
        hours, where floats pick moments)."""
        anchor = self._anchors.get(id(cal))
        if anchor is None:
            anchor = self._anchors[id(cal)] = cal.wall_position(cal.wall_next_opening(0))
        return anchor

    def _hours_at(self, cal: BusinessCalendar, wall: int) -> float:
        """Working hours from the anchor to `wall`."""
        return (cal.wall_position(wall) - self._anchor(cal)) / US_PER_HOUR

    def _at_hours(self, cal: BusinessCalendar, hours: float) -> int:
        """The wall time `hours` working hours after the anchor."""
        return cal.wall_at_position(self._anchor(cal) + max(1, round(hours * US_PER_HOUR)))

    def _back(self, cal: BusinessCalendar, wall: int, hours: float) -> int:
        """The wall time `hours` working hours before `wall` (used only to pick times)."""
        anchor = self._anchor(cal)
        return cal.wall_at_position(max(anchor + 1, cal.wall_position(wall) - round(hours * US_PER_HOUR)))

    def _start_hint(self, spec: Spec, cal: BusinessCalendar) -> int:
        """Submission time (wall time): uniform for closed requests, worked back from 'now' for open ones."""
        ctx, rng = self.ctx, self.rng
        last = spec.plan[-1]
        if spec.klass in ("completed", "rejected"):
            # Uniform over the office hours of the period (a yearly renewal: of its renewal season);
            # the history is fitted before now later.
            span = self._spans.get(id(cal))
            if span is None:
                span = self._spans[id(cal)] = (self._hours_at(cal, self._start),
                                               self._hours_at(cal, self._now - 25 * US_PER_DAY))
            first, last = span
            if spec.renews_year is not None:
                end = wall_of_day(JALALI.ends[spec.renews_year])
                window = ctx.renewal_window.get(self.members.pid[spec.member], 60) - 1
                first = max(first, self._hours_at(cal, end - window * US_PER_DAY))
                last = min(last, self._hours_at(cal, end + 90 * US_PER_DAY))
            begin = self._at_hours(cal, first + rng.random() * max(0.0, last - first))
            return self._maybe_off_hours(cal, begin)
        # Open and returned requests: when did the last thing happen?
        now = self._now
        before = spec.plan[:-1]
        if spec.klass == "returned":
            target = self._back(cal, now, rng.random() * 10 * cal.day_hours)
            hours = sum([st[2] for st in spec.plan if st[0].clock and st[1] != "resubmit"])
        elif last[0].clock:
            target = self._back(cal, now, last[2])
            hours = sum([st[2] for st in before if st[0].clock and st[1] != "resubmit"])
        else:
            target = now - days_us(last[2])
            hours = sum([st[2] for st in before if st[0].clock and st[1] != "resubmit"])
        days = sum([st[2] for st in before if not st[0].clock or st[1] == "resubmit"])
        begin = self._back(cal, target - days_us(days), hours)
        return self._maybe_off_hours(cal, begin)

    def _maybe_off_hours(self, cal: BusinessCalendar, moment: int) -> int:
        """About 15 % of requests are filed outside office hours: in the closed time just before."""
        if self.rng.random() >= 0.15:
            return moment
        day_open = moment - moment % US_PER_DAY + cal.opens_us
        if moment < day_open or not cal.wall_is_working(moment):
            return moment
        previous_close = self._back(cal, day_open, 0.0)
        if previous_close >= day_open:
            return moment
        closed = timedelta(microseconds=day_open - previous_close)
        return previous_close + span_us(closed * (0.02 + 0.96 * self.rng.random()))

    # ---- the timeline
    def _timeline(self, spec: Spec, start: int, cal: BusinessCalendar) -> tuple[list[tuple], int]:
        """When each step happened, from a submission time: (entered, left, claimed_at, assessed_at)
        per step, and the latest of those moments (all wall times). `left` is None for the step
        the request stands at now. What people did is recorded to the second (`_SECOND`)."""
        add = cal.wall_add
        per_hour = US_PER_HOUR
        t = start
        times = []
        for s, outcome, amount, actor, claim, _ in spec.plan:
            if outcome == "resubmit" or not s.clock:
                if outcome == "open":
                    times.append((t, None, None, None))
                    continue
                left = t + days_us(amount)
                left -= left % _SECOND
                times.append((t, left, None, None))
                t = left
                continue
            if outcome == "open":
                claimed = None
                if claim is not None:
                    now = self._now
                    hours = claim * max(0.0, (cal.wall_position(now) - cal.wall_position(t)) / per_hour)
                    claimed = add(t, (round(hours * per_hour) or 1) if hours else 0)
                    claimed = max(t, min(claimed - claimed % _SECOND, now))
                times.append((t, None, claimed, None))
                return times, claimed or t  # the step the request stands at is the last one
            left = add(t, round(amount * per_hour) or 1)
            left -= left % _SECOND
            claimed = assessed = None
            if claim is not None:
                claimed = add(t, round(amount * claim * per_hour) or 1)
                claimed -= claimed % _SECOND
            if s.fee and outcome == "pass":  # the fee is determined a little before the expert approves it
                assessed = add(t, round(amount * 0.85 * per_hour) or 1)
                assessed -= assessed % _SECOND
            times.append((t, left, claimed, assessed))
            t = left
        return times, t  # steps follow each other: the last one ends last

    def _fit_timeline(self, spec: Spec, cal: BusinessCalendar) -> tuple[int, list[tuple]]:
        """Shift the submission back until nothing in the history is after 'now'."""
        now = self._now
        start = second_floor(spec.start_hint)
        for _ in range(20):
            times, latest = self._timeline(spec, start, cal)
            # The clock must have started too: a request filed in tonight's closed hours would
            # have its clock start in the future.
            if latest <= now and cal.wall_next_opening(start) <= now:
                return start, times
            start -= max(latest - now, 0) + 12 * 3600 * 1_000_000
        raise RuntimeError("could not fit a request's history before now")  # pragma: no cover
