"""Settings for the test suite: the real PostgreSQL and Redis where they are
reachable (they are in CI), the embedded SQLite and in-process cache where
they are not. `DATABASE_URL` and `REDIS_URL` override the probing."""

import os
import socket


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("PLEDGE_THROTTLE_RATE", "10000/minute")
os.environ.setdefault("AUTH_THROTTLE_RATE", "10000/minute")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# What production must name (the tests run with DJANGO_DEBUG off): the bank
# account the tests' statement files and pages are written with. Card
# payments are off unless a test turns them on (the Stripe fixtures of
# tests/conftest.py set the keys of a local Stripe).
os.environ["CARD_PAYMENTS"] = "false"
for _name, _value in {
    "FUND_BANK_BENEFICIARY": "United Nations Voluntary Trust Fund for Victims of Trafficking in Persons",
    "FUND_BANK_NAME": "Test Bank",
    "FUND_BANK_ADDRESS": "1 Test Street, New York, NY 10001, USA",
    "FUND_BANK_ACCOUNT_NUMBER": "485-001802",
    "FUND_BANK_SWIFT": "CHASUS33",
}.items():
    os.environ.setdefault(_name, _value)
# TESTS_DATABASE_NAME and TESTS_REDIS_PORT let two working copies run their
# suites side by side on one machine without sharing a database.
_redis_port = int(os.environ.get("TESTS_REDIS_PORT", "6379"))
if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
    _name = os.environ.get("TESTS_DATABASE_NAME", "vtf_pledges")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{_name}"
# The probed Redis gets a database number of its own per xdist worker (it is
# cleared before and after each test). The controller process probes first
# and its environment is inherited, so the choice is marked as the probe's
# and made again in each worker.
if ("REDIS_URL" not in os.environ or os.environ.get("TESTS_REDIS_PROBED")) and _reachable("127.0.0.1", _redis_port):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    os.environ["TESTS_REDIS_PROBED"] = "1"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{_redis_port}/{10 + int(worker or 0) % 6}"
# Tests call Celery tasks in-process unless a test starts a real worker.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from backend.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# No collectstatic before tests: serve static files without the manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# WhiteNoise serves only what collectstatic gathered; tests have no such folder.
WHITENOISE_AUTOREFRESH = True
PUBLIC_CACHE_LOCAL_SECONDS = 0  # tests empty the cache mid-test; the window has tests of its own
