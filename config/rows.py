"""Model instances from rows of hand-written SQL, for the few hot reads where compiling the
ORM's query costs more Python than the database spends answering it."""

from __future__ import annotations

from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def model_columns(model: type[Model], alias: str) -> list[str]:
    """The model's concrete columns as `alias."column"`, in the order `model_from_row` reads."""
    quote = connection.ops.quote_name
    return [f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields]  # type: ignore[arg-type]  # concrete: has a column


def model_from_row(model: type[M], row: tuple) -> tuple[M | None, tuple]:
    """The instance in the first columns of `row` (its concrete fields, in order; None for a
    LEFT JOIN that found nothing), with the database's values converted as the ORM does, and
    the rest of the row."""
    fields = model._meta.concrete_fields
    values, rest = row[: len(fields)], row[len(fields) :]
    if values[0] is None:
        return None, rest
    converted = []
    for field, value in zip(fields, values, strict=True):
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
            value = convert(value, col, connection)
        converted.append(value)
    names = [field.attname for field in fields]
    return model.from_db(connection.alias, names, converted), rest
