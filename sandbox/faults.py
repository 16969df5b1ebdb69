"""Fault injection and call counters, both driven over HTTP by the control API."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.web import Request

MAX_DELAY = 600.0
# Longer than any sane client read timeout; clearing the faults releases a hang early.
DEFAULT_HANG = 120.0
FAULT_KEYS = frozenset(
    {"status", "retry_after", "count", "skip", "rate", "seed", "path", "method", "route", "latency"}
    | {"hang", "seconds", "malformed_json", "quota_exhausted", "body", "after", "every"}
)


_DESCRIBED = (
    *("id", "status", "retry_after", "count", "skip", "rate", "path", "method", "route", "latency"),
    *("hang", "seconds", "malformed_json", "quota_exhausted", "body", "after", "every", "fired"),
)


@dataclass
class FaultRule:
    id: int
    status: int | None = None
    retry_after: float | None = None
    count: int | None = None
    # Let this many matching requests through untouched first ("fail the 7th page").
    skip: int = 0
    rate: float = 1.0
    seed: int | None = None
    path: str | None = None
    method: str | None = None
    route: str | None = None
    latency: float = 0.0
    hang: bool = False
    seconds: float = DEFAULT_HANG
    malformed_json: bool = False
    quota_exhausted: bool = False
    body: Any = None
    # The route does its work first (generates, charges), then the fault answers instead: a
    # gateway that drops a finished request.
    after: bool = False
    # Fire on every n-th matching call only (2: every other call).
    every: int = 1
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def ends_request(self) -> bool:
        return self.status is not None or self.hang or self.malformed_json

    def applies_to(self, req: Request) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.path and not req.path.startswith(self.path):
            return False
        if self.method and self.method.upper() != req.method:
            return False
        return not (
            self.route and self.route not in (req.route_name, f"{req.method} {req.route_name}")
        )

    def roll(self) -> bool:
        """Decide whether this matching request is hit, and use up one `count` if so."""
        if self.skip > 0:
            self.skip -= 1
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        if self.rate < 1.0 and self.rng.random() >= self.rate:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _DESCRIBED}


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{key} must be a number between {low} and {high}")
    return float(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _whole(data: dict[str, Any], key: str, *, default: int, low: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{key} must be a whole number, {low} or more")
    return value


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def parse_rule(rule_id: int, data: Any) -> FaultRule:
    if not isinstance(data, dict):
        raise ValueError("each fault must be a JSON object")
    unknown = set(data) - FAULT_KEYS
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    status = data.get("status")
    if status is not None and (isinstance(status, bool) or status not in range(200, 600)):
        raise ValueError("status must be an HTTP status code")
    count = data.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer")
    skip = data.get("skip", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ValueError("skip must be a whole number, 0 or more")
    rate = _number(data, "rate", 0, 1)
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError("seed must be an integer")
    rule = FaultRule(
        id=rule_id,
        status=status,
        retry_after=_number(data, "retry_after", 0, 86400),
        count=count,
        skip=skip,
        rate=1.0 if rate is None else rate,
        seed=seed,
        path=_text(data, "path"),
        method=_text(data, "method"),
        route=_text(data, "route"),
        latency=_number(data, "latency", 0, MAX_DELAY) or 0.0,
        hang=_flag(data, "hang"),
        seconds=_number(data, "seconds", 0, MAX_DELAY) or DEFAULT_HANG,
        malformed_json=_flag(data, "malformed_json"),
        quota_exhausted=_flag(data, "quota_exhausted"),
        body=data.get("body"),
        after=_flag(data, "after"),
        every=_whole(data, "every", default=1, low=1),
        rng=random.Random(seed),
    )
    if rule.after and not rule.ends_request:
        raise ValueError("after needs status, hang or malformed_json: how the call ends")
    if status is not None and status < 400 and not rule.malformed_json:
        raise ValueError("status below 400 only makes sense with malformed_json")
    if not (rule.ends_request or rule.latency or rule.quota_exhausted):
        raise ValueError(
            "a fault needs one of: status, latency, hang, malformed_json, quota_exhausted"
        )
    return rule


@dataclass
class Plan:
    """What the faults decided for one request: a delay, then maybe a rule that ends it."""

    latency: float = 0.0
    rule: FaultRule | None = None
    release: threading.Event = field(default_factory=threading.Event)


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        # Set (and replaced) on clear, so hung and delayed requests end as soon as a test is done.
        self._release = threading.Event()

    def add(self, payload: Any) -> list[dict[str, Any]]:
        items = payload if isinstance(payload, list) else [payload]
        with self._lock:
            rules = [parse_rule(self._next_id + i, item) for i, item in enumerate(items)]
            self._next_id += len(rules)
            self._rules.extend(rules)
            return [rule.describe() for rule in self._rules]

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._release.set()
            self._release = threading.Event()

    def plan(self, req: Request) -> Plan:
        with self._lock:
            plan = Plan(release=self._release)
            for rule in self._rules:
                if rule.quota_exhausted or not rule.applies_to(req) or not rule.roll():
                    continue
                plan.latency += rule.latency
                if rule.ends_request:
                    plan.rule = rule
                    break
            return plan

    def take_quota_exhausted(self, req: Request) -> bool:
        """Asked by charging routes only; a hit uses up one `count` of the rule."""
        with self._lock:
            return any(
                rule.quota_exhausted and rule.applies_to(req) and rule.roll()
                for rule in self._rules
            )


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._images: Counter[str] = Counter()

    def hit(self, key: str) -> None:
        with self._lock:
            self._calls[key] += 1

    def charge(self, provider: str, images: int) -> None:
        with self._lock:
            self._images[provider] += images

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(sorted(self._calls.items())),
                "images_charged": sum(self._images.values()),
                "images_charged_by_provider": {
                    "neuroflash": self._images["neuroflash"],
                    "nanogpt": self._images["nanogpt"],
                },
            }

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._images.clear()
