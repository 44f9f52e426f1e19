"""Show a link only to those who can open it: `{% load sees %}`.

    {% if user|sees:"approve_content" %}<a href="{% url 'content:inbox' %}">…</a>{% endif %}
    {% sees user "operate_devices" unit as may_operate %}   (on one unit; without a unit: anywhere)

The capability names are those of nguon.accounts.roles.Capability; a misspelt one raises at render time in
tests (TemplateSyntaxError) rather than silently hiding a link.
"""

from django import template

from nguon.accounts.access import can, grant_paths
from nguon.accounts.roles import Capability

register = template.Library()


def _capability(name: str) -> Capability:
    try:
        return Capability(name)
    except ValueError:
        raise template.TemplateSyntaxError(f"unknown capability {name!r}") from None


@register.filter
def sees(user, capability: str) -> bool:
    """True when `user` holds `capability` anywhere (so a page listing what it covers opens for them)."""
    return bool(grant_paths(user, _capability(capability)))


@register.simple_tag(name="sees")
def sees_tag(user, capability: str, unit=None) -> bool:
    """`{% sees user "cap" [unit] as name %}`: the capability on `unit`, or anywhere when no unit is given."""
    if unit is None:
        return sees(user, capability)
    return can(user, _capability(capability), unit)
