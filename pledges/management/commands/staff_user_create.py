"""Create (or update) a staff user with a role, and print their API token."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from knox.models import AuthToken

from pledges.roles import ROLES


class Command(BaseCommand):
    help = "Create a staff user with a role (viewer, reconciler, fund_admin) and print a new API token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Set this password; a random one is generated and printed otherwise")

    @transaction.atomic
    def handle(self, *args, username: str, role: str, email: str, password: str | None, **options) -> None:
        if not username.strip():
            raise CommandError("The username cannot be empty.")
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        generated = password is None and created
        if password or created:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
        user.is_staff = True  # may sign in to the admin; what they can do there follows the role
        if email:
            user.email = email
        user.save()
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.groups.add(Group.objects.get(name=role))
        # A new token each time (only its digest is kept, so none can be shown again).
        instance, token = AuthToken.objects.create(user=user)
        self.stdout.write(f"{'Created' if created else 'Updated'} {username} with the role {role}.")
        if generated:
            self.stdout.write(f"password: {password}")
        self.stdout.write(f"token: {token}")
        expiry = f"expires {instance.expiry:%Y-%m-%d %H:%M} UTC" if instance.expiry else "never expires"
        self.stdout.write(f"The token {expiry}; revoke it with POST /api/v1/auth/token/revoke/.")
