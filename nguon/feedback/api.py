"""Staff JSON API for feedback (/api/v1/feedback/)."""

from ninja import Router

router = Router(tags=["feedback"])
