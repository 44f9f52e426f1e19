"""How a time zone is named to people: `{% load zones %}{{ "Asia/Ho_Chi_Minh"|zone_label }}` → giờ Việt Nam (UTC+7)."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.translation import gettext as _

register = template.Library()

VIETNAM_ZONES = {"Asia/Ho_Chi_Minh", "Asia/Saigon"}


@register.filter
def zone_label(zone) -> str:
    """'Vietnam time (UTC+7)' for Vietnam's zone (translated); other zones by name with their current offset."""
    name = str(zone)
    if name in VIETNAM_ZONES:
        return _("Vietnam time (UTC+7)")
    try:
        offset = datetime.now(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return name
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"{name} (UTC{sign}{hours}{f':{rest:02d}' if rest else ''})"
