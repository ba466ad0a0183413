"""``form_with``: the form builder templates use to write accessible forms.

::

    <% f = form_with(form, action: "/orders") %>
    <%= f.open %>
      <%= f.error_summary %>
      <%= f.field(:customer) %>                  <%# label + input + hint + error %>
      <%= f.label(:quantity) %> <%= f.number_field(:quantity) %>
      <%= f.submit("Create order") %>
    <%= f.close %>

Inputs are tied to their labels by ``id`` (``<form prefix>_<field>``), carry ``required``,
``maxlength``, ``min``, ``max``... from the field's rules, show the submitted value again
(HTML-escaped; never a password), and, when the field has errors, ``aria-invalid="true"`` and
``aria-describedby`` naming the error message printed right after the input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from rum_forms.fields import _TRUE, ChoiceField, Field, FileField
from rum_forms.form_class import Form, full_message
from rum_forms.html import Html, tag

if TYPE_CHECKING:
    from rum.request import Request

#: Methods a browser can submit a form with. Rum has no ``_method`` override, so a form
#: that updates or deletes posts to its own route.
FORM_METHODS = ("get", "post")


def csrf_field(request: Request | None) -> Markup:
    """The sessions plugin's hidden CSRF input for ``request`` (empty without sessions)."""
    if request is None or getattr(request, "session", None) is None:
        return Markup("")
    from rum_sessions import csrf_input  # only when the sessions plugin runs

    return Markup(csrf_input(request))


