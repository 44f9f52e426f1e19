"""Feedback figures for dashboards and reports, computed in the database with one aggregate query per breakdown.

The figures describe the feedback *received* in a period (a cohort): how many came in, were accepted or refused,
have been answered, answered on time; how many are still open past their deadline now; the average days from
receipt to answer and the average satisfaction (1–5) of the rated ones. They are broken down by topic, commune,
channel and by day, week or month of receipt. A user sees only feedback about places in their units' subtrees or
handled there (as `Feedback.objects.in_subtree`), per grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from nguon.accounts.roles import Capability
from nguon.feedback.access import feedback_for_user
from nguon.feedback.models import OPEN_STATUSES, Channel, Status, Topic
from nguon.units.models import Unit

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# Longest range the dashboard and the API accept (per-day series stay readable; reports ask per year).
MAX_DAYS = 731


@dataclass
class Figures:
    """One row of figures (the totals, or one topic, commune, channel or period)."""

    key: str = ""
    label: str = ""
    received: int = 0
    accepted: int = 0
    refused: int = 0
    answered: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    average_days: float | None = None
    satisfaction: float | None = None
    rated: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.answered if self.answered else None


@dataclass
class Report:
    first_day: date
    last_day: date
    period: str
    total: Figures
    by_topic: list[Figures] = field(default_factory=list)
    by_unit: list[Figures] = field(default_factory=list)
    by_channel: list[Figures] = field(default_factory=list)
    by_period: list[Figures] = field(default_factory=list)


def scoped(user, unit: Unit | None = None):
    """The feedback `user` may count: about or handled in their units' subtrees (and within `unit` when given)."""
    queryset = feedback_for_user(user, Capability.VIEW).select_related(None)
    if unit is not None:
        queryset = queryset.in_subtree(unit.path)
    return queryset


def _bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first_day, time.min), zone)
    end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), zone)
    return start, end


def _aggregates(now: datetime) -> dict:
    to_answer = ExpressionWrapper(F("answered_at") - F("received_at"), output_field=DurationField())
    return {
        "n_received": Count("pk"),
        "n_accepted": Count("pk", filter=~Q(status__in=[Status.RECEIVED, Status.REFUSED])),
        "n_refused": Count("pk", filter=Q(status=Status.REFUSED)),
        "n_answered": Count("pk", filter=Q(answered_at__isnull=False)),
        "n_on_time": Count("pk", filter=Q(answered_at__isnull=False, on_time=True)),
        "n_late": Count("pk", filter=Q(answered_at__isnull=False, on_time=False)),
        "n_overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
        "n_duration": Avg(to_answer, filter=Q(answered_at__isnull=False)),
        "n_satisfaction": Avg("rating", filter=Q(rating__isnull=False)),
        "n_rated": Count("pk", filter=Q(rating__isnull=False)),
    }


def _row(values: dict, key: str = "", label: str = "") -> Figures:
    seconds = _seconds(values.get("n_duration"))  # a timedelta, or microseconds on some backends
    satisfaction = values.get("n_satisfaction")
    return Figures(
        key=key,
        label=label,
        received=values["n_received"] or 0,
        accepted=values["n_accepted"] or 0,
        refused=values["n_refused"] or 0,
        answered=values["n_answered"] or 0,
        on_time=values["n_on_time"] or 0,
        late=values["n_late"] or 0,
        overdue=values["n_overdue"] or 0,
        average_days=round(seconds / 86400, 1) if seconds is not None else None,
        satisfaction=round(float(satisfaction), 2) if satisfaction is not None else None,
        rated=values["n_rated"] or 0,
    )


def in_period(queryset, first_day: date, last_day: date):
    start, end = _bounds(first_day, last_day)
    return queryset.filter(received_at__gte=start, received_at__lt=end)


