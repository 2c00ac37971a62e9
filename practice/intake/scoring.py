"""Scoring an intake: subscale means, pattern flags with their reasons, and the safety screen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from practice.intake.questionnaire import TEXT_KINDS, Item, Questionnaire

LEVELS = ("none", "elevated", "high")
NOT_SCORABLE = "not_scorable"
CODEPENDENT = "codependent"
HYPER_INDEPENDENT = "hyper_independent"
FLAGGED = ("elevated", "high")
# A subscale is prorated (mean of the answered items) while no more than this share is missing.
MAX_MISSING = Fraction(1, 5)
# A keyed score at or above "Agree" pushes towards the pattern and is shown as a reason.
DRIVER_MIN = 4


class AnswerError(ValueError):
    """Answers that do not fit the form; `problems` maps each item id to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        listed = "; ".join(f"{item_id}: {problem}" for item_id, problem in self.problems.items())
        super().__init__(f"answers do not fit the form: {listed}")


@dataclass(frozen=True)
class Driver:
    """An answer pushing towards the pattern, as the client gave it."""

    item_id: str
    text: str
    answer_label: str
    keyed_score: float
    subscale_id: str = ""
    reverse: bool = False


@dataclass(frozen=True)
class SubscaleScore:
    subscale_id: str
    title: str
    mean: float | None
    answered: int
    total: int
    prorated: bool
    scorable: bool
    pattern_id: str = ""


@dataclass(frozen=True)
class Flag:
    pattern_id: str
    title: str
    level: str
    score: float | None
    provisional: bool
    subscales: tuple[SubscaleScore, ...]
    drivers: tuple[Driver, ...]
    elevated: float | None = None
    high: float | None = None

    @property
    def flagged(self) -> bool:
        """Whether the pattern reached the elevated or high level."""
        return self.level in FLAGGED


@dataclass(frozen=True)
class SafetyResult:
    urgent: bool
    endorsed: tuple[str, ...]
    unanswered: tuple[str, ...]
    # Free-text answers whose words suggest harm or danger: for a clinician to read, not a flag
    # that decides anything (a word list both misses and over-catches).
    mentioned_in: tuple[str, ...] = ()


# Phrases that, written in a free-text answer, ask for a clinician to look soon. Kept short and
# plain; matched case-insensitively on word boundaries.
SAFETY_WORDS = re.compile(
    r"\b(?:"
    r"suicid\w*|kill(?:ing)? (?:myself|me|him|her|them)|end(?:ing)? (?:my life|it all)"
    r"|(?:don'?t|do not) want to (?:live|be alive|be here)|self[- ]?harm\w*"
    r"|(?:hurt|cut|cutting|hurting) myself|overdos\w*"
    r"|(?:hits?|hitting|beats?|beating|chok\w*|strangl\w*|slaps?|slapping|kicks?|kicking) me"
    r"|threat\w*|abus\w*|rap(?:e|ed|ing)\b|stalk\w*"
    r"|want(?:ed)? to die|wish I (?:was|were) dead|better off dead"
    r"|(?:afraid|scared|frightened|terrified) (?:of|for) "
    r"(?:him|her|them|my (?:partner|husband|wife|life|safety))"
    r"|won'?t let me|controls? (?:me|my)"
    r")",
    re.IGNORECASE,
)


def safety_mentions(q: Questionnaire, clean: Mapping[str, str]) -> tuple[str, ...]:
    """The free-text items whose answers use words of harm or danger."""
    return tuple(
        item.id
        for item in q.items.values()
        if item.kind in TEXT_KINDS and SAFETY_WORDS.search(clean.get(item.id, ""))
    )


