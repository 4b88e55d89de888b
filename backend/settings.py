"""Settings for the pledge tracker, read from the environment.

Every variable is listed in `.env.example`. Without `DATABASE_URL` and
`REDIS_URL` the service runs on the embedded default: SQLite, an in-process
cache and Celery tasks executed in-process. Nothing secret has a fallback
outside local development (`DJANGO_DEBUG=true`).
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from corsheaders.defaults import default_headers as cors_default_headers
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_required(name: str, *, debug_default: str) -> str:
    """A value production cannot go without (a secret, the account donors pay
    into): unset or empty, it stops the process at start-up, naming the
    variable, unless DJANGO_DEBUG is on, where `debug_default` (an obviously
    fake value) stands in."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return debug_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off")


# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_required("DJANGO_SECRET_KEY", debug_default="local-development-only-not-a-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public origin of this service, used for the links we hand out
# (status_url) when there is no request to build them from.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "modeltranslation",  # i10: translated titles; must come before the admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "pledges",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles plans that are expensive on paper but quick
    # in practice (the staff list's per-row subqueries): it cost more than
    # the query itself in bench/, so it is off for this OLTP workload.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the embedded default for one local user; WAL and a busy
    # timeout keep the dev server and in-process tasks from tripping over
    # each other.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }

# --- Cache and Celery ---------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pledges"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {
        "task": "pledges.tasks.idempotency_records_purge",
        "schedule": 3600.0,
    },
    "reminders-send": {
        "task": "pledges.tasks.reminders_send",
        "schedule": crontab(hour=env.int("REMINDER_HOUR_UTC", default=8), minute=0),
    },
    "stripe-reconcile": {
        "task": "pledges.tasks.stripe_reconcile",
        "schedule": env.float("STRIPE_RECONCILE_SECONDS", default=900.0),
    },
}

# --- Auth ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("ar", "العربية"),
    ("zh-hans", "中文"),
    ("en", "English"),
    ("fr", "Français"),
    ("ru", "Русский"),
    ("es", "Español"),
]
TIME_ZONE = "UTC"
USE_I18N = True
# Gettext catalogues (compiled by `manage.py compile_translations`).
LOCALE_PATHS = [BASE_DIR / "reports" / "locale", BASE_DIR / "pledges" / "locale"]
USE_TZ = True

# --- Translated content (i10: django-modeltranslation) -------------------------
# Campaign, event and session titles in the six languages (title_en,
# title_ar, title_zh_hans...); a missing translation reads as the English one.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "ar", "zh-hans", "fr", "ru", "es")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)

# --- Static files ---------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    # Local disk by default; any Django storage (for instance django-storages'
    # S3 backend for S3-compatible storage) through STORAGE_BACKEND and its
    # STORAGE_OPTIONS (JSON).
    "default": {
        "BACKEND": env.str("STORAGE_BACKEND", default="") or "django.core.files.storage.FileSystemStorage",
        "OPTIONS": env.json("STORAGE_OPTIONS") if env.str("STORAGE_OPTIONS", default="") else {},
    },
    # Compressed, cache-busted static files served by the app itself
    # (WhiteNoise), so the admin and the API docs work behind any proxy.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# --- Security -----------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
)
SESSION_COOKIE_SECURE = not DEBUG and env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "same-origin"

# Only the public, read-only endpoints and the totals widget are open to
# other origins (the widget runs on the General Assembly President's site).
# Staff and donor endpoints stay same-origin. The middleware also puts the
# headers on 304 answers, which the widget's revalidations get.
CORS_URLS_REGEX = r"^/(api/v1/public|widget)/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
# The widget revalidates with If-None-Match (not a CORS-safelisted header).
CORS_ALLOW_HEADERS = [*cors_default_headers, "if-none-match"]
CORS_EXPOSE_HEADERS = ["ETag", "Cache-Control"]
CORS_PREFLIGHT_MAX_AGE = 86400
# The sites allowed to frame the widget's iframe page (/widget/v1/totals/):
# a CSP frame-ancestors source list ("https://a.example https://b.example"),
# any site by default. Every other page keeps X-Frame-Options: DENY.
WIDGET_FRAME_ANCESTORS = " ".join(env.str("WIDGET_FRAME_ANCESTORS", default="*").replace(",", " ").split()) or "*"

