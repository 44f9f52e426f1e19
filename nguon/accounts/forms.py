from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.template import loader
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.roles import Capability, Role
from nguon.core.forms import Form, XmlSafeFormMixin


class LoginForm(XmlSafeFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong username or password. Note that the password is case-sensitive."),
        "inactive": _("This account is disabled."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordResetRequestForm(XmlSafeFormMixin, PasswordResetForm):
    """Ask for a reset link; the answer is the same whether or not the address has an account."""

    email = forms.EmailField(
        label=_("E-mail address of your account"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        from nguon.accounts.tasks import send_password_reset_mail

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        send_password_reset_mail(subject, body, from_email, to_email)


class NewPasswordForm(XmlSafeFormMixin, SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")
        self.fields["new_password2"].help_text = _("Enter the same password again, to be sure of it.")
        self.error_messages = {**self.error_messages, "password_mismatch": _("The two passwords differ.")}


class TokenForm(Form):
    token = forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class UnitChoiceMixin:
    def limit_units(self, user, capability):
        field = self.fields["unit"]
        field.queryset = units_for_user(user, capability).current()
        field.label_from_instance = lambda u: f"{'— ' * (u.depth)}{u.name} ({u.code})"


class UserCreateForm(UnitChoiceMixin, Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    role = forms.ChoiceField(label=_("First role"), choices=[("", "—"), *Role.choices], required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_units(user, Capability.MANAGE_USERS)


class GrantForm(UnitChoiceMixin, Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_units(user, Capability.MANAGE_USERS)


def add_domain_error(form: forms.Form, error) -> None:
    """Show a domain error on the form: per field where it names fields, else at the top."""
    placed = False
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed or not error.fields:
        form.add_error(None, error.message)
