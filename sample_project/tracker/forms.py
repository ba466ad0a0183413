"""The order form: the ``Order`` model's fields and validations, plus an optional file."""

from __future__ import annotations

from rum_forms import DecimalField, FileField, ModelForm
from tracker.models import Order

#: Largest attachment accepted (bytes); the forms plugin's ``[forms]`` limits bound the body.
MAX_ATTACHMENT = 5 * 2**20


class OrderForm(ModelForm):
    """What the orders page posts. Field rules come from ``Order``'s validations."""

    model = Order
    fields = ("customer", "item", "quantity", "total")
    prefix = ""  # input ids are the field names: #customer, #item, ...
    total = DecimalField(required=True, places=2, label="Total")
    attachment = FileField(required=False, max_size=MAX_ATTACHMENT, label="Attachment")