# --- API ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PARSER_CLASSES": ["backend.problems.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "backend.problems.problem_exception_handler",
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "UN Voluntary Trust Fund for Victims of Trafficking: pledge tracker API",
    "DESCRIPTION": (
        "Pledges to the UN Voluntary Trust Fund for Victims of Trafficking in Persons, "
        "especially Women and Children: public intake and totals, donors' private status "
        "links, and the staff API. Money is a string decimal next to its ISO 4217 "
        "currency code. Errors are RFC 9457 problem details with per-field `errors`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PledgeStatusEnum": "pledges.models.PledgeStatus",
        "DonorTypeEnum": "pledges.models.DonorType",
        # The six UN languages, named once (pledges' `language`, reports' `languages`).
        "LanguageEnum": "reports.models.REPORT_LANGUAGES",
    },
}

# JSON bodies larger than this are refused before parsing (413). It is set
# above any legitimate pledge so that oversized fields are still answered
# field by field.
API_MAX_JSON_BYTES = env.int("API_MAX_JSON_BYTES", default=16 * 1024 * 1024)

# Bank statements larger than this are refused (413); below it they stream.
STATEMENT_MAX_BYTES = env.int("STATEMENT_MAX_BYTES", default=64 * 1024 * 1024)
# Statements larger than this are stored and imported by a task (202 and an
# import to follow), so a large file never holds a web worker (issue 11/13).
STATEMENT_INLINE_MAX_BYTES = env.int("STATEMENT_INLINE_MAX_BYTES", default=2 * 1024 * 1024)

# Overdue reminders: the days from an instalment's due date on which the
# donor is reminded (negative: before it), and at most how many per instalment.
REMINDER_DAYS = tuple(env.list("REMINDER_DAYS", cast=int, default=[-14, 7, 30]))
REMINDER_MAX_PER_INSTALMENT = env.int("REMINDER_MAX_PER_INSTALMENT", default=3)

# --- The Fund -----------------------------------------------------------------

DEFAULT_CAMPAIGN_SLUG = env.str("DEFAULT_CAMPAIGN_SLUG", default="vtf-2012")
# The largest single pledge we accept, in USD where the rate is known (and
# in any currency's units regardless), to stop absurd figures at the door.
PLEDGE_MAX_AMOUNT_USD = Decimal(env.str("PLEDGE_MAX_AMOUNT_USD", default="1000000000"))
# Pledge submissions allowed per client (signed-in user, else address).
PLEDGE_THROTTLE_RATE = env.str("PLEDGE_THROTTLE_RATE", default="30/minute")
# Token requests (password attempts) allowed per address.
AUTH_THROTTLE_RATE = env.str("AUTH_THROTTLE_RATE", default="20/minute")
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
PUBLIC_CACHE_MAX_AGE = env.int("PUBLIC_CACHE_MAX_AGE", default=10)

# The account printed on bank-transfer instructions, which donors pay into:
# production names every part of it (no default could be right); local
# development shows a demo account that says it is one. IBAN and routing
# number are printed when the account has them.
FUND_BANK_ACCOUNT = {
    "beneficiary": env_required("FUND_BANK_BENEFICIARY", debug_default="Demo beneficiary (not a real account)"),
    "bank_name": env_required("FUND_BANK_NAME", debug_default="Demo Bank (not a real bank)"),
    "bank_address": env_required("FUND_BANK_ADDRESS", debug_default="1 Demo Street, Nowhere (demo data)"),
    "account_number": env_required("FUND_BANK_ACCOUNT_NUMBER", debug_default="DEMO-000000"),
    "iban": env.str("FUND_BANK_IBAN", default=""),
    "swift": env_required("FUND_BANK_SWIFT", debug_default="DEMOXXXX"),
    "routing_number": env.str("FUND_BANK_ROUTING_NUMBER", default=""),
}

# --- Reports -------------------------------------------------------------------

