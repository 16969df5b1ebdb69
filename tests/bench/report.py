"""Small helpers to turn samples into markdown tables."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence


def p95(samples: Sequence[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def sec(seconds: float) -> str:
    return f"{seconds:,.2f}"


def table(
    title: str, explanation: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> str:
    lines = [f"**{title}**: {explanation}", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "---|" * len(headers))
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
