"""Model validations in the REST layer: a ``rum_orm.Model``'s own validators (presence,
uniqueness, custom rules...) judge the record a create or update would write, and their
messages join the 422 of the fields the API itself refused."""

from __future__ import annotations

from typing import Any

from rum.errors import UnprocessableEntity
from rum_orm import Model, inclusion, length, numericality
from rum_rest.resource import Resource

#: The key of errors about a record as a whole (as in ``rum_orm.Errors``).
BASE = "base"


#: How many fields (and messages per field) a 422 lists: a 1 MB body of 90,000 unknown keys
#: made a 13 MB answer before; the others are counted in ``detail``.
MAX_REPORTED = 20


def reported(errors: dict[str, list[str]]) -> tuple[dict[str, list[str]], str]:
    """``errors`` cut to the first :data:`MAX_REPORTED` fields (``"base"`` kept) and
    messages per field, and the text naming them: ``"k0, k1 and 5 more (only the first 20
    are listed)"``."""
    fields = [name for name in errors if name != BASE]
    if len(fields) <= MAX_REPORTED and all(len(m) <= MAX_REPORTED for m in errors.values()):
        return errors, ", ".join(fields)
    shown = fields[:MAX_REPORTED]
    cut = {name: errors[name][:MAX_REPORTED] for name in shown}
    if BASE in errors:
        cut[BASE] = errors[BASE][:MAX_REPORTED]
    names = ", ".join(shown)
    if len(fields) > MAX_REPORTED:
        names += (f" and {len(fields) - MAX_REPORTED} more (only the first {MAX_REPORTED} are "
                  "listed)")
    return cut, names


def invalid(errors: dict[str, list[str]]) -> UnprocessableEntity:
    """The 422 for ``errors`` (field → messages; ``"base"`` for the record as a whole), at
    most :data:`MAX_REPORTED` of them listed."""
    bad = sum(1 for name in errors if name != BASE)
    errors, names = reported(errors)
    parts = []
    if bad:
        parts.append(f"{bad} field{'s are' if bad > 1 else ' is'} invalid: {names}")
    parts.extend(errors.get(BASE, []))
    return UnprocessableEntity("; ".join(parts) or "invalid", data=errors)


def has_validations(model: Any) -> bool:
    """Whether ``model`` is a ``rum_orm.Model`` that declares validators."""
    return (isinstance(model, type) and issubclass(model, Model)
            and _declares_validators(model))


def _declares_validators(model: Any) -> bool:
    return any(model.validators_for(name) for name in (*model.__fields__, BASE))


async def model_record(resource: Resource, db: Any, values: dict[str, Any], pk: Any,
                       fixed: dict[str, Any], *, skip: Any = None) -> Any:
    """The record of ``resource.model`` these values make (values that are ``skip`` left
    out), validated on ``db``: a new record, or with ``pk`` the stored one (matching
    ``fixed``) changed. ``None`` when the resource is not a ``rum_orm.Model`` with validators,
    or ``pk``'s row is not there."""
    model = resource.model
    if not has_validations(model):
        return None
    kept = {name: value for name, value in values.items() if value is not skip}
    if pk is None:
        record = model(kept)
    else:
        record = await model.all().filter(**{resource.primary_key: pk}, **fixed)\
            .fetch_optional(db)
        if record is None:
            return None
        for name, value in kept.items():
            setattr(record, name, value)
    await record.validate(db)
    return record


def schema_constraints(resource: Resource, name: str) -> dict[str, Any]:
    """JSON Schema keywords expressing the unconditional validators of field ``name`` of
    ``resource``'s model: ``minLength``/``maxLength`` (``length`` on a string),
    ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (``numericality`` on an
    ``int`` or ``float``), ``enum`` (``inclusion`` of a list of strings or numbers). For the
    OpenAPI document's input schemas; ``{}`` without a model."""
    if not has_validations(resource.model):
        return {}
    spec = resource.fields[name]
    out: dict[str, Any] = {}
    for validator in resource.model.validators_for(name):
        if validator.conditional:
            continue
        if isinstance(validator, length) and spec.type is str:
            low = validator.is_ if validator.is_ is not None else validator.min
            high = validator.is_ if validator.is_ is not None else validator.max
            if low:
                out["minLength"] = low
            if high is not None:
                out["maxLength"] = high
        elif isinstance(validator, numericality) and spec.type in (int, float):
            bounds = (("minimum", validator.ge), ("maximum", validator.le),
                      ("exclusiveMinimum", validator.gt), ("exclusiveMaximum", validator.lt))
            out.update({key: _json_number(b) for key, b in bounds if b is not None})
            if validator.between is not None:
                low, high = validator.between
                out["minimum"], out["maximum"] = _json_number(low), _json_number(high)
        elif isinstance(validator, inclusion) and isinstance(validator.values, list | tuple) \
                and all(type(v) in (str, int, float) for v in validator.values):
            out["enum"] = list(validator.values)
    return out


def _json_number(bound: Any) -> int | float:
    """A bound as a JSON number (a ``Decimal`` bound becomes a float)."""
    return bound if isinstance(bound, int) else float(bound)
