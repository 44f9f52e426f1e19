"""Small presentation filters for the device pages."""

from django import template
from django.utils.formats import number_format

from nguon.broadcast.monitoring import SKEW_WARNING_MS

register = template.Library()


@register.filter
def skew(ms) -> str:
    """Clock skew in seconds with its sign, e.g. "+1,25 s" (formatted for the active language)."""
    if ms is None:
        return "—"
    seconds = ms / 1000
    sign = "+" if seconds > 0 else "−" if seconds < 0 else ""
    return f"{sign}{number_format(abs(seconds), 2)} s"


@register.filter
def skew_bad(ms) -> bool:
    return ms is not None and abs(ms) > SKEW_WARNING_MS


@register.filter
def percent(rate) -> str:
    """A 0..1 share as a percentage with one decimal, "—" when there is nothing to divide."""
    if rate is None:
        return "—"
    return f"{number_format(rate * 100, 1)} %"
