"""The Painless subset's compiler to Python closures, and their execution under a statement budget.

Owns ``compile_tree(script, variable_names) -> Callable[[Frame], Any]``: each syntax node becomes
one Python closure (no visitor dispatch while running), names are resolved at compile time (an
unknown variable or a redefinition is a ``ScriptCompileError``, as Painless's compiler reports),
and ``Frame`` — a script run's variables and its remaining statement budget. Every statement and
every loop iteration spends one unit of the budget; when it runs out the script fails with
Painless's own "The maximum number of statements that can be executed in a loop has been
reached." (``painless_error``), so no script loops forever.

Must never: do I/O or touch anything but the values it is given. Control flow (break, continue,
return) travels as return signals, not exceptions.
"""

from __future__ import annotations

from typing import Any, Callable

from udf.painless import syntax as ast
from udf.painless import values as runtime
from udf.painless.errors import PainlessError, ScriptCompileError, ScriptRuntimeError

# Painless's loop counter limit (CompilerSettings.maxLoopCounter default): the statements and loop
# iterations one run of a script may execute
DEFAULT_STATEMENT_BUDGET = 1_000_000


class Frame:
    __slots__ = ("variables", "budget")

    def __init__(self, variables: dict[str, Any], budget: list[int]) -> None:
        self.variables = variables
        self.budget = budget        # one shared cell: lambdas spend from the script's budget


Expression = Callable[[Frame], Any]
Statement = Callable[[Frame], Any]

# statement signals: None = carry on
BREAK = object()
CONTINUE = object()


class _Return:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _spend(frame: Frame) -> None:
    budget = frame.budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ScriptRuntimeError("The maximum number of statements that can be executed in a loop has been reached.",
                                 cause_type="painless_error")


def _locate(error: PainlessError, offset: int) -> None:
    if error.offset is None:     # the innermost node that knows where it is wins
        error.offset = offset


def _at(offset: int, evaluate: Callable[[Frame], Any]) -> Callable[[Frame], Any]:
    """``evaluate`` with runtime errors located at ``offset`` (the innermost location wins). The hot
    nodes (statements, fields, calls, operators, assignments) carry their own ``try`` instead: one
    Python call less per node, which is most of a small script's cost (udf/painless/measure.py)."""
    def located(frame: Frame) -> Any:
        try:
            return evaluate(frame)
        except PainlessError as error:
            if error.offset is None:
                error.offset = offset
            raise
        except RecursionError:
            raise ScriptRuntimeError("the script recursed too deeply", offset, cause_type="stack_overflow_error") \
                from None
    return located


class _Scopes:
    def __init__(self, global_names: frozenset[str]) -> None:
        self.global_names = global_names
        self.stack: list[set[str]] = [set()]

    def declared(self, name: str) -> bool:
        return name in self.global_names or any(name in scope for scope in self.stack)

    def declare(self, name: str, offset: int) -> None:
        if self.declared(name):
            raise ScriptCompileError(f"variable [{name}] is already defined", offset)
        self.stack[-1].add(name)

    def push(self) -> None:
        self.stack.append(set())

    def pop(self) -> None:
        self.stack.pop()


def compile_tree(script: ast.Script, variable_names: frozenset[str]) -> Callable[[Frame], Any]:
    compiler = _Compiler(_Scopes(variable_names))
    statements = script.statements
    if isinstance(statements[-1], ast.ExpressionStatement):
        # Painless returns the value of a script's last expression statement (what makes an ingest
        # `if` of "ctx.x == 1" work without `return`)
        last = statements[-1]
        statements = statements[:-1] + (ast.Return(last.offset, last.expression),)
    body = compiler.statements(statements)

    def run(frame: Frame) -> Any:
        signal = body(frame)
        if type(signal) is _Return:
            return signal.value
        return None
    return run