# A report build is stopped after this many seconds (Celery's hard limit; the
# soft limit is 30 s earlier, and a build "running" for longer is taken over).
REPORTS_BUILD_TIME_LIMIT = env.int("REPORTS_BUILD_TIME_LIMIT", default=900)
# The HTML and PDF list at most this many named pledges (CSV and JSON list all).
REPORTS_MAX_LISTED_DONORS = env.int("REPORTS_MAX_LISTED_DONORS", default=500)
# Entries in the public Atom feed of published reports.
REPORTS_FEED_ENTRIES = env.int("REPORTS_FEED_ENTRIES", default=50)
# At most this many processes render one report's pages (HTML and PDF), one
# language each, in parallel; 0: one per CPU core this process may use.
REPORTS_PAGE_PROCESSES = env.int("REPORTS_PAGE_PROCESSES", default=0)

# --- Stripe -------------------------------------------------------------------

# Card pledges through Stripe: production needs its three keys unless card
# payments are turned off on purpose (CARD_PAYMENTS=false: the form offers
# bank transfer only, and nothing talks to Stripe). Local development runs
# without keys, with card payments off.
CARD_PAYMENTS = env.bool("CARD_PAYMENTS", default=True)
STRIPE_SECRET_KEY = env_required("STRIPE_SECRET_KEY", debug_default="") if CARD_PAYMENTS else ""
STRIPE_PUBLISHABLE_KEY = env_required("STRIPE_PUBLISHABLE_KEY", debug_default="") if CARD_PAYMENTS else ""
STRIPE_WEBHOOK_SECRET = env_required("STRIPE_WEBHOOK_SECRET", debug_default="") if CARD_PAYMENTS else ""
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# --- Email --------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Trust Fund pledges <pledges@localhost>")
# Where django.core.mail.backends.filebased.EmailBackend writes (staging, the fault tests).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="") or None

# --- Logging ------------------------------------------------------------------

# One JSON object a line (LOG_FORMAT=console for people reading a terminal),
# every record with the request id that django-structlog binds per request
# and carries into the tasks it queues; secrets, status-link secrets, e-mail
# addresses and bank account numbers are scrubbed from every record
# (backend/logs.py), Django's and the libraries' included.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "backend.logs.structured_formatter", "json": LOG_FORMAT == "json"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # gunicorn's own access log is off (it prints full paths, status-link
        # secrets included); django-structlog's request_finished replaces it.
        "gunicorn.access": {"handlers": [], "propagate": False},
        # runserver's request lines, scrubbed like everything else.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- IATI (issue 16) ----------------------------------------------------------

# The reporting organisation of /api/v1/public/iati/activities.xml. The Fund
# has no IATI organisation identifier of its own; by default it reports
# under UNODC's (XM-DAC-41128), which manages it. Set both when it has one.
IATI_REPORTING_ORG_REF = env.str("IATI_REPORTING_ORG_REF", default="XM-DAC-41128")
IATI_REPORTING_ORG_NAME = env.str(
    "IATI_REPORTING_ORG_NAME",
    default="United Nations Voluntary Trust Fund for Victims of Trafficking in Persons, especially Women and Children",
)
# --- Reliability and security (issue 13) ----------------------------------------

INSTALLED_APPS += [
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "knox",
    "django_structlog",
]
# Order matters: the request id first, so every later record carries it;
# CSP early, so a nonce exists for any template; OTP right after
# authentication; axes last, as its documentation asks.
MIDDLEWARE.insert(0, "django_structlog.middlewares.RequestMiddleware")
MIDDLEWARE.insert(1, "backend.middleware.RequestBodyLimitMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1, "backend.middleware.PermissionsPolicyMiddleware"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
MIDDLEWARE.insert(0, "pledges.public_fast.PublicDocumentMiddleware")  # cached public documents, first
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login lockout (admin and the token endpoint): after AXES_FAILURE_LIMIT
# wrong passwords for one username from one address, both are refused for
# AXES_COOLOFF_MINUTES (429 with Retry-After). The per-address throttle
# (AUTH_THROTTLE_RATE) slows guessing across usernames.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backend.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "backend.security.client_ip"
AXES_VERBOSE = False

# Staff may add a TOTP device (manage.py staff_totp_enrol); who has one must
# give its code at the admin login and the token endpoint. STAFF_REQUIRE_OTP
# makes it compulsory for everyone signing in to the admin.
STAFF_REQUIRE_OTP = env.bool("STAFF_REQUIRE_OTP", default=False)
OTP_TOTP_ISSUER = "UN Trust Fund pledges"

# API tokens (knox): only a SHA-512 digest is stored; each expires after
# API_TOKEN_TTL_HOURS and can be revoked (POST /api/v1/auth/token/revoke/).
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=24 * 30)),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": env.int("API_TOKEN_LIMIT_PER_USER", default=20),
    "AUTO_REFRESH": False,
}
# Password and token bodies are small: the token endpoint refuses more
# (room for the longest username and password, every character escaped).
AUTH_MAX_BODY_BYTES = 16384

