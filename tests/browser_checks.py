"""Checks the tests run on pages and captions with real tools, shared by every test module.

- `vtt_errors`: the W3C's own WebVTT parser (npm `webvtt-parser`, behind the W3C
  validator), run by Node over the files.
- `axe_violations`: axe-core (npm), injected into a Chromium page and run there. The
  page's context must be opened with `bypass_csp=True` (`audit_context`): our pages'
  Content-Security-Policy lets only their own scripts run, which is the point of it.
- `horizontal_overflow`: how many CSS pixels a page is wider than its viewport.

Both npm packages are pinned in package-lock.json and installed by `make test` (`npm ci`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
VTT_CHECK = REPO / "tests" / "js" / "check_vtt.js"
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15's viewport, in CSS pixels


def vtt_errors(paths: Sequence[Path]) -> dict[str, list[str]]:
    """Each file's errors from the W3C parser, as `line N: message`; [] when it is valid."""
    assert VTT_CHECK.exists() and (REPO / "node_modules" / "webvtt-parser").exists(), \
        "run `make node` to install the tests' JavaScript tools"
    done = subprocess.run(["node", str(VTT_CHECK), *map(str, paths)], capture_output=True,
                          text=True, timeout=60, check=True)
    report = json.loads(done.stdout)
    return {name: [f"line {e.get('line')}: {e['message']}" for e in result["errors"]]
            for name, result in report.items()}


def audit_context(browser: Any, **options: Any) -> Any:
    """A browser context that lets the test inject axe-core past the pages' CSP."""
    return browser.new_context(bypass_csp=True, **options)


def phone_context(browser: Any) -> Any:
    """An audit context the size of a phone (`PHONE`), with touch."""
    return audit_context(browser, viewport=PHONE, device_scale_factor=3, is_mobile=True,
                         has_touch=True)


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now, WCAG 2.x A and AA rules and axe's
    best practices, one line each: `rule (impact): first target`. [] when none."""
    assert AXE.exists(), "run `make node` to install axe-core"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => `${v.id} (${v.impact}): ${v.help} at `"
        " + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))")
    return list(result)


def horizontal_overflow(page: Any) -> int:
    """CSS pixels by which the page scrolls sideways (0 when it does not)."""
    return int(page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"))