def compute(
    user,
    first_day: date,
    last_day: date,
    *,
    unit: Unit | None = None,
    period: str = "day",
    now: datetime | None = None,
) -> Report:
    """Every figure and breakdown for the feedback `user` may see, received from `first_day` to `last_day`."""
    now = now or timezone.now()
    aggregates = _aggregates(now)
    base = in_period(scoped(user, unit), first_day, last_day).order_by()
    # One query for channels and topics together (at most a few hundred groups), rolled up here into the totals,
    # the channels and the topics: one scan of a large table instead of three. Grouped by ids; names come after.
    pairs = list(base.values("channel", "topic_id").annotate(**aggregates))
    total = _row(_combined(pairs))
    report = Report(first_day=first_day, last_day=last_day, period=period, total=total)
    if not total.received:
        return report
    labels = dict(Channel.choices)
    for channel, rows in _rolled_up(pairs, "channel"):
        report.by_channel.append(_row(rows, channel, str(labels.get(channel, channel))))
    topics = Topic.objects.in_bulk({row["topic_id"] for row in pairs})
    for topic_id, rows in _rolled_up(pairs, "topic_id"):
        report.by_topic.append(_row(rows, topics[topic_id].code, topics[topic_id].name))
    unit_rows = list(base.values("unit_id").annotate(**aggregates).order_by("-n_received"))
    units = Unit.objects.in_bulk([v["unit_id"] for v in unit_rows])
    report.by_unit = [_row(v, units[v["unit_id"]].code, units[v["unit_id"]].name) for v in unit_rows]
    trunc = PERIODS.get(period, TruncDay)("received_at", tzinfo=timezone.get_current_timezone())
    rows = base.annotate(bucket=trunc).values("bucket").annotate(**aggregates).order_by("bucket")
    for values in rows:
        bucket = values["bucket"]
        day = timezone.localtime(bucket).date() if isinstance(bucket, datetime) else bucket
        report.by_period.append(_row(values, day.isoformat(), period_label(day, period)))
    return report


def _seconds(duration) -> float | None:
    if duration is None:
        return None
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration) / 1_000_000


def _rolled_up(rows: list[dict], key: str) -> list[tuple[object, dict]]:
    """The rows combined per value of `key`, most received first."""
    groups: dict[object, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    combined = [(value, _combined(group)) for value, group in groups.items()]
    return sorted(combined, key=lambda item: (-item[1]["n_received"], str(item[0])))


def _combined(rows: list[dict]) -> dict:
    """The figures of several groups together: counts add up, averages are weighted by what they average over."""
    counts = ("n_received", "n_accepted", "n_refused", "n_answered", "n_on_time", "n_late", "n_overdue", "n_rated")
    total = {key: sum(row[key] or 0 for row in rows) for key in counts}
    answered, rated = total["n_answered"], total["n_rated"]
    seconds = sum((_seconds(row["n_duration"]) or 0) * row["n_answered"] for row in rows)
    total["n_duration"] = timedelta(seconds=seconds / answered) if answered else None
    ratings = sum(float(row["n_satisfaction"] or 0) * row["n_rated"] for row in rows)
    total["n_satisfaction"] = ratings / rated if rated else None
    return total


def period_label(day: date, period: str) -> str:
    if period == "month":
        return day.strftime("%m/%Y")
    return day.strftime("%d/%m")


DEFAULT_DAYS = 30


def date_range(first: date | None, last: date | None, *, today: date | None = None) -> tuple[date, date]:
    """The days to count: the given ones, else the last 30 days up to today; Invalid when they make no sense."""
    from django.utils.translation import gettext_lazy as _

    from nguon.core.errors import Invalid

    today = today or timezone.localdate()
    last = last or (today if first is None else min(today, first + timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Invalid(_("The end date comes before the start date."), fields={"to": [_("Choose a later end date.")]})
    if (last - first).days >= MAX_DAYS:
        message = _("Choose at most %(n)s days.") % {"n": MAX_DAYS}
        raise Invalid(message, fields={"to": [message]})
    return first, last
