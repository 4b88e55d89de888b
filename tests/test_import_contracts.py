"""The import contract of `make lint` (tests/import_contracts.py) finds a
cycle between modules, also one hidden in a function body."""

import sys

import grimp
import pytest

from tests.import_contracts import AcyclicModulesContract


@pytest.fixture
def package(tmp_path, monkeypatch):
    """Writes a package `cyclic` of the given modules and builds its graph."""

    def write(**modules: str) -> grimp.ImportGraph:
        root = tmp_path / "cyclic"
        root.mkdir()
        (root / "__init__.py").write_text("")
        for name, source in modules.items():
            (root / f"{name}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
        return grimp.build_graph("cyclic", cache_dir=None)

    yield write
    for name in [m for m in sys.modules if m == "cyclic" or m.startswith("cyclic.")]:
        del sys.modules[name]


def contract() -> AcyclicModulesContract:
    return AcyclicModulesContract(name="no cycles", session_options={}, contract_options={"packages": ["cyclic"]})


def test_a_service_importing_its_task_inside_a_function_breaks_the_contract_which_names_the_cycle(package):
    graph = package(
        tasks="from cyclic import services\n",
        services="def submit():\n    from cyclic.tasks import acknowledge\n",
    )

    check = contract().check(graph, verbose=False)

    assert not check.kept
    assert check.metadata["cycles"] == [
        ["cyclic.services -> cyclic.tasks (l. 2)", "cyclic.tasks -> cyclic.services (l. 1)"]
    ]


def test_imports_going_one_way_keep_the_contract(package):
    graph = package(tasks="from cyclic import services\n", services="from cyclic import models\n", models="")

    assert contract().check(graph, verbose=False).kept
