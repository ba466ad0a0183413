"""Rum forms: form classes, form helpers for templates, and bounded ``multipart/form-data``
parsing off the event loop with file uploads.

Enable ``forms`` in ``[plugins] enabled``; then ``form = await request.form()`` parses
multipart bodies too, and ``form.files["photo"]`` is an :class:`UploadedFile`. Limits live in
``[forms]``. Declarative forms (``class OrderForm(Form)``), model forms and the template
helpers (``form_with``) are described in ``docs/forms.md``; uploads in ``docs/uploads.md``.
"""

from rum_forms.builder import FormBuilder, button_to, form_with
from rum_forms.fields import (
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    Field,
    FieldError,
    FileField,
    IntegerField,
    PasswordField,
    StringField,
    TextField,
    Validator,
)
from rum_forms.form_class import BASE, BoundField, Form, full_message
from rum_forms.forms import Forms, storage
from rum_forms.model_form import FloatField, ModelForm
from rum_forms.parser import MultipartReader, parse_multipart
from rum_forms.responses import render_form, see_other
from rum_forms.settings import FormLimits
from rum_forms.storage import LocalStorage, Storage
from rum_forms.uploads import UploadedFile, safe_filename

__all__ = ["BASE", "BooleanField", "BoundField", "ChoiceField", "DateField", "DateTimeField",
           "DecimalField", "EmailField", "Field", "FieldError", "FileField", "FloatField", "Form",
           "FormBuilder", "FormLimits", "Forms", "IntegerField", "LocalStorage",
           "ModelForm", "MultipartReader", "PasswordField", "Storage", "StringField", "TextField",
           "UploadedFile", "Validator", "button_to", "form_with", "full_message",
           "parse_multipart", "render_form", "safe_filename", "see_other", "storage"]
