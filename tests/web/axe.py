"""axe-core (from npm) for the accessibility tests: installed once into a
cache folder, injected into the page, run with the WCAG 2.2 AA rules.

`python -m tests.web.axe` installs it (CI does, before the tests)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

AXE_VERSION = "4.11.0"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CACHE = Path(os.environ.get("AXE_CACHE_DIR", Path.home() / ".cache" / "vtf-pledges")) / f"axe-core-{AXE_VERSION}"
SCRIPT = CACHE / "node_modules" / "axe-core" / "axe.min.js"


class AxeUnavailable(RuntimeError):
    pass


def axe_install() -> Path:
    """axe.min.js, installed with npm on first use (into a temporary folder
    renamed into place, so two test processes never see half a copy)."""
    if SCRIPT.exists():
        return SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        raise AxeUnavailable("npm is not installed: cannot install axe-core")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="axe-", dir=CACHE.parent))
    subprocess.run(
        [npm, "install", "--prefix", str(staging), f"axe-core@{AXE_VERSION}", "--no-audit", "--no-fund", "--silent"],
        check=True,
        timeout=600,
    )
    try:
        staging.rename(CACHE)
    except OSError:  # another process won the race
        shutil.rmtree(staging, ignore_errors=True)
    return SCRIPT


def axe_violations(page, *, frame=None) -> list[dict]:
    """The WCAG 2.2 AA violations axe finds on the page (or one of its frames)."""
    target = frame or page
    try:
        script = axe_install()
    except AxeUnavailable as why:
        import pytest

        pytest.skip(str(why))
    # Evaluated through the DevTools protocol rather than added as a <script>
    # tag, so the page's own Content-Security-Policy (no inline script) holds
    # while axe runs.
    target.evaluate(script.read_text(encoding="utf-8") + "\n;undefined")
    return target.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary),
            }));
        }""",
        WCAG_TAGS,
    )


if __name__ == "__main__":
    print(json.dumps({"axe-core": AXE_VERSION, "script": str(axe_install())}))
    sys.exit(0)
