"""Template errors: each names the template, the line and (when known) the column."""

from __future__ import annotations

from rum.errors import RumError


class TemplateError(RumError):
    """Base class of template errors.

    ``template`` is the template's name (or ``"<string>"``), ``line`` and ``column`` are
    1-based positions in the Rum source (``column`` is ``None`` when unknown), ``message``
    says what went wrong and what was expected.
    """

    def __init__(self, message: str, template: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.template = template or "<string>"
        self.line = line
        self.column = column
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """``name:line:column`` (as much of it as is known)."""
        where = self.template
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class TemplateSyntaxError(TemplateError):
    """The template cannot be compiled: unclosed block, stray ``end``, bad expression..."""


class TemplateRenderError(TemplateError):
    """Rendering failed: an undefined name, a failing method, a type error..."""


class TemplateNotFound(TemplateError):
    """No template of that name in the template directories (the message names them)."""

    def __str__(self) -> str:
        return self.message if self.line is None else super().__str__()
