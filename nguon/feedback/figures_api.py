"""Feedback figures through the API (/api/v1/feedback/figures), for dashboards and the reports app."""

from ninja import Router

router = Router(tags=["feedback"])
