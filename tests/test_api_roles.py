"""The staff views' role check (backend.api.RolesByMethod): viewers read, a
write needs the role its view names, and a write the view answers without
naming a role is refused to everyone rather than left open to viewers."""

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from backend.api import RolesByMethod
from pledges.roles import IsReconciler

pytestmark = pytest.mark.django_db


class Ledger(RolesByMethod):
    roles = {"POST": IsReconciler}

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"written": True})

    def delete(self, request):  # a write whose role nobody named
        return Response({"deleted": True})


def _answer(method: str, user) -> int:
    request = getattr(APIRequestFactory(), method)("/ledger/")
    force_authenticate(request, user=user)
    return Ledger.as_view()(request).status_code


def test_a_viewer_reads_but_does_not_write(viewer):
    assert _answer("get", viewer) == 200
    assert _answer("post", viewer) == 403


def test_a_reconciler_writes_what_the_view_names_for_reconcilers(reconciler):
    assert _answer("post", reconciler) == 200


def test_a_write_without_a_named_role_is_refused_even_to_a_fund_admin(fund_admin):
    assert _answer("delete", fund_admin) == 403


def test_a_method_the_view_does_not_answer_stays_not_allowed(viewer):
    assert _answer("put", viewer) == 405


def test_an_outsider_reads_nothing(outsider):
    assert _answer("get", outsider) == 403
