"""Rum expressions: tokenizer, recursive-descent parser and Jinja2 emitter.

Grammar (loosest binding first)::

    expr     := or ('?' expr ':' expr)?
    or       := and (('or' | '||') and)*
    and      := not (('and' | '&&') not)*
    not      := 'not' not | compare
    compare  := range (('==' | '!=' | '<' | '>' | '<=' | '>=' | '<=>' | 'in') range)*
    range    := sum (('..' | '...') sum)?
    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '/' | '//' | '%') unary)*
    unary    := ('-' | '+' | '!') unary | postfix
    postfix  := primary ('.' NAME['?'] ['(' args ')'] [block] | '[' expr ']' | '(' args ')')*
    block    := '{' ['|' NAME (',' NAME)* '|'] expr '}' | 'do' ['|' ... '|'] expr 'end'
              | '&' :symbol (as the last argument)
    primary  := number | string | :symbol | true | false | nil | NAME
              | '[' items ']' | '{' pairs '}' | '(' expr ')'

Every node knows its offset in the template, so errors point at the right line and column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rum_templates.blocks import BLOCK_METHODS
from rum_templates.errors import TemplateSyntaxError
from rum_templates.methods import METHODS

# -- tokens -----------------------------------------------------------------------------------

NUM, STR, ISTR, SYM, NAME, OP, EOF = "number", "string", "istring", "symbol", "name", "op", "end"

_OPS = sorted(["<=>", "...", "..", "**", "//", "==", "!=", "<=", ">=", "&&", "||", "=>", "+=", "-=",
               "*=", "<", ">", "+", "-", "*", "/", "%", "!", "=", ".", ",", "(", ")", "[",
               "]", "{", "}", "?", ":", "|", "&"], key=len, reverse=True)
_NUMBER = re.compile(r"\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'",
            "#": "#", "e": "\x1b", "s": " "}
#: Names Jinja2 reads as operators; they cannot be template variables.
RESERVED = frozenset({"and", "or", "not", "in", "is", "if", "else", "elif", "true", "false",
                      "none", "True", "False", "None"})
KEYWORDS = frozenset({"if", "unless", "elsif", "else", "end", "for", "while", "until", "do",
                      "case", "when", "then", "begin", "rescue", "def", "class", "module"})


@dataclass
class Token:
    """One token: ``kind``, ``value`` (decoded for strings), source ``offset``, and whether
    whitespace preceded it (``a ? b : c`` vs ``key: value``)."""

    kind: str
    value: Any
    offset: int
    space_before: bool = True


ErrorFn = Callable[[str, int], TemplateSyntaxError]


def tokenize(source: str, start: int, end: int, error: ErrorFn) -> list[Token]:
    """Tokens of ``source[start:end]`` (offsets stay absolute), ending with an ``EOF`` token."""
    tokens: list[Token] = []
    i = start
    space = True
    while i < end:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
            space = True
            continue
        if ch.isdigit():
            m = _NUMBER.match(source, i, end)
            assert m is not None
            text = m.group().replace("_", "")
            tokens.append(Token(NUM, text, i, space))
            i = m.end()
        elif ch in "\"'":
            tok, i = _string(source, i, end, error)
            tok.space_before = space
            tokens.append(tok)
        elif ch == "@" and i + 1 < end and (source[i + 1].isalpha() or source[i + 1] == "_"):
            # A Rails instance variable, `@users`: the render context's `users`.
            m = _IDENT.match(source, i + 1, end)
            assert m is not None
            tokens.append(Token(NAME, m.group(), i, space))
            i = m.end()
        elif ch.isalpha() or ch == "_":
            m = _IDENT.match(source, i, end)
            assert m is not None
            word = m.group()
            i = m.end()
            after_dot = bool(tokens) and tokens[-1].kind == OP and tokens[-1].value == "."
            if after_dot and i < end and source[i] in "?!" and source[i + 1:i + 2] != "=":
                word += source[i]
                i += 1
            tokens.append(Token(NAME, word, m.start(), space))
        elif (ch == ":" and i + 1 < end and (source[i + 1].isalpha() or source[i + 1] == "_")
              and (space or (tokens and tokens[-1].value in ("(", "[", "{", ",", "&")))):
            m = _IDENT.match(source, i + 1, end)
            assert m is not None
            tokens.append(Token(SYM, m.group(), i, space))
            i = m.end()
        else:
            for op in _OPS:
                if source.startswith(op, i) and i + len(op) <= end:
                    tokens.append(Token(OP, op, i, space))
                    i += len(op)
                    break
            else:
                raise error(f"unexpected character {ch!r} in expression", i)
        space = False
    tokens.append(Token(EOF, None, end, space))
    return tokens


def _string(source: str, i: int, end: int, error: ErrorFn) -> tuple[Token, int]:
    """A quoted string at ``i``: single quotes are literal, double quotes allow escapes and
    ``#{expr}`` interpolation."""
    quote = source[i]
    start = i
    i += 1
    parts: list[Any] = []
    buf: list[str] = []
    while True:
        if i >= end:
            raise error(f"string starting here is never closed: expected {quote}", start)
        ch = source[i]
        if ch == quote:
            i += 1
            break
        if ch == "\\" and i + 1 < end:
            nxt = source[i + 1]
            if quote == "'":
                buf.append(nxt if nxt in "'\\" else "\\" + nxt)
            else:
                buf.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if quote == '"' and ch == "#" and source.startswith("#{", i):
            close = _matching_brace(source, i + 2, end)
            if close < 0:
                raise error("`#{` in this string is never closed: expected `}`", i)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append((i + 2, close))
            i = close + 1
            continue
        buf.append(ch)
        i += 1
    if buf or not parts:
        parts.append("".join(buf))
    if len(parts) == 1 and isinstance(parts[0], str):
        return Token(STR, parts[0], start), i
    return Token(ISTR, parts, start), i


