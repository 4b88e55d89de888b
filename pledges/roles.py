"""Staff roles are Django groups (created by a migration), each including
the ones below it: a fund admin can do everything a reconciler can, and a
reconciler everything a viewer can."""

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.permissions import BasePermission

VIEWER = "viewer"
RECONCILER = "reconciler"
FUND_ADMIN = "fund_admin"
ROLES = (VIEWER, RECONCILER, FUND_ADMIN)


def user_roles(user: User | AnonymousUser) -> set[str]:
    """The roles a user holds, with the ones their role includes."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return set(ROLES)
    held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return {role for role in ROLES if any(ROLES.index(h) >= ROLES.index(role) for h in held)}


def has_role(user, role: str) -> bool:
    return role in user_roles(user)


class RolePermission(BasePermission):
    """Allows users holding `role` (or a role above it). DRF answers 401 to
    anonymous requests and 403 to the wrong role."""

    role = VIEWER
    message = "This needs the {role} role."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if not hasattr(request, "_roles"):
            request._roles = user_roles(request.user)
        if self.role in request._roles:
            return True
        self.message = f"This needs the {self.role} role."
        return False


class IsViewer(RolePermission):
    role = VIEWER


class IsReconciler(RolePermission):
    role = RECONCILER


class IsFundAdmin(RolePermission):
    role = FUND_ADMIN
