"""Admin registrations the project changes in other packages' apps."""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

# Authenticator devices are reset from the back office (accounts: audited, by administrators of the user's
# units). django-otp's own admin would edit them unaudited, and speaks English only: it is left out.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