class FormBuilder:
    """Writes one form's tags; made by :func:`form_with`. Every helper takes extra HTML
    attributes as keyword arguments (``class_: "wide"`` or, in templates, ``class: "wide"``;
    ``data: {turbo_frame: "x"}``; ``aria_label``)."""

    def __init__(self, form: Form | None = None, *, action: str = "", method: str = "post",
                 multipart: bool | None = None, request: Request | None = None,
                 prefix: str | None = None, **attrs: Any) -> None:
        method = str(method).lower()
        if method not in FORM_METHODS:
            raise ValueError(
                f"form_with(method={method!r}): browsers send forms only with GET or POST, and "
                "Rum has no _method override; post to a route of its own instead (e.g. "
                "action: \"/orders/1/update\" or \"/orders/1/delete\")")
        self.form = form
        self.action = action
        self.method = method
        if multipart is None:
            multipart = form is not None and any(
                isinstance(f, FileField) for f in form.form_fields.values())
        self.multipart = multipart
        self.request = request
        self.prefix = prefix if prefix is not None else (form.prefix if form is not None else "")
        self.attrs = attrs

    # -- the form tag -----------------------------------------------------------------------

    @property
    def open(self) -> Markup:
        """``<form action method [enctype]>`` plus the hidden CSRF field (posts, when the
        sessions plugin is enabled)."""
        attrs: dict[str, Any] = {"action": self.action, "method": self.method,
                                 "enctype": "multipart/form-data" if self.multipart else None,
                                 "accept-charset": "UTF-8"}
        attrs.update(self.attrs)
        html = tag("form", attrs)
        if self.method == "post":
            html += csrf_field(self.request)
        return html

    @property
    def close(self) -> Markup:
        """``</form>``."""
        return Markup("</form>")

    # -- names, ids, values -----------------------------------------------------------------

    def _field(self, name: str) -> Field | None:
        return self.form.form_fields.get(name) if self.form is not None else None

    def id_for(self, name: str) -> str:
        """The ``id`` of the input for ``name``."""
        return f"{self.prefix}_{name}" if self.prefix else name

    def errors_for(self, name: str) -> list[str]:
        """The error messages of ``name`` (empty without a form)."""
        return self.form.errors.get(name, []) if self.form is not None else []

    def _text(self, name: str) -> str:
        return self.form.value_text(name) if self.form is not None else ""

    def label_text(self, name: str) -> str:
        """The label of ``name``: the field's, else the name humanized."""
        if self.form is not None:
            return self.form.label_for(name)
        return name.replace("_", " ").capitalize()

    def _input_attrs(self, name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        """Shared attributes: name, id, the field's rules, ARIA state; ``attrs`` win."""
        field = self._field(name)
        input_id = attrs.pop("id", None) or self.id_for(name)
        out: dict[str, Any] = {"name": name, "id": input_id}
        if field is not None:
            out.update(field.html_attrs())
        described = []
        if field is not None and field.help:
            described.append(f"{input_id}_hint")
        if self.errors_for(name):
            out["aria-invalid"] = "true"
            described.append(f"{input_id}_error")
        if described:
            out["aria-describedby"] = " ".join(described)
        out.update(attrs)
        return out

    def _after(self, name: str, input_id: str, inline: bool) -> Markup:
        """The hint and the error message printed after an input."""
        if not inline:
            return Markup("")
        html = Markup("")
        field = self._field(name)
        if field is not None and field.help:
            html += tag("p", {"class": "field-hint", "id": f"{input_id}_hint"}, field.help)
        return html + self.error_message(name, id=f"{input_id}_error")

    # -- inputs -----------------------------------------------------------------------------

    def input(self, name: str, type: str = "text", **attrs: Any) -> Markup:
        """``<input type=...>`` for ``name``; ``inline_errors: false`` leaves out the hint and
        error message (print them yourself with :meth:`error_message`)."""
        inline = attrs.pop("inline_errors", True)
        if "value" not in attrs and type not in ("password", "file"):
            attrs["value"] = self._text(name)
        out = {"type": type, **self._input_attrs(name, attrs)}
        return tag("input", out) + self._after(name, out["id"], inline)

    def text_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="text">``."""
        return self.input(name, "text", **attrs)

    def email_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="email">`` (``autocomplete``: given, else the field's, else
        ``"email"``)."""
        field = self._field(name)
        attrs.setdefault("autocomplete", field.autocomplete if field and field.autocomplete
                         else "email")
        return self.input(name, "email", **attrs)

    def password_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="password">``, always empty; ``autocomplete`` is the field's
        (``current-password``, or ``new-password`` for ``PasswordField(new=True)``)."""
        field = self._field(name)
        attrs.setdefault("autocomplete", field.autocomplete if field and field.autocomplete
                         else "current-password")
        attrs.pop("value", None)
        return self.input(name, "password", **attrs)

    def number_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="number">`` with the field's ``min``, ``max`` and ``step``."""
        return self.input(name, "number", **attrs)

    def date_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="date">``."""
        return self.input(name, "date", **attrs)

    def datetime_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="datetime-local">``."""
        return self.input(name, "datetime-local", **attrs)

    def file_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="file">`` (``accept`` from the field's content types)."""
        return self.input(name, "file", **attrs)

    def hidden_field(self, name: str, **attrs: Any) -> Markup:
        """``<input type="hidden">`` with the field's value."""
        value = attrs.pop("value", self._text(name))
        return tag("input", {"type": "hidden", "name": name, "value": value, **attrs})

    def text_area(self, name: str, **attrs: Any) -> Markup:
        """``<textarea>`` holding the value (escaped)."""
        inline = attrs.pop("inline_errors", True)
        value = attrs.pop("value", self._text(name))
        out = self._input_attrs(name, attrs)
        # a newline right after <textarea> is dropped by HTML parsers: keep the value's own
        return tag("textarea", out, "\n" + str(value)) + self._after(name, out["id"], inline)

    def check_box(self, name: str, **attrs: Any) -> Markup:
        """A check box sending ``1`` when checked, with a hidden ``0`` before it so an
        unchecked box still sends the field."""
        inline = attrs.pop("inline_errors", True)
        checked = attrs.pop("checked", None)
        if checked is None:
            checked = self._checked(name)
        out = self._input_attrs(name, attrs)
        box = tag("input", {"type": "checkbox", **out, "value": "1", "checked": bool(checked)})
        hidden = tag("input", {"type": "hidden", "name": name, "value": "0"})
        return hidden + box + self._after(name, out["id"], inline)

    def _checked(self, name: str) -> bool:
        if self.form is None:
            return False
        if self.form.submitted:
            raw = self.form.raw.get(name)
            return raw is True or (isinstance(raw, str) and raw.strip().lower() in _TRUE)
        return bool(self.form.initial_value(name))

    def select(self, name: str, choices: Any = None, **attrs: Any) -> Markup:
        """``<select>`` with ``choices`` (default: the field's; values or ``(value, label)``
        pairs), the current value selected. ``include_blank``: a first empty option (default:
        when the field is optional or has no value yet; a string is its text)."""
        inline = attrs.pop("inline_errors", True)
        field = self._field(name)
        if choices is None:
            choices = field.choices if isinstance(field, ChoiceField) else []
        pairs = [(c[0], str(c[1])) if isinstance(c, tuple | list) and len(c) == 2
                 else (c, str(c)) for c in choices]
        current = str(attrs.pop("value", self._text(name)))
        blank = attrs.pop("include_blank", None)
        if blank is None:
            blank = not (field is not None and field.required) or not current
        fmt = field.format if field is not None else (lambda v: "" if v is None else str(v))
        options = Markup("")
        if blank:
            options += tag("option", {"value": ""}, blank if isinstance(blank, str) else "")
        for value, label in pairs:
            text = fmt(value)
            options += tag("option", {"value": text, "selected": text == current}, label)
        out = self._input_attrs(name, attrs)
        return (tag("select", out) + options + Markup("</select>")
                + self._after(name, out["id"], inline))

    def label(self, name: str, text: str | None = None, **attrs: Any) -> Markup:
        """``<label for="<input id>">`` with ``text`` (default: the field's label)."""
        return tag("label", {"for": attrs.pop("for_", None) or self.id_for(name), **attrs},
                   text if text is not None else self.label_text(name))

    def submit(self, text: str = "Save", **attrs: Any) -> Markup:
        """``<button type="submit">``."""
        return tag("button", {"type": "submit", **attrs}, text)

    # -- errors -----------------------------------------------------------------------------

    def error_message(self, name: str, **attrs: Any) -> Markup:
        """``<p class="field-error" id="<input id>_error">`` with the field's messages as
        sentences ("Quantity must be at most 99"); empty when the field is valid."""
        messages = self.errors_for(name)
        if not messages:
            return Markup("")
        label = self.label_text(name)
        text = ". ".join(full_message(label, m) for m in messages)
        return tag("p", {"class": "field-error", "id": f"{self.id_for(name)}_error", **attrs},
                   text)

    @property
    def error_summary(self) -> Html:
        """``<div class="error-summary" role="alert">``: a title and every error, each field's
        linked to its input; empty when the form has no errors. Call it to set the
        ``title``."""
        return Html(self._error_summary)

    def _error_summary(self, title: str | None = None, **attrs: Any) -> Markup:
        form = self.form
        if form is None or not form.errors:
            return Markup("")
        items = Markup("").join(tag("li", {}, m) for m in form.base_errors)
        for name, messages in form.errors.items():
            if name == "base":
                continue
            label = self.label_text(name)
            for message in messages:
                link = tag("a", {"href": f"#{self.id_for(name)}"}, full_message(label, message))
                items += tag("li", {}, link)
        count = sum(len(m) for m in form.errors.values())
        if title is None:
            title = f"Please fix {count} problem{'s' if count != 1 else ''}:"
        return (tag("div", {"class": "error-summary", "role": "alert", **attrs})
                + tag("p", {"class": "error-summary-title"}, title)
                + Markup("<ul>") + items + Markup("</ul></div>"))

    # -- a whole field ----------------------------------------------------------------------

    def field(self, name: str, label: str | None = None, **attrs: Any) -> Markup:
        """Label, input (chosen by the field's type), hint and error message in a
        ``<div class="field">`` (``field field-with-errors`` when invalid)."""
        field = self._field(name)
        kind = field.input_type if field is not None else "text"
        wrapper_class = "field field-with-errors" if self.errors_for(name) else "field"
        if kind == "checkbox":
            body = self.check_box(name, inline_errors=False, **attrs)
            body += self.label(name, label)
            input_id = attrs.get("id") or self.id_for(name)
            body += self._after(name, input_id, True)
            return tag("div", {"class": wrapper_class + " field-checkbox"}, body)
        widget = {"textarea": self.text_area, "select": self.select,
                  "password": self.password_field, "email": self.email_field}.get(kind)
        body = self.label(name, label, for_=attrs.get("id"))
        body += widget(name, **attrs) if widget else self.input(name, kind, **attrs)
        return tag("div", {"class": wrapper_class}, body)


def form_with(request: Request | None, form: Form | None = None, *, action: str = "",
              method: str = "post", **options: Any) -> FormBuilder:
    """A :class:`FormBuilder` for ``form`` (or for a form without a form class: ``form_with(
    action: "/logout")``). Templates get it pre-bound to the request: ``form_with(form,
    action: "/orders")``."""
    return FormBuilder(form, action=action, method=method, request=request, **options)


def button_to(request: Request | None, text: str, action: str, *, method: str = "post",
              **attrs: Any) -> Markup:
    """A one-button form (Rails' ``button_to``): ``<%= button_to("Log out", "/logout") %>``.
    Posts carry the CSRF field."""
    builder = FormBuilder(None, action=action, method=method, request=request)
    builder.attrs["class"] = "button-to"
    return builder.open + builder.submit(text, **attrs) + builder.close

