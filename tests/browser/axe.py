"""axe-core in the browser tests: the WCAG 2.2 AA and best-practice rules on the page as it is.

The engine is the axe.min.js that axe-playwright-python ships (no network at test time). Only
serious and critical violations fail a test; the rest are for a person's audit.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# axe marks this rule experimental, so the tags above leave it out; the audit of issue 15 found
# the account menu failing it, so it runs too.
EXTRA_RULES = ["label-content-name-mismatch"]
BLOCKING = ("serious", "critical")

_RUN = """async ({tags, extra}) => {
  const rules = axe.getRules(tags).map((rule) => rule.ruleId).concat(extra);
  const results = await axe.run(document, {
    runOnly: {type: "rule", values: rules},
    resultTypes: ["violations"],
  });
  return results.violations;
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations on `page` now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    violations = page.evaluate(_RUN, {"tags": TAGS, "extra": EXTRA_RULES})
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violated rule with its impact and help text, then its failing elements (target and
    what axe found there), one a line."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Any, where: str = "") -> None:
    """Fail with every serious or critical violation on the page, each with its rule, element
    and help text."""
    violations = axe_violations(page)
    assert not violations, f"axe: {where or page.url}\n{describe(violations)}"
