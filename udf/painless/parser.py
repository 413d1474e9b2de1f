"""The Painless subset's parser: tokens → a ``syntax.Script`` of frozen nodes (recursive descent).

Owns the grammar: statements (declarations with ``def`` or a type, if/else, while, do-while,
for, for-each as ``for (T x : e)`` and ``for (x in e)``, break, continue, return, blocks,
expression statements; the semicolon before ``}`` or the end may be left out, as Painless allows)
and expressions by Java precedence (assignment, ternary and elvis, || &&, bitwise, equality,
relational and instanceof, shifts, additive, multiplicative, unary and casts, postfix: fields,
null-safe ``?.``, brackets, calls, ``++``/``--``), list ``[a, b]`` and map ``[k: v]`` literals,
``new ArrayList()``/``new HashMap()``, regex literals with ``=~``/``==~``, lambdas ``x -> e`` / ``(a, b) -> {…}``.

Must never: run code. Anything outside the subset (function definitions, try/catch, arrays,
method references) is a ``ScriptCompileError`` at its offset; nesting deeper than
``MAXIMUM_NESTING_DEPTH`` is one too (it bounds the interpreter's recursion as well).
"""

from __future__ import annotations

from udf.painless import syntax as ast
from udf.painless.errors import ScriptCompileError
from udf.painless.lexer import Token, tokenize

# how deeply expressions, operator chains and blocks may nest: keeps parsing, compiling and running
# far from Python's own recursion limit (1000 frames; one level costs up to ~16 parser frames)
MAXIMUM_NESTING_DEPTH = 32

TYPE_NAMES = frozenset({
    "def", "int", "long", "double", "float", "boolean", "short", "byte", "char", "String", "Object",
    "List", "ArrayList", "Map", "HashMap", "Integer", "Long", "Double", "Float", "Boolean", "Number",
    "Collection", "Iterable", "Set", "HashSet", "CharSequence",
})
ASSIGNMENT_OPERATORS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", ">>>="})
BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("|",), ("^",), ("&",), ("==", "!=", "===", "!==", "=~", "==~"), ("<", "<=", ">", ">="), ("<<", ">>", ">>>"),
    ("+", "-"), ("*", "/", "%"),
)


