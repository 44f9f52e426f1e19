"""Feedback figures through the API (/api/v1/feedback/figures), for dashboards and the reports app.

`GET /api/v1/feedback/figures?from=YYYY-MM-DD&to=YYYY-MM-DD&unit=CODE&period=day|week|month`: the same figures as
the dashboard (see figures.py), counted over the feedback the signed-in user may see.
"""

from datetime import date
from typing import Literal

from ninja import Field, Query, Router

from nguon.accounts.access import get_unit_for_user
from nguon.core.schemas import ERRORS, Schema
from nguon.feedback import figures

router = Router(tags=["feedback"])


class FiguresFilter(Schema):
    date_from: date | None = Field(None, alias="from", description="first day of receipt (default: 30 days ago)")
    date_to: date | None = Field(None, alias="to", description="last day of receipt, included (default: today)")
    unit: str = Field("", max_length=20, description="unit code: the unit and every unit below it")
    period: Literal["day", "week", "month"] = "day"


class FiguresRowOut(Schema):
    key: str = Field(..., description="topic code, commune code, channel, or the first day of the period")
    label: str
    received: int
    accepted: int
    refused: int
    answered: int
    on_time: int
    late: int
    overdue: int = Field(..., description="still open and past the deadline now")
    average_days: float | None = Field(..., description="average days from receipt to answer")
    satisfaction: float | None = Field(..., description="average rating, 1 to 5")
    rated: int


class FiguresOut(Schema):
    date_from: date = Field(..., alias="first_day")
    date_to: date = Field(..., alias="last_day")
    period: str
    total: FiguresRowOut
    by_topic: list[FiguresRowOut]
    by_unit: list[FiguresRowOut]
    by_channel: list[FiguresRowOut]
    by_period: list[FiguresRowOut]


@router.get("", response={200: FiguresOut, **ERRORS}, url_name="feedback_figures")
def feedback_figures(request, filters: Query[FiguresFilter]):
    """Received, accepted, refused, answered (on time), overdue, days to answer and satisfaction, with breakdowns."""
    first_day, last_day = figures.date_range(filters.date_from, filters.date_to)
    unit = get_unit_for_user(request.auth, filters.unit) if filters.unit else None
    return figures.compute(request.auth, first_day, last_day, unit=unit, period=filters.period)
