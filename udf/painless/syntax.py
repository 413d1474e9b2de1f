"""The Painless subset's syntax tree: frozen nodes, each with the source ``offset`` it came from.

Owns the node classes only; udf/painless/parser.py builds them and udf/painless/interpreter.py
turns them into Python closures. Must never: hold behaviour or mutable state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    offset: int


# ------------------------------------------------------------------ expressions

@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Variable(Node):
    name: str


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral(Node):
    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class NewObject(Node):
    type_name: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Field(Node):
    target: Node
    name: str
    null_safe: bool


@dataclass(frozen=True, slots=True)
class Index(Node):
    target: Node
    key: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    target: Node
    method: str
    arguments: tuple[Node, ...]
    null_safe: bool


@dataclass(frozen=True, slots=True)
class Unary(Node):
    operator: str       # ! - + ~
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    operator: str       # arithmetic, comparison, bitwise, == != === !==
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical(Node):
    operator: str       # && ||
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    condition: Node
    when_true: Node
    when_false: Node


@dataclass(frozen=True, slots=True)
class Elvis(Node):
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Assign(Node):
    target: Node        # Variable, Field or Index
    operator: str       # = += -= *= /= %= &= |= ^= <<= >>= >>>=
    value: Node


@dataclass(frozen=True, slots=True)
class Increment(Node):
    target: Node
    delta: int          # +1 or -1
    prefix: bool


@dataclass(frozen=True, slots=True)
class Cast(Node):
    type_name: str
    operand: Node


@dataclass(frozen=True, slots=True)
class InstanceOf(Node):
    operand: Node
    type_name: str


@dataclass(frozen=True, slots=True)
class Lambda(Node):
    parameters: tuple[str, ...]
    body: Node          # an expression or a Block


# ------------------------------------------------------------------ statements

@dataclass(frozen=True, slots=True)
class Block(Node):
    statements: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ExpressionStatement(Node):
    expression: Node


@dataclass(frozen=True, slots=True)
class Declaration(Node):
    type_name: str
    declarators: tuple[tuple[str, Node | None], ...]


@dataclass(frozen=True, slots=True)
class If(Node):
    condition: Node
    when_true: Node
    when_false: Node | None


@dataclass(frozen=True, slots=True)
class While(Node):
    condition: Node
    body: Node


@dataclass(frozen=True, slots=True)
class DoWhile(Node):
    body: Node
    condition: Node


@dataclass(frozen=True, slots=True)
class For(Node):
    initializer: Node | None
    condition: Node | None
    update: tuple[Node, ...]
    body: Node


@dataclass(frozen=True, slots=True)
class ForEach(Node):
    type_name: str
    name: str
    iterable: Node
    body: Node


@dataclass(frozen=True, slots=True)
class Return(Node):
    value: Node | None


@dataclass(frozen=True, slots=True)
class Break(Node):
    pass


@dataclass(frozen=True, slots=True)
class Continue(Node):
    pass


@dataclass(frozen=True, slots=True)
class Script(Node):
    statements: tuple[Node, ...]