# Content Security Policy on every page, nonce-based (request.csp_nonce in
# templates). Stripe's Payment Element needs its script, its frames and its
# API; nothing else leaves this origin. The widget's iframe page sets its own
# (frame-ancestors WIDGET_FRAME_ANCESTORS); the script widget runs under the
# host site's policy and reads only the public, CORS-open endpoints.
_stripe_api = [STRIPE_API_BASE.rstrip("/")] if STRIPE_API_BASE else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "https://js.stripe.com", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:", "https://*.stripe.com"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "https://api.stripe.com", *_stripe_api],
        "frame-src": ["'self'", "https://js.stripe.com", "https://hooks.stripe.com"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# What pages may use of the browser: nothing but payments (Stripe's wallets).
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default=(
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
        'usb=(), interest-cohort=(), payment=(self "https://js.stripe.com")'
    ),
)

# HTTPS in production: HSTS (sent only over HTTPS), redirect to HTTPS unless
# the TLS proxy already does (DJANGO_SSL_REDIRECT=false), /health/ exempt so
# that plain-HTTP probes inside the stack still answer.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
# `manage.py check --deploy` is clean in production; the one check silenced:
# security.W008 (SECURE_SSL_REDIRECT off): HTTP to HTTPS is the TLS proxy's
# redirect, and inside the stack the app is reached over plain HTTP (health
# checks, the web port). DJANGO_SSL_REDIRECT=true where clients reach
# gunicorn directly.
SILENCED_SYSTEM_CHECKS = ["security.W008"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)
# Form bodies outside the JSON parser (the admin) are bounded too.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# Degrade, never lie: a down Redis makes the throttles count in-process
# (fail open, per process) and the public documents come from the database;
# a down database or broker is a 503 problem with Retry-After.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=30)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3))
if REDIS_URL:
    # Fail fast when Redis is away instead of holding the request (redis-py
    # otherwise retries with backoff for up to ~20 s).
    CACHES["default"]["OPTIONS"].update(
        {
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
        }
    )

# Nothing queued is lost: tasks are rows of the transactional outbox first
# (pledges/outbox.py), relayed after commit and swept by beat. A task is
# acknowledged when it ends, given back when its worker dies, and the broker
# hands an unacknowledged task to another worker only after a visibility
# timeout longer than the longest task (a report build) and the longest retry
# wait (20 min), so a running task is never run twice by accident.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", default=max(REPORTS_BUILD_TIME_LIMIT, 1200) + 600
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # A publisher that cannot reach the broker gives up at once (its message
    # waits in the outbox) instead of retrying for seconds inside a request.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that fails goes back to the outbox at once, not after retries.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
OUTBOX_RELAY_AFTER_SECONDS = env.int("OUTBOX_RELAY_AFTER_SECONDS", default=30)
OUTBOX_RESEND_AFTER_SECONDS = env.int("OUTBOX_RESEND_AFTER_SECONDS", default=CELERY_BROKER_VISIBILITY_TIMEOUT + 600)
CELERY_BEAT_SCHEDULE.update(
    {
        "outbox-relay": {
            "task": "pledges.tasks.outbox_relay",
            "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=15.0),
        },
        "outbox-purge": {"task": "pledges.tasks.outbox_purge", "schedule": 86400.0},
        "reports-stuck-requeue": {"task": "reports.tasks.reports_stuck_requeue", "schedule": 60.0},
    }
)
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# The OpenAPI schema tells the truth (backend/schema.py; checked by schemathesis).
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "backend.schema.AutoSchema"
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "backend.schema.problem_responses_hook",
]