def parse(source: str) -> ast.Script:
    try:
        return _Parser(tokenize(source)).script()
    except RecursionError:
        # the nesting limit keeps scripts well inside Python's stack; a caller already deep in it
        # could still run out: the same compile error, not a crash
        raise ScriptCompileError(f"the script nests deeper than the limit of [{MAXIMUM_NESTING_DEPTH}] "
                                 f"levels", 0) from None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    # ---------------------------------------------------------------- token helpers

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def peek(self, distance: int = 1) -> Token:
        return self.tokens[min(self.position + distance, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        if token.kind != "end":
            self.position += 1
        return token

    def at(self, text: str) -> bool:
        token = self.current
        return token.text == text and token.kind in ("operator", "keyword")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.advance()
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected [{text}] but found [{self.current.text}]")
        return self.advance()

    def error(self, reason: str, token: Token | None = None) -> ScriptCompileError:
        token = token or self.current
        return ScriptCompileError(reason, token.offset)

    def identifier(self) -> Token:
        if self.current.kind != "identifier":
            raise self.error(f"expected an identifier but found [{self.current.text}]")
        return self.advance()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAXIMUM_NESTING_DEPTH:
            raise self.error(f"the script nests deeper than the limit of [{MAXIMUM_NESTING_DEPTH}] levels")

    # ---------------------------------------------------------------- statements

    def script(self) -> ast.Script:
        statements = []
        while self.current.kind != "end":
            statements.append(self.statement())
        if not statements:
            raise ScriptCompileError("cannot generate an empty script", 0)
        return ast.Script(0, tuple(statements))

    def end_of_statement(self) -> None:
        if self.accept(";"):
            return
        if self.at("}") or self.current.kind == "end":
            return  # Painless lets the last statement of a block or script omit its semicolon
        raise self.error(f"expected [;] but found [{self.current.text}]")

    def is_declaration(self) -> bool:
        token = self.current
        return token.kind == "identifier" and token.text in TYPE_NAMES and self.peek().kind == "identifier"

    def statement(self) -> ast.Node:
        self.nested()
        try:
            return self._statement()
        finally:
            self.depth -= 1

    def _statement(self) -> ast.Node:
        token = self.current
        if token.kind == "keyword":
            if token.text == "if":
                self.advance()
                self.expect("(")
                condition = self.expression()
                self.expect(")")
                when_true = self.statement()
                when_false = self.statement() if self.accept("else") else None
                return ast.If(token.offset, condition, when_true, when_false)
            if token.text == "while":
                self.advance()
                self.expect("(")
                condition = self.expression()
                self.expect(")")
                if self.accept(";"):
                    return ast.While(token.offset, condition, ast.Block(token.offset, ()))
                return ast.While(token.offset, condition, self.statement())
            if token.text == "do":
                self.advance()
                body = self.statement()
                self.expect("while")
                self.expect("(")
                condition = self.expression()
                self.expect(")")
                self.end_of_statement()
                return ast.DoWhile(token.offset, body, condition)
            if token.text == "for":
                return self.for_statement()
            if token.text == "return":
                self.advance()
                value = None if (self.at(";") or self.at("}") or self.current.kind == "end") else self.expression()
                self.end_of_statement()
                return ast.Return(token.offset, value)
            if token.text in ("break", "continue"):
                self.advance()
                self.end_of_statement()
                return ast.Break(token.offset) if token.text == "break" else ast.Continue(token.offset)
            if token.text in ("try", "throw", "catch"):
                raise self.error(f"[{token.text}] is not supported by this painless subset")
        if self.at("{"):
            return self.block()
        if self.accept(";"):
            return ast.Block(token.offset, ())
        if self.is_declaration():
            if self.peek(2).text == "(" and self.peek(2).kind == "operator":
                raise self.error("function definitions are not supported by this painless subset")
            declaration = self.declaration()
            self.end_of_statement()
            return declaration
        expression = self.expression()
        self.end_of_statement()
        return ast.ExpressionStatement(token.offset, expression)

    def block(self) -> ast.Block:
        opening = self.expect("{")
        statements = []
        while not self.at("}"):
            if self.current.kind == "end":
                raise self.error("expected [}] before the end of the script")
            statements.append(self.statement())
        self.expect("}")
        return ast.Block(opening.offset, tuple(statements))

    def declaration(self) -> ast.Declaration:
        type_token = self.advance()
        declarators = []
        while True:
            name = self.identifier()
            value = self.expression() if self.accept("=") else None
            declarators.append((name.text, value))
            if not self.accept(","):
                break
        return ast.Declaration(type_token.offset, type_token.text, tuple(declarators))

    def for_statement(self) -> ast.Node:
        token = self.expect("for")
        self.expect("(")
        # for (T x : iterable) and for (x in iterable)
        if self.is_declaration() and self.peek(2).text == ":":
            type_name = self.advance().text
            name = self.identifier().text
            self.expect(":")
            iterable = self.expression()
            self.expect(")")
            return ast.ForEach(token.offset, type_name, name, iterable, self.statement())
        if self.current.kind == "identifier" and self.peek().text == "in" and self.peek().kind == "keyword":
            name = self.advance().text
            self.advance()
            iterable = self.expression()
            self.expect(")")
            return ast.ForEach(token.offset, "def", name, iterable, self.statement())
        initializer: ast.Node | None = None
        if not self.at(";"):
            if self.is_declaration():
                initializer = self.declaration()
            else:
                initializer = ast.ExpressionStatement(self.current.offset, self.expression())
        self.expect(";")
        condition = None if self.at(";") else self.expression()
        self.expect(";")
        update = []
        while not self.at(")"):
            update.append(self.expression())
            if not self.accept(","):
                break
        self.expect(")")
        if self.accept(";"):
            body: ast.Node = ast.Block(token.offset, ())
        else:
            body = self.statement()
        return ast.For(token.offset, initializer, condition, tuple(update), body)

    # ---------------------------------------------------------------- expressions

    def expression(self) -> ast.Node:
        self.nested()
        try:
            return self.assignment()
        finally:
            self.depth -= 1

    def assignment(self) -> ast.Node:
        target = self.conditional()
        token = self.current
        if token.kind == "operator" and token.text in ASSIGNMENT_OPERATORS:
            if not isinstance(target, (ast.Variable, ast.Field, ast.Index)):
                raise self.error("left-hand side cannot be assigned a value", token)
            self.advance()
            value = self.expression()
            return ast.Assign(token.offset, target, token.text, value)
        return target

    def conditional(self) -> ast.Node:
        condition = self.logical_or()
        token = self.current
        if self.accept("?"):
            when_true = self.expression()
            self.expect(":")
            when_false = self.expression()
            return ast.Conditional(token.offset, condition, when_true, when_false)
        if self.accept("?:"):
            return ast.Elvis(token.offset, condition, self.expression())
        return condition

    def logical_or(self) -> ast.Node:
        left = self.logical_and()
        while self.at("||"):
            token = self.advance()
            left = ast.Logical(token.offset, "||", left, self.logical_and())
        return left

    def logical_and(self) -> ast.Node:
        left = self.binary(0)
        while self.at("&&"):
            token = self.advance()
            left = ast.Logical(token.offset, "&&", left, self.binary(0))
        return left

    def binary(self, level: int) -> ast.Node:
        if level == len(BINARY_LEVELS):
            return self.unary()
        operators = BINARY_LEVELS[level]
        left = self.binary(level + 1)
        entry_depth = self.depth
        try:
            while True:
                token = self.current
                if token.kind == "operator" and token.text in operators:
                    self.advance()
                    self.nested()   # a chain `a + b + c` nests to the left: each link counts as a level
                    left = ast.Binary(token.offset, token.text, left, self.binary(level + 1))
                elif token.kind == "keyword" and token.text == "instanceof" and "<" in operators:
                    self.advance()
                    type_name = self.identifier().text
                    left = ast.InstanceOf(token.offset, left, type_name)
                else:
                    return left
        finally:
            self.depth = entry_depth

    def unary(self) -> ast.Node:
        token = self.current
        if token.kind == "operator":
            if token.text in ("!", "-", "+", "~"):
                self.advance()
                self.nested()
                try:
                    operand = self.unary()
                finally:
                    self.depth -= 1
                if token.text == "-" and isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)) \
                        and not isinstance(operand.value, bool):
                    return ast.Literal(token.offset, -operand.value)
                return ast.Unary(token.offset, token.text, operand)
            if token.text in ("++", "--"):
                self.advance()
                target = self.unary()
                if not isinstance(target, (ast.Variable, ast.Field, ast.Index)):
                    raise self.error("left-hand side cannot be assigned a value", token)
                return ast.Increment(token.offset, target, 1 if token.text == "++" else -1, True)
            if token.text == "(" and self.peek().kind == "identifier" and self.peek().text in TYPE_NAMES \
                    and self.peek(2).text == ")" and self.peek(3).text != "->":
                self.advance()
                type_name = self.advance().text
                self.expect(")")
                return ast.Cast(token.offset, type_name, self.unary())
        return self.postfix()

    def postfix(self) -> ast.Node:
        node = self.primary()
        while True:
            token = self.current
            if token.kind != "operator":
                return node
            if token.text in (".", "?."):
                self.advance()
                name_token = self.current
                if name_token.kind not in ("identifier", "keyword") and not (
                        name_token.kind == "number" and isinstance(name_token.value, int)):
                    raise self.error(f"expected a field or method name after [{token.text}]")
                self.advance()
                # located at the dot, where Painless reports a failing access
                if self.at("("):
                    node = ast.Call(token.offset, node, name_token.text, self.arguments(), token.text == "?.")
                else:
                    node = ast.Field(token.offset, node, name_token.text, token.text == "?.")
            elif token.text == "[":
                self.advance()
                key = self.expression()
                self.expect("]")
                node = ast.Index(token.offset, node, key)
            elif token.text in ("++", "--"):
                if not isinstance(node, (ast.Variable, ast.Field, ast.Index)):
                    raise self.error("left-hand side cannot be assigned a value", token)
                self.advance()
                node = ast.Increment(token.offset, node, 1 if token.text == "++" else -1, False)
            elif token.text == "::":
                raise self.error("method references are not supported by this painless subset")
            else:
                return node

    def arguments(self) -> tuple[ast.Node, ...]:
        self.expect("(")
        arguments = []
        while not self.at(")"):
            arguments.append(self.lambda_or_expression())
            if not self.accept(","):
                break
        self.expect(")")
        return tuple(arguments)

    def lambda_or_expression(self) -> ast.Node:
        token = self.current
        if token.kind == "identifier" and self.peek().text == "->":
            self.advance()
            self.advance()
            return ast.Lambda(token.offset, (token.text,), self.lambda_body())
        if token.text == "(" and token.kind == "operator":
            # (a, b) -> … or (def a, int b) -> … : scan to the matching ")" over names and commas
            distance = 1
            names: list[str] = []
            while True:
                candidate = self.peek(distance)
                if candidate.kind == "identifier":
                    if self.peek(distance + 1).kind == "identifier" and candidate.text in TYPE_NAMES:
                        distance += 1
                        continue
                    names.append(candidate.text)
                    distance += 1
                    if self.peek(distance).text == ",":
                        distance += 1
                        continue
                if self.peek(distance).text == ")" and self.peek(distance + 1).text == "->":
                    self.position += distance + 2
                    return ast.Lambda(token.offset, tuple(names), self.lambda_body())
                break
        return self.expression()

    def lambda_body(self) -> ast.Node:
        if self.at("{"):
            return self.block()
        return self.expression()

    def primary(self) -> ast.Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            return ast.Literal(token.offset, token.value)
        if token.kind == "string" or token.kind == "regex":
            self.advance()
            return ast.Literal(token.offset, token.value)
        if token.kind == "keyword":
            if token.text in ("true", "false"):
                self.advance()
                return ast.Literal(token.offset, token.text == "true")
            if token.text == "null":
                self.advance()
                return ast.Literal(token.offset, None)
            if token.text == "new":
                self.advance()
                type_token = self.identifier()
                if self.at("["):
                    raise self.error("arrays are not supported by this painless subset")
                return ast.NewObject(token.offset, type_token.text, self.arguments())
            raise self.error(f"unexpected [{token.text}]")
        if token.kind == "identifier":
            self.advance()
            return ast.Variable(token.offset, token.text)
        if token.text == "(":
            self.advance()
            inner = self.expression()
            self.expect(")")
            return inner
        if token.text == "[":
            return self.collection_literal()
        if token.kind == "end":
            raise self.error("unexpected end of script")
        raise self.error(f"unexpected [{token.text}]")

    def collection_literal(self) -> ast.Node:
        opening = self.expect("[")
        if self.accept(":"):
            self.expect("]")
            return ast.MapLiteral(opening.offset, ())
        if self.accept("]"):
            return ast.ListLiteral(opening.offset, ())
        first = self.expression()
        if self.accept(":"):
            entries = [(first, self.expression())]
            while self.accept(","):
                key = self.expression()
                self.expect(":")
                entries.append((key, self.expression()))
            self.expect("]")
            return ast.MapLiteral(opening.offset, tuple(entries))
        items = [first]
        while self.accept(","):
            items.append(self.expression())
        self.expect("]")
        return ast.ListLiteral(opening.offset, tuple(items))
