"""Labels of the reports app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import register

register(
    "reports",
    actions={
        "reports.run_requested": _("Report generation requested"),
        "reports.run_scheduled": _("Scheduled report queued"),
        "reports.run_done": _("Report generated and archived"),
        "reports.run_failed": _("Report generation failed"),
        "reports.schedule_created": _("Report schedule created"),
        "reports.schedule_changed": _("Report schedule changed"),
        "reports.schedule_deleted": _("Report schedule deleted"),
    },
    fields={
        "report": _("Report"),
        "period": _("Period"),
        "period_kind": _("Every"),
        "formats": _("Formats"),
        "files": _("SHA-256 of the files"),
        "cutoff_at": _("Figures up to"),
        "error": _("Error"),
        "recipients": _("Recipients"),
        "is_active": _("Active"),
    },
)
