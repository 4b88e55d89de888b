"""Health for load balancers and compose.

`/health/live/` says the process answers, touching nothing (restart it if
not). `/health/` (also `/health/ready/`) says whether it can serve: 503 when
the database is away; 200 with `"status": "degraded"` when only Redis or the
workers are (pledges are still taken and queued work waits in the outbox).
"""

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from backend import workers

OK, DOWN = "ok", "down"


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        result = check() or {}
        result.setdefault("status", OK)
    except Exception as error:
        result = {"status": DOWN, "error": type(error).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def _redis() -> dict | None:
    if not settings.REDIS_URL:
        return {"status": OK, "detail": "not used (in-process cache)"}
    from django_redis import get_redis_connection

    get_redis_connection("default").ping()
    return {}


def _workers() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": OK, "detail": "tasks run in-process", "count": 0}
    count = workers.workers_alive()
    return {"status": OK if count else DOWN, "count": count}


def _outbox() -> dict:
    from pledges.outbox import OutboxMessage

    oldest = (
        OutboxMessage.objects.filter(sent_at__isnull=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0
    return {"status": OK, "unsent": unsent, "oldest_unsent_seconds": round(age)}


@never_cache
def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "redis": _timed(_redis), "workers": _timed(_workers)}
    if checks["database"]["status"] == OK:
        checks["outbox"] = _timed(_outbox)
    if checks["database"]["status"] != OK:
        status, code = DOWN, 503
    elif any(check["status"] != OK for check in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = OK, 200
    response = JsonResponse({"status": status, "checks": checks}, status=code)
    if code == 503:
        response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    return response
