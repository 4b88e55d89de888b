"""Sign-in security, tokens, browser policies and body limits, as an
information-security officer would probe them from outside."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "a-long-password-1"


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password=PASSWORD, is_staff=True)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


# --- Lockout (django-axes) ---------------------------------------------------------------


def test_the_token_endpoint_locks_an_account_out_at_the_fifth_wrong_password(api, officer, settings):
    wrong = [api.post(TOKEN_URL, {"username": "officer", "password": f"guess-{n}"}, format="json") for n in range(5)]
    locked = api.post(TOKEN_URL, {"username": "officer", "password": PASSWORD}, format="json")

    assert [response.status_code for response in wrong] == [400, 400, 400, 400, 429]
    assert locked.status_code == 429
    assert locked["Content-Type"] == PROBLEM
    assert locked.json()["type"].endswith("login-locked-out")
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_MINUTES * 60
    assert not AuthToken.objects.exists()
    assert AccessAttempt.objects.get(username="officer").failures_since_start >= 5


def test_another_account_from_the_same_address_is_not_locked_out(api, officer, django_user_model):
    django_user_model.objects.create_user("second", password=PASSWORD, is_staff=True)
    for n in range(6):
        api.post(TOKEN_URL, {"username": "officer", "password": f"guess-{n}"}, format="json")

    response = api.post(TOKEN_URL, {"username": "second", "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_the_admin_login_locks_out_at_the_fifth_wrong_password(officer):
    browser = Client()
    for n in range(4):
        wrong = browser.post("/admin/login/", {"username": "officer", "password": f"guess-{n}"})
        assert wrong.status_code == 200  # the form again, with its error
    assert browser.post("/admin/login/", {"username": "officer", "password": "guess-5"}).status_code == 429

    locked = browser.post("/admin/login/", {"username": "officer", "password": PASSWORD})

    assert locked.status_code == 429
    assert "Retry-After" in locked
    assert "_auth_user_id" not in browser.session


# --- Tokens (knox): hashed, expiring, revocable ------------------------------------------------


def test_an_expired_token_is_refused(officer, world_reader_url):
    _, token = AuthToken.objects.create(user=officer, expiry=timedelta(seconds=-1))
    client = Client(headers={"Authorization": f"Token {token}"})

    response = client.get(world_reader_url)

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM


def test_a_revoked_token_is_refused_and_the_others_still_work(officer, world_reader_url, django_user_model):
    from django.contrib.auth.models import Group

    officer.groups.add(Group.objects.get(name="viewer"))
    _, revoked = AuthToken.objects.create(user=officer)
    _, kept = AuthToken.objects.create(user=officer)

    revoke = Client(headers={"Authorization": f"Token {revoked}"}).post("/api/v1/auth/token/revoke/")

    assert revoke.status_code == 204
    assert Client(headers={"Authorization": f"Token {revoked}"}).get(world_reader_url).status_code == 401
    assert Client(headers={"Authorization": f"Token {kept}"}).get(world_reader_url).status_code == 200


def test_revoke_all_ends_every_token_of_the_user(officer, world_reader_url):
    tokens = [AuthToken.objects.create(user=officer)[1] for _ in range(3)]

    response = Client(headers={"Authorization": f"Token {tokens[0]}"}).post("/api/v1/auth/token/revoke-all/")

    assert response.status_code == 204
    assert not AuthToken.objects.filter(user=officer).exists()


@pytest.fixture
def world_reader_url() -> str:
    return "/api/v1/pledges/"


# --- Optional TOTP (django-otp) ------------------------------------------------------------------


def test_staff_without_a_device_sign_in_with_a_password_alone(api, officer):
    response = api.post(TOKEN_URL, {"username": "officer", "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_staff_with_a_device_need_its_code_for_a_token(api, officer, capsys):
    call_command("staff_totp_enrol", "officer")
    assert "otpauth://totp/" in capsys.readouterr().out
    device = TOTPDevice.objects.get(user=officer)

    without = api.post(TOKEN_URL, {"username": "officer", "password": PASSWORD}, format="json")
    right = api.post(
        TOKEN_URL, {"username": "officer", "password": PASSWORD, "otp_token": current_code(device)}, format="json"
    )
    wrong_code = f"{(int(current_code(device)) + 1) % 10**6:06d}"
    wrong = api.post(TOKEN_URL, {"username": "officer", "password": PASSWORD, "otp_token": wrong_code}, format="json")

    assert without.status_code == wrong.status_code == 400
    assert "otp_token" in without.json()["errors"]
    assert right.status_code == 200
    assert AuthToken.objects.filter(user=officer).count() == 1


def test_the_admin_asks_staff_with_a_device_for_its_code(officer):
    officer.is_superuser = True
    officer.save()
    device = TOTPDevice.objects.create(user=officer, name="authenticator", confirmed=True)
    browser = Client()

    password_only = browser.post("/admin/login/?next=/admin/", {"username": "officer", "password": PASSWORD})
    assert password_only.status_code == 200
    assert browser.get("/admin/").status_code == 302  # still sent to the login page

    with_code = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "officer", "password": PASSWORD, "otp_token": current_code(device)},
    )
    assert with_code.status_code == 302
    assert browser.get("/admin/").status_code == 200


# --- Body limits -------------------------------------------------------------------------------------


def test_the_token_endpoint_refuses_a_big_body_before_parsing_it(api, officer):
    body = '{"username": "officer", "password": "' + "x" * 20_000 + '"}'

    response = api.post(TOKEN_URL, body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert not AccessAttempt.objects.exists()


def test_a_declared_body_over_the_api_limit_is_refused_at_the_door(api, settings):
    settings.API_MAX_JSON_BYTES = 1000

    response = api.post("/api/v1/pledges/", "x" * 1001, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM


def test_a_form_encoded_token_request_is_capped_too(api, officer):
    response = api.post(
        TOKEN_URL, "username=officer&password=" + "y" * 20_000, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413


# --- Browser policies -----------------------------------------------------------------------------


def test_the_pledge_form_has_a_nonce_csp_that_lets_stripe_in_and_nothing_else(settings):
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_csp"
    response = Client().get("/en/pledge/")

    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert response.status_code == 200
    assert directives["script-src"] == "'self' https://js.stripe.com"
    assert "'unsafe-inline'" not in policy
    assert "https://js.stripe.com" in directives["frame-src"]
    assert "https://api.stripe.com" in directives["connect-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "payment=(self" in response["Permissions-Policy"]


def test_the_widget_demo_page_styles_itself_from_a_static_file_without_unsafe_inline():
    response = Client().get("/widget/")

    policy = response["Content-Security-Policy"]
    assert "<style" not in response.content.decode()
    assert 'rel="stylesheet"' in response.content.decode()
    assert "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy


def test_every_page_gets_a_csp_and_the_widget_frame_keeps_its_own():
    client = Client()

    api_policy = client.get("/api/v1/public/totals/")["Content-Security-Policy"]
    frame_policy = client.get("/widget/v1/totals/")["Content-Security-Policy"]
    admin_policy = client.get("/admin/login/")["Content-Security-Policy"]

    assert "default-src 'self'" in api_policy and "default-src 'self'" in admin_policy
    assert "frame-ancestors *" in frame_policy


def test_https_responses_carry_hsts_with_subdomains_and_preload():
    response = Client().get("/health/live/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_check_deploy_is_clean_with_production_settings():
    root = Path(__file__).resolve().parent.parent
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "pledges.example.org",
        "DJANGO_SSL_REDIRECT": "true",
        "FUND_BANK_BENEFICIARY": "The Fund",
        "FUND_BANK_NAME": "A Bank",
        "FUND_BANK_ADDRESS": "1 Street, City",
        "FUND_BANK_ACCOUNT_NUMBER": "000-000000",
        "FUND_BANK_SWIFT": "AAAAUS00",
        "STRIPE_SECRET_KEY": "sk_test_deploy",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_deploy",
        "STRIPE_WEBHOOK_SECRET": "whsec_deploy",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
