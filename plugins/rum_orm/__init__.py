"""Rum's ORM plugin: PostgreSQL storage (asyncpg behind a trio bridge), models, scopes,
validations and migrations.

Names are imported lazily, so ``import rum_orm.testing`` (a pytest plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Database": "rum_orm.database",
    "Connection": "rum_orm.database",
    "Record": "rum_orm.database",
    "ListenerClosed": "rum_orm.database",
    "BridgeClosed": "rum_orm.bridge",
    "transaction": "rum_orm.database",
    "executor": "rum_orm.database",
    "Model": "rum_orm.model",
    "Change": "rum_orm.changes",
    "on_change": "rum_orm.changes",
    "remove_change_listener": "rum_orm.changes",
    "has_many": "rum_orm.model",
    "belongs_to": "rum_orm.model",
    "table_name": "rum_orm.model",
    "snake_case": "rum_orm.model",
    "pluralize": "rum_orm.model",
    "Read": "rum_orm.scope",
    "Scope": "rum_orm.scope",
    "Column": "rum_orm.sql",
    "OrmError": "rum_orm.errors",
    "NotFound": "rum_orm.errors",
    "MultipleFound": "rum_orm.errors",
    "UnknownColumn": "rum_orm.errors",
    "InvalidValue": "rum_orm.errors",
    "ModelDefinitionError": "rum_orm.errors",
    "DatabaseUnavailable": "rum_orm.diagnose",
    "ValueRejected": "rum_orm.errors",
    "INT64_MIN": "rum_orm.values",
    "INT64_MAX": "rum_orm.values",
    "check_value": "rum_orm.values",
    "problem_with": "rum_orm.values",
    "Migrator": "rum_orm.migrations",
    "MigrationError": "rum_orm.migrations",
    "database_url": "rum_orm.appdb",
    "load_models": "rum_orm.autodiff_cli",
    "Errors": "rum_orm.validation_errors",
    "ValidationError": "rum_orm.validation_errors",
    "Validator": "rum_orm.validators",
    "ValidationContext": "rum_orm.validators",
    "presence": "rum_orm.validators",
    "absence": "rum_orm.validators",
    "length": "rum_orm.validators",
    "matches": "rum_orm.validators",
    "inclusion": "rum_orm.validators",
    "exclusion": "rum_orm.validators",
    "numericality": "rum_orm.validators",
    "confirmation": "rum_orm.validators",
    "uniqueness": "rum_orm.validators",
    "check": "rum_orm.validators",
    "validates": "rum_orm.validators",
    "virtual": "rum_orm.validators",
    "html_attributes": "rum_orm.validators",
    "is_blank": "rum_orm.validators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rum_orm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
