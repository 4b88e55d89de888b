"""An import-linter contract (run by `make lint`): no module imports itself
through others. import-linter's own acyclic contract compares whole
packages; this one compares modules, so that `pledges.models` may register
`pledges.reconciliation.models` while nothing in `pledges.reconciliation`
imports back what imports it. Imports inside functions count like the
others: an import moved into a function body to dodge a cycle still breaks
the contract.
"""

from itertools import pairwise

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils
from importlinter.application.contract_utils import AlertLevel


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=AlertLevel.ERROR,
        )
        modules = {m for package in self.packages for m in graph.find_descendants(package) | {package}}  # type: ignore[attr-defined]
        cycles: dict[frozenset[str], tuple[str, ...]] = {}
        for importer in sorted(modules):
            for imported in sorted(graph.find_modules_directly_imported_by(importer) & modules):
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                if back is not None:
                    # One cycle, written from its first module in name order.
                    cycle = (importer, *back)
                    cycles.setdefault(frozenset(cycle), cycle)
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": [self._lines(graph, cycle) for cycle in sorted(cycles.values())]},
        )

    @staticmethod
    def _lines(graph: ImportGraph, cycle: tuple[str, ...]) -> list[str]:
        """Each import of the cycle with where it is written."""
        lines = []
        for importer, imported in pairwise(cycle):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(str(d["line_number"]) for d in details)
            lines.append(f"{importer} -> {imported} (l. {where})")
        return lines

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles = check.metadata["cycles"]
        output.print_error(f"{len(cycles)} import cycle{'s' if len(cycles) != 1 else ''}:")
        output.new_line()
        for lines in cycles:
            for line in lines:
                output.print_error(f"    {line}", bold=False)
            output.new_line()
