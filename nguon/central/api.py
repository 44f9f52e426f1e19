"""Federation endpoints between a parent (central) instance and its children (`/api/v1/central/`)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["central"])
