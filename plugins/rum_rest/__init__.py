"""RESTful JSON controllers for ORM models: ``ModelController(User).crud("/api/users")``.

Lists with typed filters, ordering, pagination and totals; create, retrieve, full and partial
update, delete; per-field 422 errors; an OpenAPI 3.1 document at ``/api/openapi.json`` (hand-
written API controllers included, described by ``@openapi``) and a docs page at ``/api/docs``.
See ``docs/rest.md``.
"""

from rum_rest.controller import ModelController
from rum_rest.operations import openapi
from rum_rest.resource import FieldSpec, Resource

__all__ = ["FieldSpec", "ModelController", "Resource", "openapi"]