class _Compiler:
    def __init__(self, scopes: _Scopes) -> None:
        self.scopes = scopes
        self.loop_depth = 0

    # ---------------------------------------------------------------- statements

    def statements(self, nodes: tuple[ast.Node, ...]) -> Statement:
        compiled = [self.statement(node) for node in nodes]
        if len(compiled) == 1:
            return compiled[0]

        def run_all(frame: Frame) -> Any:
            for statement in compiled:
                signal = statement(frame)
                if signal is not None:
                    return signal
            return None
        return run_all

    def scoped(self, node: ast.Node) -> Statement:
        self.scopes.push()
        try:
            return self.statement(node)
        finally:
            self.scopes.pop()

    def statement(self, node: ast.Node) -> Statement:
        kind = type(node)
        if kind is ast.ExpressionStatement:
            expression = self.expression(node.expression)
            offset = node.offset

            def run_expression(frame: Frame) -> None:
                budget = frame.budget
                budget[0] -= 1
                if budget[0] < 0:
                    _spend(frame)
                try:
                    expression(frame)
                except PainlessError as error:
                    _locate(error, offset)
                    raise
                except RecursionError:
                    raise ScriptRuntimeError("the script recursed too deeply", offset,
                                             cause_type="stack_overflow_error") from None
            return run_expression
        if kind is ast.Block:
            self.scopes.push()
            try:
                return self.statements(node.statements) if node.statements else (lambda frame: None)
            finally:
                self.scopes.pop()
        if kind is ast.Declaration:
            return self.declaration(node)
        if kind is ast.If:
            return self.if_statement(node)
        if kind in (ast.While, ast.DoWhile, ast.For, ast.ForEach):
            self.loop_depth += 1
            try:
                if kind is ast.While:
                    return self.while_loop(node)
                if kind is ast.DoWhile:
                    return self.do_while_loop(node)
                if kind is ast.For:
                    return self.for_loop(node)
                return self.for_each_loop(node)
            finally:
                self.loop_depth -= 1
        if kind is ast.Return:
            value = self.expression(node.value) if node.value is not None else (lambda frame: None)

            def run_return(frame: Frame) -> _Return:
                return _Return(value(frame))
            return _at(node.offset, run_return)
        if kind is ast.Break or kind is ast.Continue:
            if self.loop_depth == 0:
                word = "break" if kind is ast.Break else "continue"
                raise ScriptCompileError(f"[{word}] is not allowed outside of a loop", node.offset)
            signal = BREAK if kind is ast.Break else CONTINUE
            return lambda frame: signal
        raise ScriptCompileError(f"unexpected statement [{kind.__name__}]", node.offset)

    def declaration(self, node: ast.Declaration) -> Statement:
        assignments = []
        for name, value_node in node.declarators:
            value = self.expression(value_node) if value_node is not None else None
            self.scopes.declare(name, node.offset)
            assignments.append((name, value))
        type_name = node.type_name
        default = 0 if type_name in runtime.INTEGER_TYPES and type_name[0].islower() else \
            0.0 if type_name in ("double", "float") else False if type_name == "boolean" else None

        def run_declaration(frame: Frame) -> None:
            _spend(frame)
            variables = frame.variables
            for name, value in assignments:
                variables[name] = default if value is None else runtime.declared_value(value(frame), type_name)
        return _at(node.offset, run_declaration)

    def condition(self, node: ast.Node) -> Expression:
        expression = self.expression(node)
        offset = node.offset

        def boolean(frame: Frame) -> bool:
            value = expression(frame)
            if value is True or value is False:
                return value
            raise ScriptRuntimeError(f"Cannot cast {runtime.java_type(value)} to java.lang.Boolean", offset,
                                     cause_type="class_cast_exception")
        return boolean

    def if_statement(self, node: ast.If) -> Statement:
        condition = self.condition(node.condition)
        when_true = self.scoped(node.when_true)
        when_false = self.scoped(node.when_false) if node.when_false is not None else None

        def run_if(frame: Frame) -> Any:
            _spend(frame)
            if condition(frame):
                return when_true(frame)
            if when_false is not None:
                return when_false(frame)
            return None
        return run_if

    def while_loop(self, node: ast.While) -> Statement:
        condition = self.condition(node.condition)
        body = self.scoped(node.body)

        def run_while(frame: Frame) -> Any:
            while condition(frame):
                _spend(frame)
                signal = body(frame)
                if signal is not None:
                    if signal is BREAK:
                        break
                    if signal is not CONTINUE:
                        return signal
            return None
        return _at(node.offset, run_while)

    def do_while_loop(self, node: ast.DoWhile) -> Statement:
        body = self.scoped(node.body)
        condition = self.condition(node.condition)

        def run_do_while(frame: Frame) -> Any:
            while True:
                _spend(frame)
                signal = body(frame)
                if signal is not None:
                    if signal is BREAK:
                        break
                    if signal is not CONTINUE:
                        return signal
                if not condition(frame):
                    break
            return None
        return _at(node.offset, run_do_while)

    def for_loop(self, node: ast.For) -> Statement:
        self.scopes.push()
        try:
            initializer = self.statement(node.initializer) if node.initializer is not None else None
            condition = self.condition(node.condition) if node.condition is not None else (lambda frame: True)
            updates = [self.expression(update) for update in node.update]
            body = self.scoped(node.body)
        finally:
            self.scopes.pop()

        def run_for(frame: Frame) -> Any:
            if initializer is not None:
                initializer(frame)
            while condition(frame):
                _spend(frame)
                signal = body(frame)
                if signal is not None:
                    if signal is BREAK:
                        break
                    if signal is not CONTINUE:
                        return signal
                for update in updates:
                    update(frame)
            return None
        return _at(node.offset, run_for)

    def for_each_loop(self, node: ast.ForEach) -> Statement:
        iterable = self.expression(node.iterable)
        self.scopes.push()
        try:
            self.scopes.declare(node.name, node.offset)
            body = self.scoped(node.body)
        finally:
            self.scopes.pop()
        name = node.name
        type_name = node.type_name
        iterate = runtime.iterate
        declared_value = runtime.declared_value

        def run_for_each(frame: Frame) -> Any:
            variables = frame.variables
            for item in iterate(iterable(frame)):
                _spend(frame)
                variables[name] = item if type_name == "def" else declared_value(item, type_name)
                signal = body(frame)
                if signal is not None:
                    if signal is BREAK:
                        break
                    if signal is not CONTINUE:
                        return signal
            return None
        return _at(node.offset, run_for_each)

    # ---------------------------------------------------------------- expressions

    def expression(self, node: ast.Node) -> Expression:
        method = getattr(self, "expression_" + type(node).__name__, None)
        if method is None:
            raise ScriptCompileError(f"unexpected expression [{type(node).__name__}]", node.offset)
        return method(node)

    def expression_Literal(self, node: ast.Literal) -> Expression:
        value = node.value
        return lambda frame: value

    def expression_Variable(self, node: ast.Variable) -> Expression:
        name = node.name
        if self.scopes.declared(name):
            def read_variable(frame: Frame) -> Any:
                return frame.variables[name]
            return read_variable
        static = runtime.STATIC_CLASSES.get(name)
        if static is not None:
            return lambda frame: static
        raise ScriptCompileError(f"cannot resolve symbol [{name}]", node.offset)

    def expression_ListLiteral(self, node: ast.ListLiteral) -> Expression:
        items = [self.expression(item) for item in node.items]
        return lambda frame: [item(frame) for item in items]

    def expression_MapLiteral(self, node: ast.MapLiteral) -> Expression:
        entries = [(self.expression(key), self.expression(value)) for key, value in node.entries]
        return lambda frame: {key(frame): value(frame) for key, value in entries}

    def expression_NewObject(self, node: ast.NewObject) -> Expression:
        constructor = runtime.NEW_OBJECT_TYPES.get(node.type_name)
        if constructor is None:
            raise ScriptCompileError(f"cannot resolve symbol [{node.type_name}]", node.offset)
        arguments = [self.expression(argument) for argument in node.arguments]
        if len(arguments) > 1:
            raise ScriptCompileError(f"constructor [{node.type_name}, <init>/{len(arguments)}] not found", node.offset)

        def construct(frame: Frame) -> Any:
            if not arguments:
                return constructor()
            value = arguments[0](frame)
            if type(value) is int:
                return constructor()        # an initial capacity
            if constructor is list and type(value) is list:
                return list(value)
            if constructor is dict and type(value) is dict:
                return dict(value)
            raise runtime.class_cast(value, node.type_name)
        return _at(node.offset, construct)

    def expression_Field(self, node: ast.Field) -> Expression:
        target = self.expression(node.target)
        name = node.name
        read_field = runtime.read_field
        if node.null_safe:
            def read_null_safe(frame: Frame) -> Any:
                value = target(frame)
                return None if value is None else read_field(value, name)
            return _at(node.offset, read_null_safe)

        offset = node.offset

        def read(frame: Frame) -> Any:
            value = target(frame)
            if type(value) is dict:
                return value.get(name)
            try:
                return read_field(value, name)
            except PainlessError as error:
                _locate(error, offset)
                raise
        return read

    def expression_Index(self, node: ast.Index) -> Expression:
        target = self.expression(node.target)
        key = self.expression(node.key)
        read_index = runtime.read_index
        offset = node.offset

        def index(frame: Frame) -> Any:
            container = target(frame)
            position = key(frame)
            try:
                return read_index(container, position)
            except PainlessError as error:
                _locate(error, offset)
                raise
        return index

    def expression_Call(self, node: ast.Call) -> Expression:
        if node.method not in runtime.ALL_METHOD_NAMES and not (
                isinstance(node.target, ast.Variable) and not self.scopes.declared(node.target.name)
                and node.target.name in runtime.STATIC_CLASSES):
            raise ScriptCompileError(f"dynamic method [{node.method}/{len(node.arguments)}] not found", node.offset)
        if isinstance(node.target, ast.Variable) and not self.scopes.declared(node.target.name) and \
                node.target.name in runtime.STATIC_CLASSES:
            static = runtime.STATIC_CLASSES[node.target.name]
            if node.method not in static.methods:
                raise ScriptCompileError(f"unknown call [{node.method}] with [{len(node.arguments)}] arguments on "
                                         f"type [{static.name}].", node.offset)
        target = self.expression(node.target)
        arguments = [self.expression(argument) for argument in node.arguments]
        method = node.method
        call_method = runtime.call_method
        null_safe = node.null_safe

        offset = node.offset

        def call(frame: Frame) -> Any:
            receiver = target(frame)
            if receiver is None and null_safe:
                return None
            values = [argument(frame) for argument in arguments]
            try:
                return call_method(receiver, method, values)
            except PainlessError as error:
                _locate(error, offset)
                raise
        return call

    def expression_Lambda(self, node: ast.Lambda) -> Expression:
        self.scopes.push()
        saved_loop_depth = self.loop_depth
        self.loop_depth = 0
        try:
            for parameter in node.parameters:
                self.scopes.declare(parameter, node.offset)
            if isinstance(node.body, ast.Block):
                body_statement = self.statements(node.body.statements) if node.body.statements else \
                    (lambda frame: None)

                def body(frame: Frame) -> Any:
                    signal = body_statement(frame)
                    return signal.value if type(signal) is _Return else None
            else:
                body = self.expression(node.body)
        finally:
            self.loop_depth = saved_loop_depth
            self.scopes.pop()
        parameters = node.parameters

        def make_function(frame: Frame) -> Callable[..., Any]:
            def function(*arguments: Any) -> Any:
                if len(arguments) != len(parameters):
                    raise ScriptRuntimeError(f"the lambda takes [{len(parameters)}] arguments, not "
                                             f"[{len(arguments)}]", node.offset)
                variables = dict(frame.variables)   # captures are effectively final in Painless
                variables.update(zip(parameters, arguments))
                return body(Frame(variables, frame.budget))
            return function
        return make_function

    def expression_Unary(self, node: ast.Unary) -> Expression:
        operand = self.expression(node.operand)
        if node.operator == "!":
            require_boolean = runtime.require_boolean
            return _at(node.offset, lambda frame: not require_boolean(operand(frame)))
        if node.operator == "-":
            negate = runtime.negate
            return _at(node.offset, lambda frame: negate(operand(frame)))
        if node.operator == "~":
            complement = runtime.complement
            return _at(node.offset, lambda frame: complement(operand(frame)))

        def plus(frame: Frame) -> Any:
            value = operand(frame)
            if not runtime.is_number(value):
                raise runtime.class_cast(value, "java.lang.Number")
            return value
        return _at(node.offset, plus)

    def expression_Binary(self, node: ast.Binary) -> Expression:
        left = self.expression(node.left)
        right = self.expression(node.right)
        operator = node.operator
        if operator in ("==", "!="):
            equal = runtime.equal
            if operator == "==":
                return lambda frame: equal(left(frame), right(frame))
            return lambda frame: not equal(left(frame), right(frame))
        if operator in ("===", "!=="):
            identical = runtime.identical
            if operator == "===":
                return lambda frame: identical(left(frame), right(frame))
            return lambda frame: not identical(left(frame), right(frame))
        offset = node.offset
        if operator in ("=~", "==~"):
            find = runtime.regex_find if operator == "=~" else runtime.regex_matches

            def regex(frame: Frame) -> bool:
                try:
                    return find(left(frame), right(frame))
                except PainlessError as error:
                    _locate(error, offset)
                    raise
            return regex
        if operator in ("<", "<=", ">", ">="):
            compare = runtime.compare
            fast = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
                    ">=": lambda a, b: a >= b}[operator]

            def comparison(frame: Frame) -> bool:
                first = left(frame)
                second = right(frame)
                if type(first) is int and type(second) is int:
                    return fast(first, second)
                try:
                    return compare(operator, first, second)
                except PainlessError as error:
                    _locate(error, offset)
                    raise
            return comparison
        function = runtime.BINARY_FUNCTIONS[operator]
        if operator == "+":
            def add(frame: Frame) -> Any:
                first = left(frame)
                second = right(frame)
                if type(first) is int and type(second) is int:
                    return first + second
                try:
                    return function(first, second)
                except PainlessError as error:
                    _locate(error, offset)
                    raise
            return add

        def arithmetic(frame: Frame) -> Any:
            first = left(frame)
            second = right(frame)
            try:
                return function(first, second)
            except PainlessError as error:
                _locate(error, offset)
                raise
        return arithmetic

    def expression_Logical(self, node: ast.Logical) -> Expression:
        left = self.condition(node.left)
        right = self.condition(node.right)
        if node.operator == "&&":
            return lambda frame: left(frame) and right(frame)
        return lambda frame: left(frame) or right(frame)

    def expression_Conditional(self, node: ast.Conditional) -> Expression:
        condition = self.condition(node.condition)
        when_true = self.expression(node.when_true)
        when_false = self.expression(node.when_false)
        return lambda frame: when_true(frame) if condition(frame) else when_false(frame)

    def expression_Elvis(self, node: ast.Elvis) -> Expression:
        left = self.expression(node.left)
        right = self.expression(node.right)

        def elvis(frame: Frame) -> Any:
            value = left(frame)
            return right(frame) if value is None else value
        return elvis

    def expression_Cast(self, node: ast.Cast) -> Expression:
        operand = self.expression(node.operand)
        type_name = node.type_name
        cast = runtime.cast
        return _at(node.offset, lambda frame: cast(operand(frame), type_name))

    def expression_InstanceOf(self, node: ast.InstanceOf) -> Expression:
        operand = self.expression(node.operand)
        type_name = node.type_name
        return lambda frame: runtime.instance_of(operand(frame), type_name)

    # ---------------------------------------------------------------- assignment

    def _place(self, target: ast.Node) -> tuple[Expression, Callable[[Frame, Any], None]]:
        """A (read, write) pair for an assignable target; the target's containers are evaluated
        once per read and once per write (scripts do not rely on side effects inside targets)."""
        if isinstance(target, ast.Variable):
            name = target.name
            if not self.scopes.declared(name):
                raise ScriptCompileError(f"cannot resolve symbol [{name}]", target.offset)
            if name in self.scopes.global_names and name in ("params", "ctx", "doc"):
                def refuse(frame: Frame, value: Any) -> None:
                    raise ScriptRuntimeError(f"cannot assign a value to the read-only variable [{name}]",
                                             cause_type="illegal_argument_exception")
                return (lambda frame: frame.variables[name]), refuse

            def write_variable(frame: Frame, value: Any) -> None:
                frame.variables[name] = value
            return (lambda frame: frame.variables[name]), write_variable
        if isinstance(target, ast.Field):
            container = self.expression(target.target)
            name = target.name
            read_field = runtime.read_field
            write_field = runtime.write_field
            return (lambda frame: read_field(container(frame), name)), \
                (lambda frame, value: write_field(container(frame), name, value))
        if isinstance(target, ast.Index):
            container = self.expression(target.target)
            key = self.expression(target.key)
            read_index = runtime.read_index
            write_index = runtime.write_index

            def write_element(frame: Frame, value: Any) -> None:
                write_index(container(frame), key(frame), value)
            return (lambda frame: read_index(container(frame), key(frame))), write_element
        raise ScriptCompileError("left-hand side cannot be assigned a value", target.offset)

    def expression_Assign(self, node: ast.Assign) -> Expression:
        value = self.expression(node.value)
        # a failing store is reported where Painless reports it: at the target's dot or bracket
        location = node.target.offset if isinstance(node.target, (ast.Field, ast.Index)) else node.offset
        if node.operator == "=":
            if isinstance(node.target, ast.Field):
                container = self.expression(node.target.target)
                name = node.target.name
                write_field = runtime.write_field

                def assign_field(frame: Frame) -> Any:
                    holder = container(frame)
                    result = value(frame)
                    if type(holder) is dict:
                        holder[name] = result
                        return result
                    try:
                        write_field(holder, name, result)
                    except PainlessError as error:
                        _locate(error, location)
                        raise
                    return result
                return assign_field
            _, write = self._place(node.target)

            def assign(frame: Frame) -> Any:
                result = value(frame)
                write(frame, result)
                return result
            return _at(location, assign)
        read, write = self._place(node.target)
        function = runtime.BINARY_FUNCTIONS[node.operator[:-1]]

        def compound(frame: Frame) -> Any:
            try:
                current = read(frame)
                operand = value(frame)
                if type(current) is int and type(operand) is int and function is runtime.add:
                    result = current + operand
                else:
                    result = function(current, operand)
                write(frame, result)
            except PainlessError as error:
                _locate(error, location)
                raise
            return result
        return compound

    def expression_Increment(self, node: ast.Increment) -> Expression:
        read, write = self._place(node.target)
        delta = node.delta
        prefix = node.prefix

        offset = node.offset

        def increment(frame: Frame) -> Any:
            try:
                current = read(frame)
                if type(current) is not int and type(current) is not float:
                    raise runtime.null_pointer("cannot increment a null value") if current is None else \
                        runtime.class_cast(current, "java.lang.Number")
                result = current + delta
                write(frame, result)
            except PainlessError as error:
                _locate(error, offset)
                raise
            return result if prefix else current
        return increment
