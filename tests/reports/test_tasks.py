"""The tasks call the services, never the other way round: the services
queue a build by the task's registered name."""

import ast
from pathlib import Path

import reports.services
from reports import services, tasks


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
