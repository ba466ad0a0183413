"""Translate Rum template source into Jinja2 source.

The output keeps every newline of the input on the same line, so Jinja2's line numbers (in
syntax errors and tracebacks) are Rum line numbers. Code tags alone on their line are trimmed
(the line vanishes from the output, as with Rails' Erubi) by moving the line's whitespace
inside the Jinja2 tag.

``semantics="ruby"`` (the default) prints values and divides the Ruby way (see
:mod:`rum_templates.ruby`); ``"python"`` keeps Python's printing and ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rum_templates.errors import TemplateSyntaxError
from rum_templates.expressions import (
    EOF,
    NAME,
    OP,
    STR,
    SYM,
    Attr,
    DictLit,
    Emitter,
    Lit,
    Name,
    Node,
    Parser,
    Range,
    code_chars,
    describe,
)
from rum_templates.lexer import CODE, COMMENT, RAW, TEXT, Positions, Segment, split

_JINJA_OPEN = re.compile(r"\{(?=[{%#]|$)")
_BLOCK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_UNSUPPORTED = {
    "while": "loop over a list with `for item in list`",
    "until": "loop over a list with `for item in list`",
    "begin": "templates cannot rescue errors; compute the value in the controller",
    "def": "define helpers in Python and pass them in the context or a template global",
    "loop": "loop over a list with `for item in list`",
}
_JINJA_WORDS = {
    "endif": "Rum closes every block with `<% end %>`",
    "endfor": "Rum closes every block with `<% end %>`",
    "endblock": "Rum closes every block with `<% end %>`",
    "elif": "write `<% elsif cond %>`",
    "elseif": "write `<% elsif cond %>`",
}
_SHOWN = {"hoisted": "content_for", "brace": "{ |item| ... }"}  # how errors name block kinds
#: The values of ``[templates] semantics``.
SEMANTICS = ("ruby", "python")


@dataclass
class Translation:
    """Jinja2 ``source`` and, per line, the columns of the tags on it (for error messages)."""

    source: str
    columns: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class _Open:
    kind: str
    line: int
    column: int
    has_else: bool = False
    number: int = 0  # a `case`'s subject is `_rum_case<number>`


class _Translator:
    def __init__(self, source: str, name: str, trim: bool, ruby: bool) -> None:
        self.source = source
        self.name = name
        self.trim = trim
        self.ruby = ruby
        self.pos = Positions(source)
        self.stack: list[_Open] = []
        self.layout = False  # `<% layout "x" %>`: the page body is the layout's content block
        self.cases = 0  # `case` statements so far
        self.started = False  # printed anything but whitespace / comments yet
        self.out: list[str] = []
        self.columns: dict[int, list[int]] = {}

    def error(self, message: str, offset: int) -> TemplateSyntaxError:
        line, column = self.pos(offset)
        return TemplateSyntaxError(message, self.name, line, column)

    # -- driver -------------------------------------------------------------------------------

    def run(self) -> Translation:
        segments = split(self.source, self.name, self.pos)
        leads, trails = self._trim(segments)
        for index, seg in enumerate(segments):
            if seg.kind == TEXT:
                self.out.append(_JINJA_OPEN.sub('{{ "{" }}', seg.text))
                self.started = self.started or bool(seg.text.strip())
                continue
            line, column = self.pos(seg.start)
            self.columns.setdefault(line, []).append(column)
            inner_ws = "\n" * seg.text.count("\n")
            lead, trail = leads.get(index, ""), trails.get(index, "")
            if seg.kind == COMMENT:
                self.out.append(f"{{#{lead}{inner_ws}{trail}#}}" if lead + inner_ws + trail
                                else "")
                continue
            tags = self._code(seg) if seg.kind == CODE else self._output(seg)
            self.started = True
            if not tags:
                tags = [("#", "")]
            first_kind, first_body = tags[0]
            tags[0] = (first_kind, lead + first_body)
            last_kind, last_body = tags[-1]
            tags[-1] = (last_kind, last_body + inner_ws + trail)
            self.out.append("".join(_tag(kind, body) for kind, body in tags))
        if self.stack:
            top = self.stack[-1]
            last_line = self.pos(len(self.source))[0]
            raise TemplateSyntaxError(
                f"`<% end %>` missing for `{_SHOWN.get(top.kind, top.kind)}` opened at line "
                f"{top.line} "
                f"(the template ends at line {last_line})", self.name, top.line, top.column)
        if self.layout:
            self.out.append("{% endblock %}")
        return Translation("".join(self.out), self.columns)

    def _trim(self, segments: list[Segment]) -> tuple[dict[int, str], dict[int, str]]:
        """Move the whitespace around line-alone code tags (and after ``-%>``) into the tags."""
        leads: dict[int, str] = {}
        trails: dict[int, str] = {}
        src = self.source
        for index, seg in enumerate(segments):
            if seg.kind == TEXT:
                continue
            prev = segments[index - 1] if index > 0 else None
            nxt = segments[index + 1] if index + 1 < len(segments) else None
            if self.trim and seg.kind in (CODE, COMMENT):
                line_start = src.rfind("\n", 0, seg.start) + 1
                line_end = src.find("\n", seg.end)
                line_end = len(src) if line_end < 0 else line_end + 1
                before, after = src[line_start:seg.start], src[seg.end:line_end]
                alone = not before.strip() and not after.strip()
                if alone and (not before or (prev is not None and prev.kind == TEXT)) and \
                        (not after or (nxt is not None and nxt.kind == TEXT)):
                    if before:
                        assert prev is not None
                        prev.text = prev.text[:-len(before)]
                        leads[index] = before
                    if after:
                        assert nxt is not None
                        nxt.text = nxt.text[len(after):]
                        trails[index] = after
                    continue
            if seg.trim_newline and nxt is not None and nxt.kind == TEXT:
                for newline in ("\r\n", "\n"):
                    if nxt.text.startswith(newline):
                        nxt.text = nxt.text[len(newline):]
                        trails[index] = newline
                        break
        return leads, trails

    # -- output tags ----------------------------------------------------------------------------

    def _output(self, seg: Segment) -> list[tuple[str, str]]:
        parser = Parser(self.source, seg.code_start, seg.code_start + len(seg.text), self.error)
        emitter = Emitter(self.error, ruby=self.ruby)
        tok = parser.tok
        if tok.kind == NAME and tok.value in ("render", "include") and not (
                parser.peek().kind == OP and parser.peek().value in (".", "[", "=")):
            return self._render(parser, emitter)
        if tok.kind == NAME and tok.value == "yield":
            parser.next()
            block = "content"
            if parser.tok.kind != EOF:
                arg = parser.next()
                if arg.kind not in (SYM, STR) or not _BLOCK_NAME.match(arg.value):
                    raise self.error("`yield` takes a block name: `<%= yield %>` or "
                                     "`<%= yield :title %>`", arg.offset)
                block = arg.value
            parser.expect_end()
            return [("%", f"block {block}"), ("%", "endblock")]
        node = parser.expression()
        parser.expect_end()
        expr = emitter.output(node)
        if seg.kind == RAW:
            expr = f"({expr})|safe"
        return [("{", expr)]

    def _render(self, parser: Parser, emitter: Emitter) -> list[tuple[str, str]]:
        keyword = parser.next()
        if parser.at("(") and not parser.tok.space_before:
            parser.next()
            args, kwargs = parser.arguments(")")
        else:
            args, kwargs = self._command_args(parser)
        parser.expect_end()
        if not args:
            raise self.error(f"`{keyword.value}` needs a template name: "
                             f"`<%= {keyword.value} \"partial.html\" %>`", keyword.offset)
        if len(args) > 1:
            extra = args[1]
            if isinstance(extra, DictLit):
                for key, value in extra.pairs:
                    if not (isinstance(key, Lit) and key.src[:1] in "'\"" and
                            _BLOCK_NAME.match(key.src[1:-1])):
                        raise self.error("partial locals need names: `user: value`", key.offset)
                    kwargs.append((key.src[1:-1], value))
            else:
                raise self.error(f"pass locals to `{keyword.value}` as `name: value`",
                                 extra.offset)
        include = f"include {emitter.emit(args[0])}"
        collection = next((v for k, v in kwargs if k == "collection"), None)
        alias = next((v for k, v in kwargs if k == "as"), None)
        kwargs = [(k, v) for k, v in kwargs if k not in ("collection", "as")]
        tags: list[tuple[str, str]] = [("%", include)]
        if kwargs:
            assigns = ", ".join(f"{key}={emitter.emit(value)}" for key, value in kwargs)
            tags = [("%", f"with {assigns}"), *tags, ("%", "endwith")]
        if collection is None:
            if alias is not None:
                raise self.error("`as:` names the item of a `collection:`", alias.offset)
            return tags
        item = self._item_name(args[0], alias, keyword.offset)
        return [("%", f"for {item} in {emitter.emit(collection)}"), *tags, ("%", "endfor")]

    def _item_name(self, template: Node, alias: Node | None, offset: int) -> str:
        """The loop variable of ``render "users/_user.html", collection: users``: ``user``
        (the file name without ``_`` and extensions), or the ``as:`` name."""
        if alias is not None:
            if isinstance(alias, Lit) and alias.src[:1] in "'\"" and \
                    _BLOCK_NAME.match(alias.src[1:-1]):
                return alias.src[1:-1]
            raise self.error("`as:` takes a name: `as: :user`", alias.offset)
        if isinstance(template, Lit) and template.src[:1] in "'\"":
            base = template.src[1:-1].rsplit("/", 1)[-1].lstrip("_").split(".", 1)[0]
            if _BLOCK_NAME.match(base):
                return base
        raise self.error("cannot name the collection's item from this template name: add "
                         "`as: :item`", offset)

    def _command_args(self, parser: Parser) -> tuple[list[Node], list[tuple[str, Node]]]:
        """Arguments without parentheses, up to the end of the tag: ``"x", user: u``."""
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while parser.tok.kind != EOF:
            if parser.tok.kind == NAME and parser.peek().kind == OP and \
                    parser.peek().value == ":" and not parser.peek().space_before:
                key = parser.next().value
                parser.next()
                kwargs.append((key, parser.expression()))
            else:
                args.append(parser.expression())
            if not parser.accept(","):
                break
        return args, kwargs

    # -- code tags ------------------------------------------------------------------------------

    def _code(self, seg: Segment) -> list[tuple[str, str]]:
        tags: list[tuple[str, str]] = []
        for start, end in _statements(self.source, seg.code_start,
                                      seg.code_start + len(seg.text)):
            tags.extend(self._statement(start, end))
        return tags

    def _statement(self, start: int, end: int) -> list[tuple[str, str]]:
        parser = Parser(self.source, start, end, self.error)
        emitter = Emitter(self.error, ruby=self.ruby)
        tok = parser.tok
        if tok.kind == OP and tok.value == "}":
            return self._close_brace(parser, tok.offset)
        word = tok.value if tok.kind == NAME else None
        nxt = parser.peek()
        is_assign = nxt.kind == OP and nxt.value in ("=", "+=", "-=", "*=")
        if word is not None and not is_assign:
            handler = _STATEMENTS.get(word)
            if handler is not None:
                parser.next()
                return handler(self, parser, emitter, tok.offset)
            if word in _UNSUPPORTED:
                raise self.error(f"`{word}` is not supported in Rum templates: "
                                 f"{_UNSUPPORTED[word]}", tok.offset)
        if is_assign:
            if word is None:
                raise self.error(f"cannot assign to {describe(tok)}", tok.offset)
            parser.next()
            op = parser.next().value
            value = emitter.emit(parser.expression())
            parser.expect_end()
            if op != "=":
                value = f"({word} {op[0]} {value})"
            return [("%", f"set {word} = {value}")]
        if word in _JINJA_WORDS:
            raise self.error(f"`{word}` is Jinja2 syntax: {_JINJA_WORDS[word]}", tok.offset)
        node = parser.expression()
        if parser.at("do", NAME) or parser.at("{"):
            return self._do_block(parser, emitter, node)
        parser.expect_end()
        if isinstance(node, Name | Lit):
            raise self.error("this code tag does nothing: print a value with `<%= ... %>`",
                             node.offset)
        return [("%", f"set _rum_discard = {emitter.emit(node)}")]

    def _do_block(self, parser: Parser, emitter: Emitter, node: Node) -> list[tuple[str, str]]:
        """``list.each do |x|`` (or ``{ |x|``) left open: a loop over the tags up to
        ``<% end %>`` (``<% } %>``)."""
        do = parser.next()
        brace = do.value == "{"
        names = parser.block_params()
        if parser.tok.kind != EOF:
            closer = "}" if brace else "end"
            raise self.error(f"a block that goes on after the tag is closed by `<% {closer} %>`"
                             f" in a later tag; to compute a value, close it in this tag",
                             parser.tok.offset)
        loops = ("each", "each_with_index", "times", "each_pair", "each_slice")
        if not isinstance(node, Attr) or node.block is not None or \
                node.name not in loops or (node.args and node.name != "each_slice"):
            raise self.error("a block spanning tags loops with `.each`, `.each_with_index`, "
                             "`.each_pair`, `.each_slice(n)` or `.times`; for other methods "
                             "write the block inside one tag: "
                             "`<%= items.map { |x| x.name }.join(\", \") %>`", do.offset)
        source = emitter.emit(node.obj)
        self._push("brace" if brace else "for", do.offset)
        if node.name == "each_slice":
            if not node.args or len(node.args) != 1:
                raise self.error("`.each_slice` takes 1 argument", node.offset)
            source = f"({source})|rum_each_slice({emitter.emit(node.args[0])})"
        if node.name == "times":
            var = names[0] if names else "_rum_i"
            return [("%", f"for {var} in range({source})")]
        if not names:
            raise self.error(f"`.{node.name} do` needs a block parameter: `do |item|`",
                             do.offset)
        if node.name == "each_with_index":
            item = ", ".join(names[:-1]) if len(names) > 1 else names[0]
            tags = [("%", f"for {item} in {source}")]
            if len(names) > 1:
                tags.append(("%", f"set {names[-1]} = loop.index0"))
            return tags
        if len(names) > 1:
            return [("%", f"for {', '.join(names)} in ({source})|rum_pairs")]
        return [("%", f"for {names[0]} in {source}")]

    def _close_brace(self, parser: Parser, offset: int) -> list[tuple[str, str]]:
        parser.next()
        parser.expect_end(" after `}`")
        top = self.stack[-1] if self.stack else None
        if top is None or top.kind != "brace":
            opened = f" (the open block is `{_SHOWN.get(top.kind, top.kind)}` from line " \
                     f"{top.line}: close it with `<% end %>`)" if top else ""
            raise self.error(f"stray `<% }} %>`: no open `{{ |item|` block{opened}", offset)
        self.stack.pop()
        return [("%", "endfor")]

    def _push(self, kind: str, offset: int) -> None:
        line, column = self.pos(offset)
        self.stack.append(_Open(kind, line, column))

    # statement handlers: called after the keyword was consumed

    def _if(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        cond = emitter.emit(parser.expression())
        parser.expect_end()
        self._push("if", offset)
        return [("%", f"if {cond}")]

    def _unless(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        cond = emitter.emit(parser.expression())
        parser.expect_end()
        self._push("unless", offset)
        return [("%", f"if not {cond}")]

    def _elsif(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        top = self.stack[-1] if self.stack else None
        if top is None or top.kind != "if":
            opened = f" (the open block is `{top.kind}` from line {top.line})" if top else ""
            raise self.error(f"`elsif` must follow an `if`{opened}", offset)
        if top.has_else:
            raise self.error(f"`elsif` after `else` in the `if` opened at line {top.line}",
                             offset)
        cond = emitter.emit(parser.expression())
        parser.expect_end()
        return [("%", f"elif {cond}")]

    def _else(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        if parser.at("if", NAME):
            raise self.error("write `<% elsif cond %>`, not `else if`", offset)
        parser.expect_end(" after `else`")
        top = self.stack[-1] if self.stack else None
        if top is None or top.kind not in ("if", "unless", "for", "brace", "case"):
            opened = f" (the open block is `{top.kind}` from line {top.line})" if top else ""
            raise self.error(f"`else` must be inside an `if`, `case` or `for`{opened}", offset)
        if top.has_else:
            raise self.error(f"second `else` in the `{top.kind}` opened at line {top.line}",
                             offset)
        top.has_else = True
        return [("%", "else")]

    def _end(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        parser.expect_end(" after `end`")
        if not self.stack:
            raise self.error("stray `<% end %>`: there is no open `if`, `for` or `block` "
                             "to close", offset)
        if self.stack[-1].kind == "brace":
            top = self.stack[-1]
            raise self.error(f"the block opened with `{{` at line {top.line} is closed by "
                             f"`<% }} %>`, not `<% end %>`", offset)
        top = self.stack.pop()
        if top.kind == "hoisted":
            return [("%", "endblock"), ("%", "endif")]
        closing = {"if": "endif", "unless": "endif", "for": "endfor", "block": "endblock",
                   "case": "endif"}
        return [("%", closing[top.kind])]

    def _for(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        names = [parser.expect_name("a loop variable after `for`").value]
        while parser.accept(","):
            names.append(parser.expect_name("a loop variable").value)
        parser.expect("in", "after the loop variable (`for item in list`)")
        source = emitter.emit(parser.expression())
        parser.expect_end()
        self._push("for", offset)
        if len(names) > 1:
            return [("%", f"for {', '.join(names)} in ({source})|rum_pairs")]
        return [("%", f"for {names[0]} in {source}")]

    def _case(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        """``case subject``: the subject is evaluated once; each ``when`` is an ``elif``
        (anything before the first ``when`` is never printed, as in Ruby)."""
        if parser.tok.kind == EOF:
            raise self.error("`case` needs a value: `<% case order.status %>`", offset)
        subject = emitter.emit(parser.expression())
        parser.expect_end()
        self.cases += 1
        self._push("case", offset)
        self.stack[-1].number = self.cases
        return [("%", f"set _rum_case{self.cases} = {subject}"), ("%", "if false")]

    def _when(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        """``when a, b`` / ``when 1..5``: Ruby's ``===`` for values (``==``) and ranges
        (membership)."""
        top = self.stack[-1] if self.stack else None
        if top is None or top.kind != "case":
            opened = f" (the open block is `{top.kind}` from line {top.line})" if top else ""
            raise self.error(f"`when` must be inside a `case`{opened}", offset)
        if top.has_else:
            raise self.error(f"`when` after `else` in the `case` opened at line {top.line}",
                             offset)
        subject = f"_rum_case{top.number}"
        tests = []
        while True:
            node = parser.expression()
            if isinstance(node, Range):
                tests.append(f"{subject} in {emitter.emit(node)}")
            else:
                tests.append(f"{subject} == {emitter.emit(node)}")
            if not parser.accept(","):
                break
        if parser.at("then", NAME):
            raise self.error("write the `when` branch after the tag: `<% when 1 %>one`", offset)
        parser.expect_end()
        return [("%", f"elif {' or '.join(f'({t})' for t in tests)}")]

    def _loop_control(self, parser: Parser, emitter: Emitter,
                      offset: int) -> list[tuple[str, str]]:
        word = self.source[offset:offset + 5].rstrip()
        if not any(o.kind in ("for", "brace") for o in self.stack):
            raise self.error(f"`{word}` outside a `for` loop", offset)
        tag = ("%", "break" if word == "break" else "continue")
        if parser.at("if", NAME) or parser.at("unless", NAME):  # `next if cond`
            negate = parser.next().value == "unless"
            cond = emitter.emit(parser.expression())
            parser.expect_end()
            return [("%", f"if {'not ' if negate else ''}{cond}"), tag, ("%", "endif")]
        parser.expect_end()
        return [tag]

    def _extends(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        if parser.tok.kind == EOF:
            raise self.error("`extends` needs a layout name: `<% extends \"layout.html\" %>`",
                             offset)
        target = emitter.emit(parser.expression())
        parser.expect_end()
        return [("%", f"extends {target}")]

    def _layout(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        """``layout "x"``: extend ``x``; the rest of the page becomes its content block."""
        if self.started or self.stack:
            raise self.error("`layout` must come first in the template (before any text or "
                             "tag); use `extends` with explicit blocks elsewhere", offset)
        tags = self._extends(parser, emitter, offset)
        self.layout = True
        return [*tags, ("%", "block content")]

    def _block(self, parser: Parser, emitter: Emitter, offset: int) -> list[tuple[str, str]]:
        tok = parser.next()
        if tok.kind not in (NAME, SYM, STR) or not _BLOCK_NAME.match(str(tok.value)):
            raise self.error("expected a block name: `<% block content %>` or "
                             "`<% content_for :title %>`", tok.offset)
        parser.expect_end()
        if self.layout and not self.stack:
            # Inside the page body (the content block): define the block for the layout
            # without printing it here. A never-true test the optimizer cannot fold away.
            self._push("hoisted", offset)
            return [("%", "if _rum_hoisted"), ("%", f"block {tok.value}")]
        self._push("block", offset)
        return [("%", f"block {tok.value}")]

    def _render_in_code(self, parser: Parser, emitter: Emitter,
                        offset: int) -> list[tuple[str, str]]:
        word = "include" if self.source.startswith("include", offset) else "render"
        raise self.error(f"`{word}` in `<% %>` prints nothing: use "
                         f"`<%= {word} \"partial.html\" %>`", offset)


_STATEMENTS: dict[str, Callable[..., list[tuple[str, str]]]] = {
    "if": _Translator._if,
    "unless": _Translator._unless,
    "elsif": _Translator._elsif,
    "else": _Translator._else,
    "end": _Translator._end,
    "for": _Translator._for,
    "case": _Translator._case,
    "when": _Translator._when,
    "break": _Translator._loop_control,
    "next": _Translator._loop_control,
    "extends": _Translator._extends,
    "layout": _Translator._layout,
    "block": _Translator._block,
    "content_for": _Translator._block,
    "render": _Translator._render_in_code,
    "include": _Translator._render_in_code,
}


def _tag(kind: str, body: str) -> str:
    if kind == "{":
        return f"{{{{ {body} }}}}"
    if kind == "#":
        return f"{{#{body}#}}"
    return f"{{% {body} %}}"


_DO_END = re.compile(r"(?<![\w.:])(do|end)(?![\w?!])")


def _statements(source: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a code tag into statements at ``;`` and newlines outside brackets and strings
    (and, at newlines, outside a ``do ... end`` block)."""
    out: list[tuple[int, int]] = []
    depth = 0
    begin = start
    for i, ch in code_chars(source, start, end):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth <= 0 and (ch == ";" or (ch == "\n" and not _continues(source, begin, i)
                                           and not _open_do(source, begin, i, end))):
            if source[begin:i].strip():
                out.append((begin, i))
            begin = i + 1
    if source[begin:end].strip():
        out.append((begin, end))
    return out


