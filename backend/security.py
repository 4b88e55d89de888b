"""Sign-in security: the lockout answer (django-axes), the client address
it counts by, and the admin's optional TOTP second factor (django-otp)."""

from typing import cast

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from backend.problems import problem_response


def client_ip(request: HttpRequest) -> str:
    """The address axes counts failures by: the same one the throttles use
    (REMOTE_ADDR, or X-Forwarded-For behind DJANGO_NUM_PROXIES proxies)."""
    # get_ident reads only the request's META, which a Django request has.
    return BaseThrottle().get_ident(cast(Request, request))


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """429 with Retry-After: a problem document for the API, a short page for the admin."""
    seconds = lockout_seconds()
    detail = (
        f"Too many failed sign-in attempts for this account from this address. Try again in {seconds // 60} minutes."
    )
    if request.path.startswith("/api/"):
        return problem_response(429, detail, code="login-locked-out", headers={"Retry-After": str(seconds)})
    response = HttpResponse(
        f"<!doctype html><title>Locked out</title><h1>Locked out</h1><p>{escape(detail)}</p>", status=429
    )
    response["Retry-After"] = str(seconds)
    return response


def staff_totp_device(user) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if they enrolled one."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def otp_required_for(user) -> bool:
    return settings.STAFF_REQUIRE_OTP or user_has_device(user, confirmed=True)


class OptionalOTPAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """The admin login: a password, and the TOTP code for staff who have a
    device (for every one of them with STAFF_REQUIRE_OTP)."""

    def clean(self):
        cleaned = super(OTPAdminAuthenticationForm, self).clean()
        user = self.get_user()
        if user is not None and otp_required_for(user):
            self.clean_otp(user)
        return cleaned

    def _chosen_device(self, user):
        # Staff have one kind of device: take it rather than make them choose.
        return super()._chosen_device(user) or staff_totp_device(user)


class OptionalOTPAdminSite(admin.AdminSite):
    """The admin asks for the second factor of those who have one."""

    login_form = OptionalOTPAdminAuthenticationForm
    login_template = "otp/admin111/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        # django-otp's middleware gives the request's user is_verified().
        return request.user.is_verified() or not otp_required_for(request.user)  # type: ignore[union-attr]
