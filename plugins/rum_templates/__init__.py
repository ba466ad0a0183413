"""Rum templates: ERB-style ``<% %>`` templates compiled to Jinja2.

``Template.from_str(src)``, ``await Template.cached("templates/index.html")`` and, in
controllers, ``return await self.render("index.html", users=users)``. See docs/templates.md.
"""

from rum_templates.engine import Templates
from rum_templates.errors import (
    TemplateError,
    TemplateNotFound,
    TemplateRenderError,
    TemplateSyntaxError,
)
from rum_templates.methods import METHODS
from rum_templates.template import Template
from rum_templates.translator import translate

__all__ = [
    "METHODS",
    "Template",
    "TemplateError",
    "TemplateNotFound",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "Templates",
    "translate",
]
