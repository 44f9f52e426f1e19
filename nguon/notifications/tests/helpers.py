"""Helpers for the notification tests: approvers and operators placed in each commune of the shared cast."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.conftest import make_user


@dataclass
class Office:
    commune_approver: User  # approver of the cast's commune (Biên Hòa)
    other_approver: User  # approver of the other commune (Trấn Biên)
    commune_operator: User
    other_operator: User
    province_technician: User


@pytest.fixture
def office(cast) -> Office:
    people = Office(
        commune_approver=make_user("approver.bienhoa", cast.commune, Role.APPROVER),
        other_approver=make_user("approver.tranbien", cast.other_commune, Role.APPROVER),
        commune_operator=make_user("operator.bienhoa", cast.commune, Role.OPERATOR),
        other_operator=make_user("operator.tranbien", cast.other_commune, Role.OPERATOR),
        province_technician=make_user("technician.tinh", cast.province, Role.TECHNICIAN),
    )
    for user in (*vars(people).values(), cast.approver, cast.commune_editor, cast.province_editor):
        user.email = f"{user.username}@example.vn"
        user.save(update_fields=["email"])
    return people


def kinds_of(user) -> list[str]:
    return list(user.notifications.order_by("id").values_list("kind", flat=True))
