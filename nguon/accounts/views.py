from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import devices_for_user

from nguon.accounts import actions
from nguon.accounts.access import get_user_for_user, grant_paths, scope_to_user, users_for_user
from nguon.accounts.forms import (
    GrantForm,
    LoginForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    TokenForm,
    UserCreateForm,
    add_domain_error,
)
from nguon.accounts.models import RoleGrant
from nguon.accounts.roles import Capability
from nguon.core.errors import DomainError, Forbidden, NotFound


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    form_class = PasswordResetRequestForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        # Links point at the configured public address, never at whatever Host header the request carried.
        self.extra_email_context = {
            "base_url": settings.PUBLIC_URL.rstrip("/"),
            "minutes": settings.PASSWORD_RESET_MINUTES,
        }
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "minutes": settings.PASSWORD_RESET_MINUTES}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        actions.do_record_password_reset(form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _next_url(request, default="core:dashboard"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(default)


@login_required
def two_factor_setup(request):
    # Replacing an authenticator needs the old one first: a password alone must not enrol a new device.
    if not request.user.is_verified() and any(True for _d in devices_for_user(request.user, confirmed=True)):
        return redirect(f"{reverse('accounts:two_factor_verify')}?{urlencode({'next': _next_url(request)})}")
    device = actions.do_start_totp_setup(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_confirm_totp_setup(request, request.user, form.cleaned_data["token"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(_next_url(request))
    import segno

    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#0b3d2e")
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "qr_svg": qr_svg, "secret": secret, "next": _next_url(request)},
    )


@login_required
def two_factor_verify(request):
    if not any(True for _d in devices_for_user(request.user, confirmed=True)):
        return redirect("accounts:two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_verify_totp(request, request.user, form.cleaned_data["token"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect(_next_url(request))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": _next_url(request)})


def _with_visible_grants(users, viewer):
    """Prefetch only the active grants on units the viewer can see (no names from outside their reach)."""
    grants = scope_to_user(RoleGrant.objects.active().select_related("unit"), viewer)
    return users.prefetch_related(Prefetch("grants", queryset=grants, to_attr="visible_grants"))


@login_required
def user_list(request):
    if not grant_paths(request.user, Capability.MANAGE_USERS):
        raise Forbidden()
    users = _with_visible_grants(users_for_user(request.user, Capability.MANAGE_USERS), request.user)
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
    form = UserCreateForm(user=request.user)
    return render(request, "accounts/user_list.html", {"users": users[:500], "form": form, "q": query})


@login_required
@require_POST
def user_create(request):
    form = UserCreateForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user = actions.do_create_user(
                    username=data["username"],
                    password=data["password"],
                    unit=data["unit"],
                    full_name=data["full_name"],
                    email=data["email"],
                    acting_user=request.user,
                )
                if data["role"]:
                    actions.do_grant_role(user, role=data["role"], unit=data["unit"], acting_user=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Account %(username)s created.") % {"username": user.username})
            return redirect("accounts:user_detail", user_id=user.pk)
    users = _with_visible_grants(users_for_user(request.user, Capability.MANAGE_USERS), request.user)
    return render(request, "accounts/user_list.html", {"users": users[:500], "form": form}, status=400)


@login_required
def user_detail(request, user_id: int):
    target = get_user_for_user(request.user, user_id, Capability.MANAGE_USERS)
    form = GrantForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_grant_role(
                target, role=form.cleaned_data["role"], unit=form.cleaned_data["unit"], acting_user=request.user
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Role granted."))
            return redirect("accounts:user_detail", user_id=target.pk)
    grants = RoleGrant.objects.filter(user=target).select_related("unit", "granted_by", "revoked_by")
    status = 400 if request.method == "POST" else 200
    context = {
        "target": target,
        "grants": grants,
        "form": form,
        "has_totp": any(True for _d in devices_for_user(target, confirmed=None)),
        "is_self": target.pk == request.user.pk,
    }
    return render(request, "accounts/user_detail.html", context, status=status)


@login_required
@require_POST
def grant_revoke(request, grant_id: int):
    grant = RoleGrant.objects.select_related("unit", "user").filter(pk=grant_id).first()
    # Visible only through a user the actor manages; otherwise it does not exist for them.
    if grant is None or not users_for_user(request.user, Capability.MANAGE_USERS).filter(pk=grant.user_id).exists():
        raise NotFound()
    actions.do_revoke_role(grant, acting_user=request.user)
    messages.success(request, _("Role revoked."))
    return redirect("accounts:user_detail", user_id=grant.user_id)


@login_required
@require_POST
def user_deactivate(request, user_id: int):
    target = get_user_for_user(request.user, user_id, Capability.MANAGE_USERS)
    actions.do_deactivate_user(target, acting_user=request.user)
    messages.success(
        request, _("Account %(username)s deactivated; its sessions have ended.") % {"username": target.username}
    )
    return redirect("accounts:user_detail", user_id=target.pk)


@login_required
@require_POST
def user_reactivate(request, user_id: int):
    target = get_user_for_user(request.user, user_id, Capability.MANAGE_USERS)
    actions.do_reactivate_user(target, acting_user=request.user)
    messages.success(request, _("Account %(username)s can sign in again.") % {"username": target.username})
    return redirect("accounts:user_detail", user_id=target.pk)


@login_required
@require_POST
def user_reset_totp(request, user_id: int):
    target = get_user_for_user(request.user, user_id, Capability.MANAGE_USERS)
    actions.do_reset_totp(target, acting_user=request.user)
    messages.success(
        request,
        _("The authenticator of %(username)s was removed; they set up a new one at their next sign-in.")
        % {"username": target.username},
    )
    return redirect("accounts:user_detail", user_id=target.pk)
