from django.utils.functional import SimpleLazyObject

from nguon.notifications.queries import badge_state


def badge(request):
    """The bell in the header: computed only when a page renders it, for people past their second factor."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if user.requires_two_factor() and not user.is_verified():
        return {}
    return {"notification_badge": SimpleLazyObject(lambda: badge_state(user))}
