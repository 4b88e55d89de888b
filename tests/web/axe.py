"""axe-core for accessibility checks in the browser tests: installed from
npm into a cache directory on first use (AXE_CORE_DIR, default
~/.cache/vtf-pledges/axe-core), then injected into the page as a file."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

AXE_VERSION = "4.14.1"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_script() -> Path:
    """The path of axe.min.js, installing axe-core when missing; the test
    is skipped (with the reason) only where npm itself is absent."""
    root = Path(os.environ.get("AXE_CORE_DIR", Path.home() / ".cache" / "vtf-pledges" / "axe-core"))
    script = root / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed, so axe-core cannot be installed for the accessibility check")
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund", f"axe-core@{AXE_VERSION}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return script


def axe_violations(page) -> list[dict]:
    """What axe-core finds against WCAG 2.2 AA on the page as it is now."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })",
        WCAG_22_AA,
    )
    return [
        {"id": item["id"], "impact": item["impact"], "nodes": [node["target"] for node in item["nodes"]]}
        for item in result["violations"]
    ]
