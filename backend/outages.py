"""What counts as an outage of the database, the broker or the cache:
worth trying again soon, not a bug. Kept free of DRF so that anything may
import it early."""

from django.db import DatabaseError, InterfaceError, OperationalError


def infrastructure_unavailable(exc: BaseException | None) -> bool:
    """The database, the broker or the cache away: worth trying again soon,
    not a bug. Errors of the data itself (IntegrityError, DataError) are not."""
    if exc is None:
        return False
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DatabaseError) and "connection" in str(exc).lower():
        return True
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, (BrokerError, RedisConnectionError, RedisTimeoutError)):
        return True
    try:
        from django_redis.exceptions import ConnectionInterrupted
    except ImportError:  # pragma: no cover - django-redis is a requirement
        return False
    return isinstance(exc, ConnectionInterrupted)