@dataclass(frozen=True)
class ScreenResult:
    subscales: dict[str, SubscaleScore]
    flags: dict[str, Flag]
    safety: SafetyResult
    questionnaire: str = ""
    version: int = 0

    @property
    def highest_level(self) -> str:
        """The strongest flag level, where not scorable counts as none."""
        ranks = [LEVELS.index(f.level) for f in self.flags.values() if f.level in LEVELS]
        return LEVELS[max(ranks, default=0)]

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict, for the command line and for storage."""
        return {
            "questionnaire": self.questionnaire,
            "version": self.version,
            "highest_level": self.highest_level,
            "subscales": {key: asdict(value) for key, value in self.subscales.items()},
            "flags": {
                key: {**asdict(flag), "explanation": explain(flag)}
                for key, flag in self.flags.items()
            },
            "safety": {
                "urgent": self.safety.urgent,
                "endorsed": list(self.safety.endorsed),
                "unanswered": list(self.safety.unanswered),
                "mentioned_in": list(self.safety.mentioned_in),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScreenResult:
        """Rebuild a result stored with to_json."""

        def subscale(row: Mapping[str, Any]) -> SubscaleScore:
            return SubscaleScore(**row)

        flags = {}
        for key, row in data["flags"].items():
            fields = {k: v for k, v in row.items() if k != "explanation"}
            fields["subscales"] = tuple(subscale(s) for s in row["subscales"])
            fields["drivers"] = tuple(Driver(**d) for d in row["drivers"])
            flags[key] = Flag(**fields)
        safety = data["safety"]
        return cls(
            subscales={key: subscale(row) for key, row in data["subscales"].items()},
            flags=flags,
            safety=SafetyResult(
                urgent=safety["urgent"],
                endorsed=tuple(safety["endorsed"]),
                unanswered=tuple(safety["unanswered"]),
                mentioned_in=tuple(safety.get("mentioned_in", ())),
            ),
            questionnaire=data.get("questionnaire", ""),
            version=data.get("version", 0),
        )


def _clean_one(item: Item, raw: object) -> tuple[str, str | None]:
    """The cleaned answer ("" when missing), or a problem to report."""
    if raw is None:
        return "", None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return "", f"must be text, not {type(raw).__name__}"
    value = str(raw).strip()
    if not value:
        return "", None
    if item.kind == "yes_no":
        value = value.lower()
    if item.kind in ("agreement", "choice", "yes_no"):
        if item.choice(value) is None:
            allowed = ", ".join(f"{c.value} ({c.label})" for c in item.choices)
            return "", f"{value!r} is not one of the answers: {allowed}"
        return value, None
    if "\x00" in value:
        return "", "contains a character that cannot be stored"
    if item.max_length is not None and len(value) > item.max_length:
        return "", f"is {len(value)} characters long; the most is {item.max_length}"
    return value, None


def validate_answers(
    q: Questionnaire, answers: Mapping[str, str], *, check_required: bool = False
) -> dict[str, str]:
    """Answers cleaned and checked against the form; blank ones are left out.

    Raises AnswerError naming every problem. With check_required, a missing answer to a
    required item is a problem too (for submission; scoring itself tolerates gaps).
    """
    items = q.items
    cleaned: dict[str, str] = {}
    problems: dict[str, str] = {}
    for item_id, raw in answers.items():
        item = items.get(item_id)
        if item is None:
            problems[str(item_id)] = "is not a question on this form"
            continue
        value, problem = _clean_one(item, raw)
        if problem:
            problems[item_id] = problem
        elif value:
            cleaned[item_id] = value
    if check_required:
        for item in items.values():
            if item.required and item.id not in cleaned and item.id not in problems:
                problems[item.id] = "needs an answer"
    if problems:
        raise AnswerError(problems)
    return cleaned


def keyed_score(item: Item, value: str) -> int:
    """The answer's weight on the pattern's side: reverse-keyed items are flipped (6 - x)."""
    weights = [c.weight for c in item.choices if c.weight is not None]
    choice = item.choice(value)
    if choice is None or choice.weight is None:
        raise AnswerError({item.id: f"{value!r} has no score"})
    if item.reverse:
        return min(weights) + max(weights) - choice.weight
    return choice.weight


def _level(score: Fraction | None, elevated: float, high: float) -> str:
    if score is None:
        return NOT_SCORABLE
    # Exact arithmetic, so a mean of exactly 3.5 meets a 3.5 threshold.
    if score >= Fraction(repr(high)):
        return "high"
    if score >= Fraction(repr(elevated)):
        return "elevated"
    return "none"


def score(q: Questionnaire, answers: Mapping[str, str]) -> ScreenResult:
    """Score one person's answers: subscales, a flag per pattern, and the safety screen."""
    clean = validate_answers(q, answers)
    items = q.items

    means: dict[str, Fraction | None] = {}
    subscales: dict[str, SubscaleScore] = {}
    for subscale in q.subscales:
        keyed = [keyed_score(items[i], clean[i]) for i in subscale.items if i in clean]
        total = len(subscale.items)
        missing = total - len(keyed)
        scorable = bool(keyed) and Fraction(missing, total) <= MAX_MISSING
        mean = Fraction(sum(keyed), len(keyed)) if scorable else None
        means[subscale.id] = mean
        subscales[subscale.id] = SubscaleScore(
            subscale_id=subscale.id,
            title=subscale.title,
            mean=None if mean is None else float(mean),
            answered=len(keyed),
            total=total,
            prorated=scorable and missing > 0,
            scorable=scorable,
            pattern_id=subscale.pattern,
        )

    flags: dict[str, Flag] = {}
    for pattern in q.patterns:
        parts = [means[s] for s in pattern.subscales]
        pattern_score = None
        if all(part is not None for part in parts):
            pattern_score = sum(parts, Fraction(0)) / len(parts)
        flags[pattern.id] = Flag(
            pattern_id=pattern.id,
            title=pattern.title,
            level=_level(pattern_score, pattern.elevated, pattern.high),
            score=None if pattern_score is None else float(pattern_score),
            provisional=pattern.provisional,
            subscales=tuple(subscales[s] for s in pattern.subscales),
            drivers=_drivers(q, pattern.subscales, clean),
            elevated=pattern.elevated,
            high=pattern.high,
        )

    return ScreenResult(
        subscales=subscales,
        flags=flags,
        safety=_safety(q, clean),
        questionnaire=q.id,
        version=q.version,
    )