def _open_do(source: str, begin: int, newline: int, end: int) -> bool:
    """Whether the statement before ``newline`` holds a ``do`` that an ``end`` later in the
    tag (before ``end``) closes; a loop left open for later tags (``list.each do |x|``)
    does not count."""
    code = "".join(ch for _, ch in code_chars(source, begin, newline))
    words = [m.group(1) for m in _DO_END.finditer(code)]
    opened = words.count("do") - words.count("end")
    if opened <= 0:
        return False
    later = "".join(ch for _, ch in code_chars(source, newline, end))
    return "end" in _DO_END.findall(later)


def _continues(source: str, begin: int, newline: int) -> bool:
    """Whether the line before ``newline`` ends with an operator (the statement goes on)."""
    line = source[begin:newline].rstrip()
    return line.endswith(("&&", "||", ",", "+", " and", " or", "==", "(", "="))


def translate(source: str, name: str = "<string>", *, trim: bool = True,
              semantics: str = "ruby") -> Translation:
    """Translate Rum template ``source`` to Jinja2; raise :class:`TemplateSyntaxError`.

    ``semantics`` is ``"ruby"`` (Rails-like printing and division) or ``"python"``."""
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {', '.join(SEMANTICS)}, got {semantics!r}")
    return _Translator(source, name, trim, semantics == "ruby").run()
