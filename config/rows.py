"""Model instances from rows of hand-written SQL, for the few hot reads where compiling the
ORM's query costs more Python than the database spends answering it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)

# Per connection (each thread has its own) and model: the attribute names and, for the fields
# whose values the ORM converts, their converters. Found once rather than per row: asking
# Django for them took most of the time of reading a row.
_Plan = tuple[list[str], list[tuple[int, list[Callable[..., Any]], Any]]]
_plans: WeakKeyDictionary[BaseDatabaseWrapper, dict[type[Model], _Plan]] = WeakKeyDictionary()


def model_columns(model: type[Model], alias: str) -> list[str]:
    """The model's concrete columns as `alias."column"`, in the order `model_from_row` reads."""
    quote = connection.ops.quote_name
    return [f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields]  # type: ignore[arg-type]  # concrete: has a column


def _plan(model: type[Model], db: BaseDatabaseWrapper) -> _Plan:
    by_model = _plans.setdefault(db, {})
    plan = by_model.get(model)
    if plan is None:
        fields = model._meta.concrete_fields
        conversions = []
        for index, field in enumerate(fields):
            col = field.get_col(model._meta.db_table)
            converters = db.ops.get_db_converters(col) + field.get_db_converters(db)
            if converters:
                conversions.append((index, converters, col))
        plan = by_model[model] = ([field.attname for field in fields], conversions)
    return plan


def model_from_row(model: type[M], row: tuple) -> tuple[M | None, tuple]:
    """The instance in the first columns of `row` (its concrete fields, in order; None for a
    LEFT JOIN that found nothing), with the database's values converted as the ORM does, and
    the rest of the row."""
    db = connections[DEFAULT_DB_ALIAS]
    names, conversions = _plan(model, db)
    values, rest = list(row[: len(names)]), row[len(names) :]
    if values[0] is None:
        return None, rest
    for index, converters, col in conversions:
        value = values[index]
        for convert in converters:
            value = convert(value, col, db)
        values[index] = value
    return model.from_db(db.alias, names, values), rest
