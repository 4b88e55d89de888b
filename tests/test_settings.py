"""Production settings fail at start-up: with DJANGO_DEBUG off, a missing
secret or bank detail stops the process with a message naming the variable
(that `manage.py check --deploy` is clean once everything is set is in
tests/test_security.py)."""

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "backend.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "pledges.example.org",
    "FUND_BANK_BENEFICIARY": "The Fund",
    "FUND_BANK_NAME": "A Bank",
    "FUND_BANK_ADDRESS": "1 Street, City",
    "FUND_BANK_ACCOUNT_NUMBER": "000-000000",
    "FUND_BANK_SWIFT": "AAAAUS00",
    "STRIPE_SECRET_KEY": "sk_test_settings",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_settings",
    "STRIPE_WEBHOOK_SECRET": "whsec_settings",
}
REQUIRED = [
    name for name in PRODUCTION if name not in ("DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS")
]


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter with only `env` (nothing of this process's)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", REQUIRED)
def test_production_without_a_required_variable_stops_at_start_up_naming_it(name):
    env = {key: value for key, value in PRODUCTION.items() if key != name}

    result = python("import django; django.setup()", env)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_with_an_empty_required_variable_stops_as_when_it_is_unset():
    result = python("import django; django.setup()", {**PRODUCTION, "FUND_BANK_SWIFT": ""})

    assert result.returncode != 0
    assert "FUND_BANK_SWIFT must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_with_card_payments_turned_off_needs_no_stripe_key_and_talks_to_no_stripe():
    env = {key: value for key, value in PRODUCTION.items() if not key.startswith("STRIPE_")}

    result = python(
        "from django.conf import settings; print(repr(settings.STRIPE_SECRET_KEY + settings.STRIPE_WEBHOOK_SECRET))",
        {**env, "CARD_PAYMENTS": "false", "STRIPE_SECRET_KEY": "sk_live_ignored"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "''"


def test_local_development_starts_without_them_and_shows_a_bank_account_that_says_it_is_a_demo():
    result = python(
        "from django.conf import settings; print(settings.FUND_BANK_ACCOUNT['bank_name'], settings.STRIPE_SECRET_KEY)",
        {"DJANGO_SETTINGS_MODULE": "backend.settings", "DJANGO_DEBUG": "true"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Demo Bank (not a real bank)"
