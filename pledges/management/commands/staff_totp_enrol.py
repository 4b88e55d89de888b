"""Give a staff user a TOTP device (a second factor for the admin and the
token endpoint), or take it away."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Enrol a staff user in TOTP two-factor sign-in and print the otpauth:// link for their authenticator app."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--remove", action="store_true", help="Remove the user's TOTP devices instead")

    @transaction.atomic
    def handle(self, *args, username: str, remove: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        TOTPDevice.objects.filter(user=user).delete()
        if remove:
            self.stdout.write(f"{username} signs in with a password alone now.")
            return
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        self.stdout.write(f"{username} now needs a code from their authenticator app to sign in.")
        self.stdout.write(f"Add this to the app (as a QR code or by hand): {device.config_url}")
