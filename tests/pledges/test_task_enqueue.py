"""Services queue their tasks by name (pledges.outbox.task_enqueue), so no
service imports a task module: a process that has imported none still finds
the task, and a name no task has is refused at the call."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pledges.outbox import OutboxMessage, task_enqueue

ROOT = Path(__file__).resolve().parents[2]


def test_a_process_that_imported_no_task_module_finds_a_task_by_its_name():
    script = (
        "import sys, django; django.setup()\n"
        "from pledges.outbox import task_registered\n"
        "assert 'pledges.tasks' not in sys.modules\n"
        "print(task_registered('pledges.tasks.pledge_acknowledge').name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "pledges.tasks.pledge_acknowledge"


@pytest.mark.django_db
def test_a_task_name_nobody_registered_is_refused_at_the_call_and_nothing_is_queued():
    with pytest.raises(LookupError, match="pledge_acknowledged"):
        task_enqueue("pledges.tasks.pledge_acknowledged", 1)

    assert not OutboxMessage.objects.exists()
