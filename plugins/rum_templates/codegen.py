"""Rum's Jinja2 code generator: two filters compile to inline Python instead of calls,
autoescaped output skips building a ``Markup`` for plain strings and integers, and attribute
reads skip ``Environment.getattr``'s call when the attribute exists.

- ``expr|rum_print`` (what a Rum ``<%= expr %>`` prints under Ruby semantics) becomes
  ``(v if (v := expr).__class__ is str or v.__class__ is int else rum_print(v))``: strings
  and integers, the common cases, cost a type check instead of a function call.
- ``body|rum_block("x", "i")`` (a Ruby block ``{ |x, i| body }``) becomes the Python lambda
  ``(lambda x, i: body)``. Each parameter is named after the reference Jinja2 gives the name
  in the current frame, so inside the body the parameter shadows any outer variable of the
  same name, like a Ruby block parameter.
- An autoescaped ``<%= %>`` (``{{ }}``) prints through :func:`escape_output` instead of
  ``markupsafe.escape``: the same text, but a ``str`` is escaped by markupsafe's C core
  directly and an ``int`` printed with ``str()``, without building a ``Markup`` that is only
  joined into the page (~0.3 µs per printed value). Every other value goes to
  ``markupsafe.escape`` as before. The ``str`` and ``int`` tests are written inline, so
  those values cost no Python call either.
- ``obj.attr`` becomes ``getattr(obj, "attr", <sentinel>)`` in line, and only when that finds
  no attribute, :func:`attribute_fallback` (``obj["attr"]``, else an undefined value): what
  ``Environment.getattr`` does, without a Python call per attribute read (~1k instructions
  each, two per row on a typical listing). Sandboxed and async environments, and any
  environment class with its own ``getattr``, keep Jinja2's call.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from markupsafe import escape

_PRINTED = "_rum_v"
_OUTPUT = "_rum_o"  # the value an autoescaped output prints
_ATTR, _OWNER = "_rum_a", "_rum_b"  # an inline attribute read: its value and its object

_escape_inner: Any
try:  # markupsafe >= 3: the C function behind escape(), str -> str
    from markupsafe._speedups import _escape_inner
except ImportError:  # no C speedups, or another layout: plain markupsafe.escape
    _escape_inner = None


def _escape_output(value: Any) -> Any:
    """What autoescaped output prints: ``markupsafe.escape(value)``'s text, as a plain ``str``
    for a ``str`` or an ``int`` (exact types; subclasses, ``Markup`` and objects with
    ``__html__`` go through ``markupsafe.escape``). Only used where Jinja2 joins the result
    into the output (a captured block is wrapped in ``Markup`` after the join)."""
    cls = value.__class__
    if cls is str:
        return _escape_inner(value)
    if cls is int:
        return str(value)
    return escape(value)


escape_output: Any = _escape_output if _escape_inner is not None else escape

escape_str: Any = _escape_inner
"""markupsafe's C escape of an exact ``str`` to a ``str`` (``None`` without the speedups); the
inline output code calls it for strings."""

MISSING: Any = object()
"""What the inline ``getattr(obj, name, MISSING)`` returns when ``obj`` has no such attribute."""


def attribute_fallback(environment: jinja2.Environment, obj: Any, attribute: str) -> Any:
    """The rest of ``Environment.getattr`` once ``getattr(obj, attribute)`` found nothing: the
    item ``obj[attribute]``, else the environment's undefined value naming both."""
    try:
        return obj[attribute]
    except (TypeError, LookupError, AttributeError):
        return environment.undefined(obj=obj, name=attribute)


class RumCodeGenerator(CodeGenerator):
    """A :class:`jinja2.compiler.CodeGenerator` that inlines ``rum_print``, compiles
    ``rum_block`` to lambdas and prints autoescaped values through :data:`escape_output`."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        """Jinja2's module, plus the name ``rum_escape`` its output calls (bound when the
        module runs, before any render)."""
        super().visit_Template(node, frame)
        self.writeline("from rum_templates.codegen import escape_output as rum_escape, "
                       "escape_str as rum_escape_str, MISSING as rum_missing, "
                       "attribute_fallback as rum_attribute_fallback")

    def _inline_escape(self, frame: Frame) -> bool:
        return bool(frame.eval_ctx.autoescape and not frame.eval_ctx.volatile)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._inline_escape(frame):
            if escape_str is not None:
                self.write(f"(rum_escape_str({_OUTPUT}) if ({_OUTPUT} := ")
            else:
                self.write("rum_escape(")
            if finalize.src is not None:
                self.write(finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._inline_escape(frame) and escape_str is not None:
            if finalize.src is not None:
                self.write(")")
            self.write(f").__class__ is str else str({_OUTPUT}) if {_OUTPUT}.__class__ is int "
                       f"else rum_escape({_OUTPUT}))")
            return
        super()._output_child_post(node, frame, finalize)

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        """``getattr(obj, attr, MISSING)`` in line; :func:`attribute_fallback` only when the
        attribute is missing. Each name is bound right before it is read, and an inner read
        finishes before the outer one binds, so nested reads (``a.b.c``) share the names."""
        env = self.environment
        if env.is_async or type(env).getattr is not jinja2.Environment.getattr:
            super().visit_Getattr(node, frame)
            return
        self.write(f"({_ATTR} if ({_ATTR} := getattr(({_OWNER} := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, rum_missing)) is not rum_missing "
                   f"else rum_attribute_fallback(environment, {_OWNER}, {node.attr!r}))")

    def visit_Filter(self, node: nodes.Filter, frame: Frame) -> Any:
        """Inline ``rum_print`` and ``rum_block``; every other filter as Jinja2 does."""
        if node.node is not None and node.name in ("rum_print", "rum_block") and \
                not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None:
            if self.optimizer is not None and not frame.eval_ctx.volatile:
                optimized = self.optimizer.visit(node, frame.eval_ctx)
                if optimized != node:
                    return self.visit(optimized, frame)
            if node.name == "rum_print" and not node.args:
                self.write(f"({_PRINTED} if ({_PRINTED} := ")
                self.visit(node.node, frame)
                self.write(f").__class__ is str or {_PRINTED}.__class__ is int "
                           f"else {self.filters['rum_print']}({_PRINTED}))")
                return None
            names = [a.value for a in node.args if isinstance(a, nodes.Const)]
            if node.name == "rum_block" and len(names) == len(node.args) and \
                    all(isinstance(name, str) for name in names):
                params = []
                for index, name in enumerate(names):
                    ref = frame.symbols.find_ref(name)
                    params.append(ref if ref is not None else f"_rum_unused{index}")
                self.write(f"(lambda {', '.join(params)}: ")
                self.visit(node.node, frame)
                self.write(")")
                return None
        return super().visit_Filter(node, frame)
