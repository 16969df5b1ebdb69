"""Lenient coercion helpers for ``from_api`` constructors.

The provider docs type many fields as "object" with ``{}`` placeholders where the live API
sends numbers, strings or null, and both APIs add fields over time. So every optional field is
read through one of these helpers, which turn anything unexpected into ``None``/empty instead of
failing; only the few fields we cannot work without go through ``require_*`` and raise
``PayloadError`` (which the clients turn into ``MalformedResponseError``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


class PayloadError(ValueError):
    """A response lacks a field we cannot do without, or has the wrong overall shape."""


def as_mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def require_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"expected an object for {what}, got {type(value).__name__}")
    return value


def require_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(f"expected a list for {what}, got {type(value).__name__}")
    return value


def opt_str(value: Any) -> str | None:
    # Ids are sometimes numbers (``user_id: 0``); anything else (``{}``, lists) means "absent".
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def require_str(data: Mapping[str, Any], key: str) -> str:
    value = opt_str(data.get(key))
    if not value:
        raise PayloadError(f"missing {key!r}")
    return value


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def opt_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def opt_decimal(value: Any) -> Decimal | None:
    # Money is never a float: NanoGPT sends balances as decimal strings and costs as JSON
    # numbers; str(float) gives the shortest round-tripping text, so Decimal(str(x)) keeps
    # 0.06551 as 0.06551.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def opt_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def opt_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def opt_message(value: Any) -> str | None:
    """A free-form "detail"/warning field: text as is, structured data as compact text."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping | list) and value:
        return json.dumps(value, sort_keys=True, default=str)
    return None
