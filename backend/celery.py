import os

from celery import Celery, Task, signals
from django.db import InterfaceError, OperationalError
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# The database briefly away (a restart, a failover): worth another try.
DATABASE_ERRORS = (OperationalError, InterfaceError)


class DurableTask(Task):
    """Every task can be queued through the transactional outbox, and every
    task retries on database errors with capped, jittered backoff (a task
    that names its own `autoretry_for` adds DATABASE_ERRORS to it)."""

    autoretry_for = DATABASE_ERRORS
    retry_backoff = 5
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8

    def delay_durable(self, *args) -> None:
        """Queue this task with the current transaction: an outbox row now,
        sent to the broker after commit, or by beat's sweep if that fails
        (pledges/outbox.py). Use it instead of `on_commit(lambda: t.delay())`.
        Services, which never import a task module, queue the same way by
        the task's name: `pledges.outbox.task_enqueue(name, *args)`."""
        from pledges.outbox import outbox_enqueue

        outbox_enqueue(self.name, *args)


app = Celery("backend", task_cls=DurableTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(DjangoStructLogInitStep)


@signals.setup_logging.connect
def _logging_from_django(**kwargs) -> None:
    """Workers log as the web processes do (settings.LOGGING: JSON, scrubbed)."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.worker_init.connect
def _worker_setup(**kwargs) -> None:
    # Request ids into tasks (django-structlog), and worker heartbeats for /health/.
    import backend.workers  # noqa: F401


@signals.task_postrun.connect
def _outbox_message_done(task_id: str | None = None, state: str | None = None, **kwargs) -> None:
    """A message's task has finished (succeeded, or failed for good): the
    sweep no longer re-sends it. A retry is not the end."""
    if task_id and task_id.startswith("outbox-") and state not in ("RETRY", None):
        from pledges.outbox import outbox_mark_done

        outbox_mark_done(int(task_id.removeprefix("outbox-")))