def _drivers(
    q: Questionnaire, subscale_ids: tuple[str, ...], clean: dict[str, str]
) -> tuple[Driver, ...]:
    drivers = []
    for subscale_id in subscale_ids:
        for item_id in q.subscale(subscale_id).items:
            if item_id not in clean:
                continue
            item = q.item(item_id)
            keyed = keyed_score(item, clean[item_id])
            if keyed >= DRIVER_MIN:
                drivers.append(
                    Driver(
                        item_id=item_id,
                        text=item.text,
                        answer_label=item.choice(clean[item_id]).label,
                        keyed_score=float(keyed),
                        subscale_id=subscale_id,
                        reverse=item.reverse,
                    )
                )
    # Strongest first; ties keep the order the client saw them.
    order = list(q.items)
    drivers.sort(key=lambda d: (-d.keyed_score, order.index(d.item_id)))
    return tuple(drivers)


def safety_screen(q: Questionnaire, answers: Mapping[str, str]) -> SafetyResult:
    """The safety screen alone, for answers saved before the intake is sent."""
    return _safety(q, validate_answers(q, answers))


def _safety(q: Questionnaire, clean: dict[str, str]) -> SafetyResult:
    """Each safety item on its own: never totalled, never prorated."""
    endorsed = tuple(item.id for item in q.safety_items if clean.get(item.id) == "yes")
    unanswered = tuple(item.id for item in q.safety_items if item.id not in clean)
    return SafetyResult(
        urgent=bool(endorsed),
        endorsed=endorsed,
        unanswered=unanswered,
        mentioned_in=safety_mentions(q, clean),
    )


def explain(flag: Flag) -> str:
    """One plain sentence a therapist can read: level, score, thresholds and subscales."""
    parts = ", ".join(
        f"{s.title} {s.mean:.2f}{' (prorated)' if s.prorated else ''}"
        if s.scorable
        else f"{s.title} not scorable ({s.answered} of {s.total} answered)"
        for s in flag.subscales
    )
    provisional = "provisional " if flag.provisional else ""
    if flag.score is None:
        head = f"{flag.title}: not scorable, too many answers missing"
    else:
        head = (
            f"{flag.title}: {flag.level} ({flag.score:.2f} on a 1-5 scale; {provisional}"
            f"thresholds elevated {flag.elevated:g}, high {flag.high:g})"
        )
    reasons = f" {len(flag.drivers)} answers point this way." if flag.drivers else ""
    return f"{head}. {parts}.{reasons}"


def pursue_withdraw(a: ScreenResult, b: ScreenResult) -> bool:
    """One partner flagged codependent, the other hyper-independent: the pursue-withdraw cycle."""

    def flagged(result: ScreenResult, pattern_id: str) -> bool:
        flag = result.flags.get(pattern_id)
        return flag is not None and flag.flagged

    return (flagged(a, CODEPENDENT) and flagged(b, HYPER_INDEPENDENT)) or (
        flagged(b, CODEPENDENT) and flagged(a, HYPER_INDEPENDENT)
    )
