from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import devices_for_user

# Paths a signed-in user may reach before passing the second factor.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/accounts/login/", "/accounts/logout/", "/accounts/2fa/", "/canh-bao/")


class RequireTwoFactorMiddleware:
    """Administrators and approvers must pass TOTP before anything else: set it up first if they have none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and user.requires_two_factor()
            and not user.is_verified()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"error": {"code": "two_factor_required", "message": _("Two-factor verification is required.")}},
                    status=403,
                )
            has_device = any(True for _d in devices_for_user(user, confirmed=True))
            target = "accounts:two_factor_verify" if has_device else "accounts:two_factor_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
