"""Which federal offset programs a case qualifies for, and why not (agency-formats.md §5.1).

The rules are data, in ``mappings/federal/offset/_eligibility.toml``: per program its arrears
thresholds by case type (tax refund offset $150 TANF / $500 non-TANF, passport denial more than
$2,500), the exclusion code that opts the case out, which of the same NCP's other cases count
toward the threshold, and waiting periods (passport referral 30 days after the Pre-Offset Notice).
The debt components that are not certifiable (fees, court costs, medical support without a specific
amount ...) are named there too and taken out of the arrears before any comparison.

``eligibility`` is pure: the caller (the case feed) passes the date it decides on and the NCP's other
cases; nothing here reads a clock, a database or a file beyond the rules.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from adapters.canonical import OffsetCase
from adapters.errors import LayoutError
from adapters.layout import MAPPINGS_DIR

RULES_PATH = MAPPINGS_DIR / "federal" / "offset" / "_eligibility.toml"
COMPARISONS = {"at_least": Decimal.__ge__, "more_than": Decimal.__gt__}
COMBINE = frozenset({"same_case_type", "all_case_types", "none"})


@dataclass(frozen=True, slots=True)
class Threshold:
    amount: Decimal
    comparison: str

    def met(self, arrears: Decimal) -> bool:
        return bool(COMPARISONS[self.comparison](arrears, self.amount))

    def __str__(self) -> str:
        return f"{'at least' if self.comparison == 'at_least' else 'more than'} ${self.amount:,}"


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    title: str
    excluded_by: frozenset[str]
    combine: str
    thresholds: Mapping[str, Threshold]  # by OffsetCaseType value (A TANF, N non-TANF)
    notice_wait_days: int | None
    status: str


@dataclass(frozen=True, slots=True)
class Rules:
    programs: Mapping[str, Program]
    leaving_transactions: frozenset[str]
    not_certifiable: frozenset[str]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a case does not qualify; ``code`` is stable, ``message`` carries no personal data."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    program: str
    eligible: bool
    arrears: Decimal  # the certifiable arrears compared with the threshold (combined where allowed)
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Per program: qualifies or not, the amount compared, and every reason it does not."""

    decisions: Mapping[str, Decision]

    @property
    def programs(self) -> frozenset[str]:
        """The programs the case qualifies for."""
        return frozenset(name for name, d in self.decisions.items() if d.eligible)

    def why_not(self, program: str) -> tuple[Reason, ...]:
        return self.decisions[program].reasons


def _program(name: str, raw: Mapping[str, Any]) -> Program:
    try:
        combine = str(raw["combine"])
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {sorted(COMBINE)}")
        thresholds = {}
        for case_type, t in raw["thresholds"].items():
            if t["comparison"] not in COMPARISONS:
                raise ValueError(f"comparison must be one of {sorted(COMPARISONS)}")
            thresholds[str(case_type)] = Threshold(Decimal(str(t["amount"])), str(t["comparison"]))
        wait = raw.get("notice_wait_days")
        return Program(
            name=name,
            title=str(raw["title"]),
            excluded_by=frozenset(raw["excluded_by"]),
            combine=combine,
            thresholds=thresholds,
            notice_wait_days=None if wait is None else int(wait),
            status=str(raw["status"]),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise LayoutError(f"{RULES_PATH.name}: program {name!r} is malformed: {exc}") from None


def rules_from(doc: Mapping[str, Any]) -> Rules:
    """Rules from a parsed TOML document (tests build variants with it)."""
    programs = doc.get("programs")
    if not isinstance(programs, Mapping) or not programs:
        raise LayoutError(f"{RULES_PATH.name}: needs [programs.*] tables")
    general = doc.get("general", {})
    return Rules(
        programs={n: _program(n, p) for n, p in programs.items()},
        leaving_transactions=frozenset(general.get("leaving_transactions", ())),
        not_certifiable=frozenset(general.get("not_certifiable", ())),
    )


@cache
def load_rules(path: Path = RULES_PATH) -> Rules:
    return rules_from(tomllib.loads(path.read_text(encoding="utf-8")))


def eligibility(
    case: OffsetCase,
    *,
    as_of: dt.date,
    related: Iterable[OffsetCase] = (),
    not_certifiable: Mapping[str, Decimal] | None = None,
    rules: Rules | None = None,
) -> Eligibility:
    """Decide every program of the rules for ``case`` on ``as_of``.

    ``related`` are the NCP's other cases (only those with the same SSN and submitting state count);
    their arrears are taken as certifiable. ``not_certifiable`` names amounts inside this case's
    arrears that may not be certified, keyed by the component names of the rules file.
    """
    rules = rules or load_rules()
    parts = dict(not_certifiable or {})
    unknown = set(parts) - rules.not_certifiable
    if unknown:
        raise ValueError(f"unknown debt components {sorted(unknown)}; the rules name {sorted(rules.not_certifiable)}")
    own = max((case.arrears_amount or Decimal(0)) - sum(parts.values(), Decimal(0)), Decimal(0))
    others = [
        c
        for c in related
        if c.ssn == case.ssn
        and c.submitting_state == case.submitting_state
        and c is not case
        and c.transaction_type.value not in rules.leaving_transactions
    ]
    return Eligibility({name: _decide(p, case, own, others, as_of, rules) for name, p in rules.programs.items()})


def _decide(
    p: Program, case: OffsetCase, own: Decimal, others: list[OffsetCase], as_of: dt.date, rules: Rules
) -> Decision:
    reasons: list[Reason] = []
    if case.transaction_type.value in rules.leaving_transactions:
        reasons.append(
            Reason("LEAVING", f"a {case.transaction_type.value} transaction takes the case out of the program")
        )
    excluded = sorted(p.excluded_by & {e.value for e in case.exclusions})
    if excluded:
        reasons.append(Reason("EXCLUDED", f"the case carries the exclusion {', '.join(excluded)}"))
    case_type = case.case_type.value if case.case_type else None
    if p.combine == "same_case_type":
        others = [c for c in others if c.case_type is not None and c.case_type.value == case_type]
    elif p.combine == "none":
        others = []
    arrears = own + sum((c.arrears_amount or Decimal(0) for c in others), Decimal(0))
    threshold = p.thresholds.get(case_type) if case_type else None
    if case.arrears_amount is None:
        reasons.append(Reason("NO_ARREARS", "the case states no arrearage amount"))
    elif threshold is None:
        reasons.append(Reason("CASE_TYPE_UNKNOWN", "no threshold for the case's case type (TANF or non-TANF)"))
    elif not threshold.met(arrears):
        reasons.append(Reason("BELOW_THRESHOLD", f"certifiable arrears ${arrears:,} are not {threshold}"))
    if p.notice_wait_days is not None:
        notice = case.pre_offset_notice_date
        if notice is None:
            reasons.append(Reason("NO_NOTICE", "no Pre-Offset Notice date: the waiting period cannot start"))
        elif as_of < notice + dt.timedelta(days=p.notice_wait_days):
            reasons.append(
                Reason("NOTICE_WAIT", f"referral waits {p.notice_wait_days} days after the Pre-Offset Notice")
            )
    return Decision(program=p.name, eligible=not reasons, arrears=arrears, reasons=tuple(reasons))
