"""The two answers to a form post: re-render it with 422, or redirect with 303.

Turbo (and plain browsers) expect exactly this: an invalid submission is answered with the
form page again and a **4xx** status (Turbo renders 4xx/5xx responses to a form submission and
ignores a 200), a valid one with a **303 See Other** redirect that the browser follows with a
GET (POST-redirect-GET)::

    async def post(self, request):
        form = await OrderForm.from_request(request)
        if not await form.validate():
            return await render_form(self, "orders/new.html", form)     # 422
        order = await create_order(form.data)
        return see_other(f"/orders/{order.id}")                        # 303
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum.response import Response

if TYPE_CHECKING:
    from rum.controller import Controller
    from rum_forms.form_class import Form

#: The status of a form page shown again because the submission was invalid.
UNPROCESSABLE = 422


async def render_form(controller: Controller, template: str, form: Form, /, *,
                      status: int | None = None, **context: Any) -> Response:
    """Render ``template`` with ``form`` (as ``form``) and ``context``: status 422 when the
    form has errors (a re-rendered invalid submission), else 200 (``status`` overrides)."""
    response = await controller.render(template, form=form, **context)
    response.status = status if status is not None else (
        UNPROCESSABLE if form.errors else 200)
    return response


def see_other(location: str) -> Response:
    """A ``303 See Other`` redirect to ``location``: the answer to a successful form post."""
    return Response.redirect(location, 303)
