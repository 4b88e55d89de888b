"""The tasks call the services, never the other way round: the services
queue a build by the task's registered name."""

import ast
import sys
from pathlib import Path

import pytest

import reports.services
from pledges.audit import Actor
from reports import services, tasks
from reports.models import ReportStatus


def _imported_modules(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())
    names = set()
    for node in ast.walk(tree):  # function bodies included
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_services_never_import_the_tasks():
    assert "reports.tasks" not in _imported_modules(reports.services)


def test_the_services_queue_the_build_by_the_name_the_task_is_registered_under():
    assert tasks.report_build.name == services.REPORT_BUILD_TASK


@pytest.mark.django_db(transaction=True)
def test_a_report_requested_where_no_task_module_was_imported_is_still_built(campaign, monkeypatch):
    """A web process imports no task module (a worker imports them all);
    queued by name, the build is still found and run (eagerly in tests)."""
    from celery import current_app

    monkeypatch.delitem(current_app.tasks, services.REPORT_BUILD_TASK)
    monkeypatch.delitem(sys.modules, "reports.tasks")
    start, end = services.last_complete_week()
    request = services.ReportRequest(
        campaign=campaign, kind="period", period_start=start, period_end=end, languages=("en",)
    )

    report = services.report_request_and_queue(request, actor=Actor.system("tests"))

    report.refresh_from_db()
    assert report.status == ReportStatus.DONE, report.error
    assert services.REPORT_BUILD_TASK in current_app.tasks
