"""Which Celery workers are alive: each writes its heartbeat (every couple of
seconds, Celery's own worker heartbeat) into a Redis sorted set that the
health check reads."""

import logging
import time

from celery import signals

logger = logging.getLogger(__name__)

HEARTBEATS_KEY = "workers:heartbeats"
# A worker is alive when it beat within this many seconds (Celery beats every 2 s).
ALIVE_SECONDS = 15


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


@signals.heartbeat_sent.connect
def _beat(sender=None, **kwargs) -> None:
    try:
        hostname = sender.eventer.hostname
        connection = _redis()
        now = time.time()
        connection.zadd(HEARTBEATS_KEY, {hostname: now})
        connection.zremrangebyscore(HEARTBEATS_KEY, 0, now - 24 * 3600)
    except Exception:  # Redis away: the worker goes on; health shows it
        logger.debug("worker.heartbeat_not_recorded", exc_info=True)


def workers_alive() -> int:
    return _redis().zcount(HEARTBEATS_KEY, time.time() - ALIVE_SECONDS, "+inf")
