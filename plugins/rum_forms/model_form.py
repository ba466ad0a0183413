"""``ModelForm``: a form whose fields and validations come from a ``rum_orm`` model.

::

    class Order(Model):
        customer: Annotated[str, presence(), length(max=80)]
        quantity: Annotated[int, numericality(integer=True, ge=1, le=99)]
        notes: str | None = None

    class OrderForm(ModelForm):
        model = Order
        fields = ["customer", "quantity", "notes"]
        notes = TextField()                        # a declared field replaces the derived one

    form = await OrderForm.from_request(request)               # a new order
    form = await OrderForm.from_request(request, instance=order)  # editing one
    if await form.validate():                                  # types, then the model's rules
        order = await form.save()

Each listed name becomes a field of the model's type (``str`` → text, ``int`` → integer,
``Decimal``/``float`` → decimal, ``bool`` → check box, ``date``/``datetime``; names such as
``email`` and ``password`` get their own inputs, a field whose model declares
``inclusion([...])`` a select of those values), with the HTML attributes of the model's
validators (``required``, ``maxlength``, ``min``...). The form only converts types; the rules
are the model's: ``validate()`` copies the converted values onto the instance and runs
``await instance.validate()``, whose messages become the form's errors (messages about fields
that are not in the form are shown with the form-wide ones).

The ORM is imported only when a model form class is defined, so the forms plugin works without
it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, ClassVar

from rum_forms.fields import (
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    Field,
    FieldError,
    IntegerField,
    PasswordField,
    StringField,
)
from rum_forms.form_class import BASE, Form, full_message


class FloatField(DecimalField):
    """A decimal number returned as a ``float`` (for ``float`` model fields)."""

    def coerce(self, raw: Any) -> Any:
        value = super().coerce(raw)
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise FieldError("must be a number")
        return number


def _field_class(name: str, kind: Any) -> type[Field]:
    if kind is bool:
        return BooleanField
    if kind is int:
        return IntegerField
    if kind is float:
        return FloatField
    if kind is decimal.Decimal:
        return DecimalField
    if kind is dt.datetime:
        return DateTimeField
    if kind is dt.date:
        return DateField
    if "password" in name:
        return PasswordField
    if name == "email" or name.endswith("_email"):
        return EmailField
    return StringField


def _has_default(model_field: Any) -> bool:
    # the ORM marks "no default" with a private sentinel, a bare object()
    return type(model_field.default) is not object


def _inclusion_choices(model: Any, name: str) -> list[Any] | None:
    """The values of an unconditional ``inclusion([...])`` validator on ``name`` (a list or
    tuple of them: a select offers those), else ``None``."""
    from rum_orm import inclusion

    for validator in model.validators_for(name):
        if isinstance(validator, inclusion) and not validator.conditional \
                and isinstance(validator.values, list | tuple):
            return list(validator.values)
    return None


def derive_field(model: Any, name: str) -> Field:
    """A form field for ``model``'s field (or non-column attribute) ``name``: its type's
    input, the model's label, and the HTML attributes of its validators. A field that is
    neither optional nor defaulted, and that no ``presence()`` guards, is required."""
    model_field = model.__fields__.get(name) or model.__attributes__.get(name)
    if model_field is None:
        model.validators_for(name)  # raises the ORM's did-you-mean error
        raise AssertionError(name)
    kind = model_field.base_type
    cls = _field_class(name, kind)
    choices = _inclusion_choices(model, name)
    if choices is not None and cls is not BooleanField:
        cls = ChoiceField
    attrs = model.html_attributes_for(name)
    guarded = attrs.get("required", False)
    required = not guarded and not model_field.optional and not _has_default(model_field) \
        and cls is not BooleanField
    options: dict[str, Any] = {"required": required, "attrs": attrs,
                               "label": model.__labels__.get(name)}
    if issubclass(cls, StringField):
        options["default"] = None if model_field.optional else ""
    if cls is PasswordField:
        options["new"] = True
    field = ChoiceField(choices or [], **options) if cls is ChoiceField else cls(**options)
    field.__set_name__(model, name)
    return field


class ModelForm(Form):
    """A :class:`Form` built from ``model`` (a ``rum_orm.Model``): ``fields`` lists the names
    it shows (default: every column but the primary key); field attributes declared on the
    class replace the derived ones. See the module documentation."""

    #: the model class (a ``rum_orm.Model`` subclass)
    model: ClassVar[Any] = None
    #: the model fields (or non-column attributes, e.g. a password confirmation) in the form
    fields: ClassVar[list[str] | tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = cls.model
        if model is None:
            return
        from rum_orm import Model

        if not (isinstance(model, type) and issubclass(model, Model)):
            raise TypeError(f"{cls.__name__}.model must be a rum_orm.Model subclass, got "
                            f"{model!r}")
        columns: dict[str, Any] = cls.model.__fields__
        names = list(cls.fields) or [n for n in columns if n != cls.model.__primary_key__]
        declared = cls.form_fields
        fields: dict[str, Field] = {}
        for name in names:
            fields[name] = declared.get(name) or derive_field(model, name)
        for name, field in declared.items():
            fields.setdefault(name, field)
        cls.form_fields = fields

    @classmethod
    def default_prefix(cls) -> str:
        """The model's name in snake case: ``ShopOrder`` → ``shop_order``."""
        if cls.model is None:
            return super().default_prefix()
        from rum_orm import snake_case

        return str(snake_case(cls.model.__name__))

    def __init__(self, values: Any = None, /, *, files: Any = None, instance: Any = None,
                 initial: Any = None) -> None:
        if self.model is None:
            raise TypeError(f"{type(self).__name__} has no model: set model = YourModel")
        self.instance = instance if instance is not None else self.model()
        super().__init__(values, files=files,
                         initial=initial if initial is not None else instance)

    async def validate(self, conn: Any = None) -> bool:
        """Convert every field (type errors stop there), copy the values onto
        :attr:`instance`, run the model's validations (on ``conn`` when given) and the form's
        own checks; ``True`` when nothing failed."""
        await super().validate()
        model = self.model
        for name, value in self.data.items():
            model_field = model.__fields__.get(name) or model.__attributes__.get(name)
            if model_field is not None:
                if value == "" and model_field.optional:
                    value = None  # a blank optional text is NULL, not ''
                setattr(self.instance, name, value)
        await self.instance.validate(conn)
        for name, messages in self.instance.errors.items():
            if name in self.errors and name != BASE:
                continue  # the form already said what is wrong with the value typed
            if name == BASE or name in self.form_fields:
                for message in messages:
                    if message not in self.errors.get(name, []):
                        self.errors.setdefault(name, []).append(message)
                self.data.pop(name, None)
            else:  # a rule on a field the form does not show: say it form-wide
                label = self.instance.errors.label(name)
                for message in messages:
                    self.errors.setdefault(BASE, []).append(full_message(label, message))
        if self.errors and BASE in self.errors:  # form-wide messages first
            self.errors = {BASE: self.errors[BASE],
                           **{k: v for k, v in self.errors.items() if k != BASE}}
        return not self.errors

    async def save(self, conn: Any = None) -> Any:
        """Write :attr:`instance` (insert or update) and return it. Call after a successful
        :meth:`validate`; the model validates again as it saves (so values set in between
        are checked) and an invalid record raises ``rum_orm.ValidationError`` (a 422)."""
        if not self.validated:
            raise RuntimeError(f"{type(self).__name__}.save() before validate(): call "
                               "`if await form.validate():` first")
        if self.errors:
            raise RuntimeError(f"{type(self).__name__}.save() on an invalid form: "
                               f"{'; '.join(self.full_messages())}")
        return await self.instance.save(conn)
