"""Rum's Jinja2 code generator: two filters compile to inline Python instead of calls.

- ``expr|rum_print`` (what a Rum ``<%= expr %>`` prints under Ruby semantics) becomes
  ``(v if (v := expr).__class__ is str or v.__class__ is int else rum_print(v))``: strings
  and integers, the common cases, cost a type check instead of a function call.
- ``body|rum_block("x", "i")`` (a Ruby block ``{ |x, i| body }``) becomes the Python lambda
  ``(lambda x, i: body)``. Each parameter is named after the reference Jinja2 gives the name
  in the current frame, so inside the body the parameter shadows any outer variable of the
  same name, like a Ruby block parameter.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

_PRINTED = "_rum_v"


class RumCodeGenerator(CodeGenerator):
    """A :class:`jinja2.compiler.CodeGenerator` that inlines ``rum_print`` and compiles
    ``rum_block`` to lambdas."""

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
