"""Roles and what each one may do. Later apps add capabilities here, in one place."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("System administrator")
    EDITOR = "editor", _("Editor")
    APPROVER = "approver", _("Approver (editorial board)")
    OPERATOR = "operator", _("Station operator")
    TECHNICIAN = "technician", _("Technician")
    VIEWER = "viewer", _("Viewer")


class Capability(models.TextChoices):
    VIEW = "view", _("See the unit and its data")
    MANAGE_UNITS = "manage_units", _("Edit units and organisations")
    MANAGE_USERS = "manage_users", _("Create accounts and grant roles")
    VIEW_AUDIT = "view_audit", _("Read the audit log")
    EDIT_CONTENT = "edit_content", _("Write and edit bulletins, upload media")
    APPROVE_CONTENT = "approve_content", _("Approve, return, publish and withdraw bulletins")
    ADOPT_CONTENT = "adopt_content", _("Take bulletins into the unit's programme")
    MANAGE_LEXICON = "manage_lexicon", _("Edit the pronunciation dictionary")
    MANAGE_DEVICES = "manage_devices", _("Register, enrol and configure devices")
    OPERATE_DEVICES = "operate_devices", _("Schedule programmes and send commands to devices")
    ISSUE_ALERTS = "issue_alerts", _("Compose and import emergency alerts")
    APPROVE_ALERTS = "approve_alerts", _("Approve, issue and cancel emergency alerts")
    HANDLE_FEEDBACK = "handle_feedback", _("Receive, route and answer citizens' feedback")
    APPROVE_FEEDBACK = "approve_feedback", _("Approve and publish answers to citizens' feedback")
    SCHEDULE_REPORTS = "schedule_reports", _("Schedule periodic reports and choose who receives them by e-mail")


ALL_ROLES = frozenset(Role)

CAPABILITIES: dict[Capability, frozenset[Role]] = {
    Capability.VIEW: ALL_ROLES,
    Capability.MANAGE_UNITS: frozenset({Role.ADMIN}),
    Capability.MANAGE_USERS: frozenset({Role.ADMIN}),
    Capability.VIEW_AUDIT: frozenset({Role.ADMIN, Role.APPROVER, Role.VIEWER}),
    Capability.EDIT_CONTENT: frozenset({Role.EDITOR, Role.APPROVER}),
    Capability.APPROVE_CONTENT: frozenset({Role.APPROVER}),
    Capability.ADOPT_CONTENT: frozenset({Role.EDITOR, Role.APPROVER, Role.OPERATOR}),
    Capability.MANAGE_LEXICON: frozenset({Role.ADMIN, Role.EDITOR, Role.APPROVER}),
    Capability.MANAGE_DEVICES: frozenset({Role.ADMIN, Role.TECHNICIAN}),
    Capability.OPERATE_DEVICES: frozenset({Role.OPERATOR, Role.APPROVER}),
    Capability.ISSUE_ALERTS: frozenset({Role.EDITOR, Role.APPROVER, Role.OPERATOR}),
    Capability.APPROVE_ALERTS: frozenset({Role.APPROVER}),
    Capability.HANDLE_FEEDBACK: frozenset({Role.EDITOR, Role.APPROVER, Role.OPERATOR}),
    Capability.APPROVE_FEEDBACK: frozenset({Role.APPROVER}),
    Capability.SCHEDULE_REPORTS: frozenset({Role.ADMIN, Role.APPROVER}),
}

# Roles whose holders must pass a TOTP check at every sign-in.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.APPROVER})


def roles_with(capability: Capability) -> frozenset[Role]:
    return CAPABILITIES[capability]
