"""Only pledges/payments/stripe.py talks to Stripe: no other module under
pledges/ imports the `stripe` SDK, so its types, errors and network calls
stay behind one small interface."""

import ast
import re
from pathlib import Path

import pledges

PACKAGE = Path(pledges.__file__).resolve().parent
THE_ONE_MODULE = PACKAGE / "payments" / "stripe.py"


def stripe_sdk_imports(source: str) -> list[str]:
    """The import statements of the `stripe` SDK in a module's source
    (`import stripe`, `import stripe.x as y`, `from stripe import x`,
    `from stripe.x import y`), not of our own `pledges.payments.stripe`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name == "stripe" or a.name.startswith("stripe.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "stripe" or node.module.startswith("stripe."):
                found.append(f"from {node.module} import ...")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).split(".")[0] == "stripe"
        ):
            found.append("__import__('stripe')")
    return found


def test_the_scan_finds_each_way_of_importing_the_sdk_and_not_our_module():
    assert stripe_sdk_imports("import stripe") == ["import stripe"]
    assert stripe_sdk_imports("import os, stripe.error as e") == ["import stripe.error"]
    assert stripe_sdk_imports("from stripe import StripeClient") == ["from stripe import ..."]
    assert stripe_sdk_imports("def f():\n    from stripe._error import CardError") == ["from stripe._error import ..."]
    assert stripe_sdk_imports("__import__('stripe')") == ["__import__('stripe')"]
    assert stripe_sdk_imports("from pledges.payments import stripe as stripe_api") == []
    assert stripe_sdk_imports("from . import stripe") == []
    assert stripe_sdk_imports("import stripe_harness") == []


def test_only_the_stripe_module_imports_the_stripe_sdk():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert THE_ONE_MODULE in modules

    offenders = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in modules
        if path != THE_ONE_MODULE and (found := stripe_sdk_imports(path.read_text(encoding="utf-8")))
    }

    assert offenders == {}
    assert stripe_sdk_imports(THE_ONE_MODULE.read_text(encoding="utf-8")) == ["import stripe"]


def test_no_line_under_pledges_imports_the_sdk_either():
    """Belt and braces for what the AST scan cannot see (source that does
    not parse, templates): no line of a text file outside the one module
    starts an `import stripe` or `from stripe` statement."""
    statement = re.compile(r"^\s*(import\s+stripe\b|from\s+stripe(\.\w+)*\s+import\b)", re.MULTILINE)
    assert statement.search("x = 1\n    import stripe\n") and statement.search("from stripe.x import y")
    assert not statement.search("from pledges.tasks import stripe_event_apply")
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or path == THE_ONE_MODULE or path.suffix not in {".py", ".html", ".txt"}:
            continue
        if statement.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert offenders == []