def code_chars(source: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    """``(offset, character)`` for each character of ``source[start:end]`` outside quoted
    strings (the quotes themselves are skipped too; a backslash in a string escapes the next
    character)."""
    quote = ""
    i = start
    while i < end:
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        else:
            yield i, ch
        i += 1


def _matching_brace(source: str, start: int, end: int) -> int:
    depth = 0
    for i, ch in code_chars(source, start, end):
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i
            depth -= 1
    return -1


# -- syntax tree --------------------------------------------------------------------------------


@dataclass
class Node:
    """Base of expression nodes; ``offset`` is where the node starts in the template."""

    offset: int


@dataclass
class Lit(Node):
    """A literal, already in Jinja2 syntax (``src``)."""

    src: str  # Jinja2 source of the literal


@dataclass
class Name(Node):
    """A variable name."""

    id: str


@dataclass
class Block(Node):
    """A Ruby block, ``{ |x, i| body }`` / ``do |x| body end`` / ``&:name``: ``params`` are
    the parameter names (``it`` when none are written), ``body`` one expression."""

    params: list[str]
    body: Node


@dataclass
class BlockPass(Node):
    """``&:name`` in an argument list (moved to the method's ``block``)."""

    block: Block


@dataclass
class SafeNav(Node):
    """``obj&.rest``: ``nil`` when ``obj`` is ``nil``, else ``block`` (the rest of the chain,
    applied to its one parameter) called with ``obj``."""

    obj: Node
    block: Block


@dataclass
class Attr(Node):
    """``obj.name`` or ``obj.name(args)``: a Rum method when ``name`` is one, else an
    attribute / Python method. ``block`` is its Ruby block, if any."""

    obj: Node
    name: str
    args: list[Node] | None = None
    kwargs: list[tuple[str, Node]] = field(default_factory=list)
    block: Block | None = None


@dataclass
class Call(Node):
    """``func(args, key: value)``."""

    func: Node
    args: list[Node]
    kwargs: list[tuple[str, Node]]


@dataclass
class Index(Node):
    """``obj[key]``."""

    obj: Node
    key: Node


@dataclass
class Unary(Node):
    """``-x``, ``+x``, ``not x`` (``!x`` is stored as ``not``)."""

    op: str
    operand: Node


@dataclass
class Binary(Node):
    """``left <op> right`` (arithmetic, comparison, ``and`` / ``or``, ``in``)."""

    op: str
    left: Node
    right: Node


@dataclass
class Ternary(Node):
    """``cond ? yes : no``."""

    cond: Node
    yes: Node
    no: Node


@dataclass
class ListLit(Node):
    """``[a, b, c]``."""

    items: list[Node]


@dataclass
class DictLit(Node):
    """``{key: value}`` / ``{key => value}``."""

    pairs: list[tuple[Node, Node]]


@dataclass
class Range(Node):
    """``lo..hi`` (inclusive) or ``lo...hi`` (exclusive)."""

    lo: Node
    hi: Node
    exclusive: bool


@dataclass
class Interp(Node):
    """``"text #{expr} text"``: ``parts`` are strings and nodes."""

    parts: list[Any]  # str or Node


# -- parser -------------------------------------------------------------------------------------

_COMPARE = ("==", "!=", "<", ">", "<=", ">=", "<=>")
_BINARY_JINJA = {"&&": "and", "||": "or", "and": "and", "or": "or"}


class Parser:
    """Parses the tokens of one tag. The translator drives it statement by statement."""

    def __init__(self, source: str, start: int, end: int, error: ErrorFn) -> None:
        self.source = source
        self.error = error
        self.tokens = tokenize(source, start, end, error)
        self.i = 0
        self.safe_depth = 0  # numbers the hidden parameters of `&.` chains

    # token helpers
    @property
    def tok(self) -> Token:
        """The current token (the end token once all are consumed)."""
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        """The token ``ahead`` places on (the end token past the last)."""
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        """Consume and return the current token (the end token is never consumed)."""
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def at(self, value: str, kind: str = OP) -> bool:
        """True if the current token is ``value`` of ``kind``."""
        return self.tok.kind == kind and self.tok.value == value

    def accept(self, value: str, kind: str = OP) -> bool:
        """Consume the current token if it is ``value``; say whether it was."""
        if self.at(value, kind):
            self.next()
            return True
        return False

    def expect(self, value: str, what: str) -> Token:
        """Consume ``value`` (operator or word) or raise naming ``what`` it was for."""
        if not self.at(value) and not self.at(value, NAME):
            raise self.error(f"expected `{value}` {what}, found {describe(self.tok)}",
                             self.tok.offset)
        return self.next()

    def expect_name(self, what: str) -> Token:
        """Consume a name or raise saying ``what`` was expected."""
        if self.tok.kind != NAME:
            raise self.error(f"expected {what}, found {describe(self.tok)}", self.tok.offset)
        return self.next()

    def expect_end(self, what: str = "") -> None:
        """Raise unless every token was consumed (``what`` adds context to the message)."""
        if self.tok.kind != EOF:
            hint = ""
            if self.tok.kind in (STR, ISTR, NUM) and self.i > 0 and not what:
                hint = " (missing an operator or a comma? method arguments need parentheses:" \
                       " `.join(\", \")`)"
            raise self.error(f"expected `%>`{what}, found {describe(self.tok)}{hint}",
                             self.tok.offset)

    # grammar
    def expression(self) -> Node:
        """A whole expression, ``cond ? a : b`` included."""
        if self.tok.kind == EOF:
            raise self.error("expected an expression, found `%>`", self.tok.offset)
        node = self.or_expr()
        if self.at("?"):
            self.next()
            yes = self.expression()
            self.expect(":", "in `cond ? a : b`")
            no = self.expression()
            node = Ternary(node.offset, node, yes, no)
        return node

    def or_expr(self) -> Node:
        """``a || b`` / ``a or b``."""
        node = self.and_expr()
        while self.at("||") or self.at("or", NAME):
            op = self.next()
            node = Binary(op.offset, "or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        """``a && b`` / ``a and b``."""
        node = self.not_expr()
        while self.at("&&") or self.at("and", NAME):
            op = self.next()
            node = Binary(op.offset, "and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        """``not a``."""
        if self.at("not", NAME):
            op = self.next()
            return Unary(op.offset, "not", self.not_expr())
        return self.compare()

    def compare(self) -> Node:
        """Comparisons and ``in``, left to right."""
        node = self.range_expr()
        while (self.tok.kind == OP and self.tok.value in _COMPARE) or self.at("in", NAME):
            op = self.next()
            node = Binary(op.offset, op.value, node, self.range_expr())
        return node

    def range_expr(self) -> Node:
        """``a..b`` / ``a...b``."""
        node = self.sum_expr()
        if self.at("..") or self.at("..."):
            op = self.next()
            node = Range(node.offset, node, self.sum_expr(), op.value == "...")
        return node

    def sum_expr(self) -> Node:
        """``a + b`` / ``a - b``."""
        node = self.product()
        while self.at("+") or self.at("-"):
            op = self.next()
            node = Binary(op.offset, op.value, node, self.product())
        return node

    def product(self) -> Node:
        """``*``, ``/``, ``//``, ``%``, ``**``, left to right."""
        node = self.unary()
        while self.tok.kind == OP and self.tok.value in ("*", "/", "//", "%", "**"):
            op = self.next()
            node = Binary(op.offset, op.value, node, self.unary())
        return node

    def unary(self) -> Node:
        """Prefix ``-``, ``+`` and ``!``. As in Ruby, ``-`` written against a number is part
        of the literal, so ``-7.div(2)`` is ``(-7).div(2)``."""
        if self.at("-") and self.peek().kind == NUM and not self.peek().space_before:
            op = self.next()
            number = self.next()
            return self.chain(Lit(op.offset, f"(-{number.value})"))
        if self.tok.kind == OP and self.tok.value in ("-", "+", "!"):
            op = self.next()
            return Unary(op.offset, "not" if op.value == "!" else op.value, self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        """A primary followed by ``.name``, ``.name(args)``, ``&.name``, ``[key]`` or
        ``(args)``."""
        return self.chain(self.primary())

    def chain(self, node: Node) -> Node:
        """The ``.name`` / ``[key]`` / ``(args)`` suffixes after ``node``. At ``&.`` (safe
        navigation) the rest of the chain is applied only when the value is not ``nil``."""
        while True:
            tok = self.tok
            if self.at("&") and self.peek().kind == OP and self.peek().value == "." and \
                    not self.peek().space_before:
                self.next()
                self.safe_depth += 1
                it = Name(tok.offset, f"_rum_safe{self.safe_depth}")
                return SafeNav(tok.offset, node, Block(tok.offset, [it.id], self.chain(it)))
            if self.at("."):
                self.next()
                name = self.expect_name("a method or attribute name after `.`")
                attr = Attr(name.offset, node, name.value)
                node = attr
                if self.at("(") and not self.tok.space_before:
                    self.next()
                    attr.args, attr.kwargs = self.arguments(")")
                    last = attr.args[-1] if attr.args else None
                    if isinstance(last, BlockPass):
                        attr.args.pop()
                        attr.block = last.block
                        if not attr.args:
                            attr.args = None
                if attr.block is None and attr.args is None and self.at("&") and \
                        self.peek().kind == SYM and not self.peek().space_before:
                    amp = self.next()  # `list.map &:name` (no parentheses)
                    attr.block = _symbol_block(amp.offset, self.next())
                if attr.block is None and self._block_follows(attr):
                    attr.block = self.block()
            elif self.at("[") and not tok.space_before:
                self.next()
                key = self.expression()
                self.expect("]", "to close `[`")
                node = Index(tok.offset, node, key)
            elif self.at("(") and not tok.space_before and isinstance(node, Name):
                self.next()
                args, kwargs = self.arguments(")")
                node = Call(node.offset, node, args, kwargs)
            else:
                return node

    def _block_follows(self, attr: Attr) -> bool:
        """Whether a block written in this tag follows method ``attr``: ``{ |x| ... }``
        (``{`` without parameters only after a block method) or ``do ... end``. A block left
        open at the end of the tag is the statement form (``<% xs.each do |x| %>``)."""
        if self.at("{"):
            nxt = self.peek()
            if not (nxt.kind == OP and nxt.value == "|") and attr.name not in BLOCK_METHODS:
                return False
            return self._closes("{", "}", OP)
        if self.at("do", NAME):
            return self._closes("do", "end", NAME)
        return False

    def _closes(self, opener: str, closer: str, kind: str) -> bool:
        depth = 0
        for tok in self.tokens[self.i:]:
            if tok.kind == kind and tok.value == opener:
                depth += 1
            elif tok.kind == kind and tok.value == closer:
                depth -= 1
                if depth == 0:
                    return True
        return False

    def block(self) -> Block:
        """``{ |a, b| expr }`` or ``do |a| expr end`` (the opener is the current token)."""
        opener = self.next()
        closer = "}" if opener.value == "{" else "end"
        params = self.block_params() or ["it"]
        body = self.expression()
        self.expect(closer, f"to close the block opened with `{opener.value}` (a block holds "
                            f"one expression)")
        return Block(opener.offset, params, body)

    def block_params(self) -> list[str]:
        """``|a, b|`` (empty when the current token is not ``|``)."""
        params: list[str] = []
        if not self.accept("|"):
            return params
        while True:
            tok = self.expect_name("a block parameter name")
            if tok.value in RESERVED or tok.value in KEYWORDS:
                raise self.error(f"`{tok.value}` cannot name a block parameter", tok.offset)
            if tok.value in params:
                raise self.error(f"duplicate block parameter `{tok.value}`", tok.offset)
            params.append(tok.value)
            if not self.accept(","):
                break
        self.expect("|", "to close the block parameters")
        return params

    def arguments(self, close: str) -> tuple[list[Node], list[tuple[str, Node]]]:
        """``a, b, key: c`` up to ``close`` (consumed)."""
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while not self.at(close):
            if self.tok.kind == NAME and self.peek().kind == OP and self.peek().value == ":" \
                    and not self.peek().space_before:
                key = self.next().value
                self.next()
                kwargs.append((key, self.expression()))
            elif kwargs:
                raise self.error("positional argument after keyword arguments",
                                 self.tok.offset)
            elif self.at("&") and self.peek().kind == SYM:
                amp = self.next()
                args.append(BlockPass(amp.offset, _symbol_block(amp.offset, self.next())))
                if not self.at(close):
                    raise self.error("`&:name` must be the last argument", amp.offset)
            else:
                args.append(self.expression())
            if not self.accept(","):
                break
        if not self.at(close):
            raise self.error(f"expected `,` or `{close}` in the argument list, found "
                             f"{describe(self.tok)}", self.tok.offset)
        self.next()
        return args, kwargs

    def primary(self) -> Node:
        """A literal, a name, ``(expr)``, a list or a hash."""
        tok = self.next()
        if tok.kind == NUM:
            return Lit(tok.offset, tok.value)
        if tok.kind == STR:
            return Lit(tok.offset, _jinja_string(tok.value))
        if tok.kind == SYM:
            return Lit(tok.offset, _jinja_string(tok.value))
        if tok.kind == ISTR:
            parts: list[Any] = []
            for part in tok.value:
                if isinstance(part, str):
                    parts.append(part)
                else:
                    sub = Parser(self.source, part[0], part[1], self.error)
                    parts.append(sub.expression())
                    sub.expect_end(" in `#{...}`")
            return Interp(tok.offset, parts)
        if tok.kind == NAME:
            word = tok.value
            if word in ("true", "false"):
                return Lit(tok.offset, word)
            if word == "nil":
                return Lit(tok.offset, "none")
            if word in KEYWORDS or word in RESERVED:
                raise self.error(f"unexpected keyword `{word}` in an expression", tok.offset)
            return Name(tok.offset, word)
        if tok.kind == OP:
            if tok.value == "(":
                node = self.expression()
                self.expect(")", "to close `(`")
                return node
            if tok.value == "[":
                items, kwargs = self.arguments("]")
                if kwargs:
                    raise self.error("`key: value` belongs in a hash `{...}`, not a list",
                                     tok.offset)
                return ListLit(tok.offset, items)
            if tok.value == "{":
                return self.hash_literal(tok)
        raise self.error(f"expected a value, found {describe(tok)}", tok.offset)

    def hash_literal(self, open_tok: Token) -> Node:
        """The pairs of a ``{...}`` hash after ``open_tok`` (``key: v`` or ``expr => v``)."""
        pairs: list[tuple[Node, Node]] = []
        while not self.at("}"):
            if self.tok.kind == NAME and self.peek().value == ":" and self.peek().kind == OP:
                key_tok = self.next()
                self.next()
                key: Node = Lit(key_tok.offset, _jinja_string(key_tok.value))
            else:
                key = self.expression()
                self.expect("=>", "between a hash key and its value")
            pairs.append((key, self.expression()))
            if not self.accept(","):
                break
        self.expect("}", "to close the hash `{`")
        return DictLit(open_tok.offset, pairs)


def _symbol_block(offset: int, sym: Token) -> Block:
    """``&:name`` as the block ``{ |it| it.name }``."""
    return Block(offset, ["it"], Attr(sym.offset, Name(sym.offset, "it"), sym.value))


def describe(tok: Token) -> str:
    """A token as an error message shows it."""
    if tok.kind == EOF:
        return "`%>`"
    if tok.kind in (STR, ISTR):
        return "a string"
    if tok.kind == SYM:
        return f"`:{tok.value}`"
    return f"`{tok.value}`"


def _jinja_string(value: str) -> str:
    return repr(value)


# -- emitter ------------------------------------------------------------------------------------


#: Filters whose result prints the same under both semantics (strings and integers).
_PRINTS_AS_IS = frozenset({
    "upper", "lower", "capitalize", "title", "trim", "rum_lstrip", "rum_rstrip",
    "rum_truncate", "escape", "safe", "tojson", "rum_to_s", "rum_ruby_to_s", "rum_join",
    "join", "length", "int", "rum_inspect"})
#: Under Ruby semantics these methods use the Ruby-flavoured filter.
_RUBY_FILTERS = {"rum_to_s": "rum_ruby_to_s", "join": "rum_join"}


class Emitter:
    """Turns expression nodes into Jinja2 expression source.

    With ``ruby`` (``[templates] semantics = "ruby"``, the default) ``/`` divides the Ruby way,
    ``to_s``, ``join`` and ``"#{...}"`` convert values the Ruby way, and :meth:`output` wraps
    printed values in ``rum_print``.
    """

    def __init__(self, error: ErrorFn, *, ruby: bool = True) -> None:
        self.error = error
        self.ruby = ruby

    def output(self, node: Node) -> str:
        """The Jinja2 source of a printed ``node``: under Ruby semantics, values that may not
        print the same in Python (``nil``, booleans, floats, lists...) go through
        ``rum_print``; strings and integers known at compile time do not."""
        expr = self.emit(node)
        if not self.ruby or self.prints_as_is(node):
            return expr
        return f"({expr})|rum_print"

    def prints_as_is(self, node: Node) -> bool:
        """Whether ``node`` is known to be a string or an integer (prints as Python does)."""
        if isinstance(node, Interp) or (isinstance(node, Name | Call) and _is_super(node)):
            return True
        if isinstance(node, Lit):
            return node.src[:1] in "'\"" or node.src.isdigit()
        if isinstance(node, Attr) and node.block is None:
            spec = METHODS.get(node.name)
            return spec is not None and spec.kind == "filter" and spec.target in _PRINTS_AS_IS
        return False

    def emit(self, node: Node) -> str:
        """The Jinja2 source of ``node``."""
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _lit(self, node: Lit) -> str:
        return node.src

    def _name(self, node: Name) -> str:
        if node.id == "super":
            return "super()"
        if node.id in ("render", "yield", "include"):
            raise self.error(f"`{node.id}` outputs a template: write it alone in an output tag, "
                             f"e.g. `<%= {node.id} \"partial.html\" %>`", node.offset)
        return node.id

    def _call(self, node: Call) -> str:
        if isinstance(node.func, Name) and node.func.id == "super":
            return "super()"
        return f"{self.emit(node.func)}({self._args(node.args, node.kwargs)})"

    def _args(self, args: list[Node], kwargs: list[tuple[str, Node]]) -> str:
        parts = [self.emit(a) for a in args]
        parts += [f"{k}={self.emit(v)}" for k, v in kwargs]
        return ", ".join(parts)

    def _attr(self, node: Attr) -> str:
        obj = self.emit(node.obj)
        if node.block is not None:
            return self._block_call(node, obj)
        spec = METHODS.get(node.name)
        if spec is None:
            if node.name[-1] in "?!":
                raise self.error(f"unknown method `.{node.name}`{suggest_method(node.name)}",
                                 node.offset)
            if node.args is None:
                return f"{obj}.{node.name}"
            return f"{obj}.{node.name}({self._args(node.args, node.kwargs)})"
        args = node.args or []
        if node.kwargs:
            raise self.error(f"`.{node.name}` takes no keyword arguments", node.offset)
        if not spec.min_args <= len(args) <= spec.max_args:
            want = (f"{spec.min_args}" if spec.min_args == spec.max_args
                    else f"{spec.min_args} to {spec.max_args}")
            raise self.error(f"`.{node.name}` takes {want} argument"
                             f"{'' if want == '1' else 's'}, got {len(args)}", node.offset)
        rendered = [self.emit(a) for a in args]
        if spec.kind == "filter":
            call = f"({', '.join(rendered)})" if rendered else ""
            target = _RUBY_FILTERS.get(spec.target, spec.target) if self.ruby else spec.target
            return f"({obj}|{target}{call})"
        if spec.kind == "test":
            return f"({obj} is {spec.target})"
        if spec.kind == "contains":
            return f"({rendered[0]} in {obj})"
        if spec.kind == "slice":
            return f"{obj}[:{rendered[0]}]" if spec.target == "take" else f"{obj}[{rendered[0]}:]"
        return f"{obj}.{spec.target}({', '.join(rendered)})"

    def _block_call(self, node: Attr, obj: str) -> str:
        """``obj.map { |x| body }`` -> ``(obj|rum_map(((body)|rum_block('x'))))``."""
        assert node.block is not None
        spec = BLOCK_METHODS.get(node.name)
        if spec is None:
            if node.name in ("each", "each_with_index", "times", "each_pair"):
                raise self.error(f"`.{node.name}` with a block loops in a code tag: "
                                 f"`<% list.{node.name} do |item| %>` ... `<% end %>`",
                                 node.block.offset)
            known = ", ".join(f"`{name}`" for name in BLOCK_METHODS)
            raise self.error(f"`.{node.name}` takes no block (methods with a block: {known})",
                             node.block.offset)
        args = node.args or []
        if node.kwargs:
            raise self.error(f"`.{node.name}` takes no keyword arguments", node.offset)
        if not spec.min_args <= len(args) <= spec.max_args:
            raise self.error(f"`.{node.name}` with a block takes at most {spec.max_args} "
                             f"argument{'' if spec.max_args == 1 else 's'}, got {len(args)}",
                             node.offset)
        lam = self._blockfn(node.block)
        rest = "".join(f", {self.emit(a)}" for a in args)
        return f"({obj}|{spec.filter}({lam}{rest}))"

    def _blockfn(self, block: Block) -> str:
        params = ", ".join(repr(p) for p in block.params)
        return f"(({self.emit(block.body)})|rum_block({params}))"

    def _block(self, node: Block) -> str:
        raise self.error("a block `{ |x| ... }` must follow a method, e.g. "
                         "`items.map { |x| x.name }`", node.offset)

    def _safenav(self, node: SafeNav) -> str:
        return f"(({self.emit(node.obj)})|rum_safe_nav({self._blockfn(node.block)}))"

    def _blockpass(self, node: BlockPass) -> str:
        raise self.error("`&:name` passes a block as a method's last argument, e.g. "
                         "`items.map(&:name)`", node.offset)

    def _index(self, node: Index) -> str:
        if isinstance(node.key, Range):
            hi = self.emit(node.key.hi)
            hi = hi if node.key.exclusive else f"({hi}) + 1"
            return f"{self.emit(node.obj)}[{self.emit(node.key.lo)}:{hi}]"
        return f"{self.emit(node.obj)}[{self.emit(node.key)}]"

    def _unary(self, node: Unary) -> str:
        if node.op == "not":
            return f"(not {self.emit(node.operand)})"
        return f"({node.op}{self.emit(node.operand)})"

    def _binary(self, node: Binary) -> str:
        if node.op == "/" and self.ruby:
            return f"(({self.emit(node.left)})|rum_div({self.emit(node.right)}))"
        if node.op == "<=>":
            return f"(({self.emit(node.left)})|rum_cmp({self.emit(node.right)}))"
        op = _BINARY_JINJA.get(node.op, node.op)
        return f"({self.emit(node.left)} {op} {self.emit(node.right)})"

    def _ternary(self, node: Ternary) -> str:
        return f"({self.emit(node.yes)} if {self.emit(node.cond)} else {self.emit(node.no)})"

    def _listlit(self, node: ListLit) -> str:
        return "[" + ", ".join(self.emit(i) for i in node.items) + "]"

    def _dictlit(self, node: DictLit) -> str:
        return "{" + ", ".join(f"{self.emit(k)}: {self.emit(v)}" for k, v in node.pairs) + "}"

    def _range(self, node: Range) -> str:
        hi = self.emit(node.hi)
        return f"range({self.emit(node.lo)}, {hi if node.exclusive else f'({hi}) + 1'})"

    def _interp(self, node: Interp) -> str:
        parts = [_jinja_string(p) if isinstance(p, str) else self._interp_part(p)
                 for p in node.parts]
        return "(" + " ~ ".join(parts) + ")"


    def _interp_part(self, node: Node) -> str:
        if not self.ruby or self.prints_as_is(node):
            return self.emit(node)
        return f"(({self.emit(node)})|rum_ruby_to_s)"


def _is_super(node: Name | Call) -> bool:
    """``super`` / ``super()``: the parent block's markup."""
    name = node.func if isinstance(node, Call) else node
    return isinstance(name, Name) and name.id == "super"


def suggest_method(name: str) -> str:
    """``"; did you mean `.upcase`?"`` for a close Rum method name, else a pointer to the list."""
    close = difflib.get_close_matches(name, METHODS, n=1, cutoff=0.6)
    if close:
        return f"; did you mean `.{close[0]}`?"
    return " (see the method list in docs/templates.md)"
