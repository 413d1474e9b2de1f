"""How Painless values behave on Python's: Java type names, string conversion, arithmetic with
Java's integer division and remainder, equality, casts, and the methods of the subset's types.

Owns the runtime library: ``MAP_METHODS``, ``LIST_METHODS``, ``STRING_METHODS``,
``NUMBER_METHODS``, ``DocValues`` (``doc['f']``), ``DocFields`` (``doc``) and the static classes
(``Math``, ``Integer``, ``Long``, ``Double``, ``Float``, ``String``, ``Boolean``). Values are Python's JSON
values: None, bool, int, float, str, list, dict (ints do not overflow at 32/64 bits here — a
documented difference).

Must never: know the syntax tree or do I/O. Every failure is a ``ScriptRuntimeError`` with the
Java exception's OpenSearch name.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import urllib.parse
from typing import Any, Callable

from udf.painless.errors import ScriptRuntimeError

_JAVA_NAMES = {type(None): "null", bool: "java.lang.Boolean", int: "java.lang.Integer", float: "java.lang.Double",
               str: "java.lang.String", list: "java.util.ArrayList", dict: "java.util.HashMap"}


def java_type(value: Any) -> str:
    name = _JAVA_NAMES.get(type(value))
    if name is not None:
        return name
    if isinstance(value, DocValues):
        return "org.opensearch.index.fielddata.ScriptDocValues"
    if callable(value):
        return "lambda"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float)


def null_pointer(what: str) -> ScriptRuntimeError:
    return ScriptRuntimeError(what, cause_type="null_pointer_exception")


def class_cast(value: Any, wanted: str) -> ScriptRuntimeError:
    return ScriptRuntimeError(f"Cannot cast {java_type(value)} to {wanted}", cause_type="class_cast_exception")


def to_java_string(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is float:
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == int(value) and abs(value) < 1e7:
            return f"{value:.1f}"
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            if "." not in mantissa:
                mantissa += ".0"
            return f"{mantissa}E{int(exponent)}"
        return text
    if type(value) is list:
        return "[" + ", ".join(to_java_string(item) for item in value) + "]"
    if type(value) is dict:
        return "{" + ", ".join(f"{to_java_string(key)}={to_java_string(item)}" for key, item in value.items()) + "}"
    return str(value)


def require_boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise class_cast(value, "java.lang.Boolean")


def _operation_error(operator: str, left: Any, right: Any) -> ScriptRuntimeError:
    if left is None or right is None:
        return null_pointer(f"cannot apply [{operator}] to a null value")
    return ScriptRuntimeError(f"Cannot apply [{operator}] operation to types [{java_type(left)}] and "
                              f"[{java_type(right)}].", cause_type="class_cast_exception")


def add(left: Any, right: Any) -> Any:
    if type(left) is str or type(right) is str:
        return to_java_string(left) + to_java_string(right)
    if is_number(left) and is_number(right):
        return left + right
    raise _operation_error("+", left, right)


def _numbers(operator: str, left: Any, right: Any) -> None:
    if not (is_number(left) and is_number(right)):
        raise _operation_error(operator, left, right)


def subtract(left: Any, right: Any) -> Any:
    _numbers("-", left, right)
    return left - right


def multiply(left: Any, right: Any) -> Any:
    _numbers("*", left, right)
    return left * right


def divide(left: Any, right: Any) -> Any:
    _numbers("/", left, right)
    if type(left) is int and type(right) is int:
        if right == 0:
            raise ScriptRuntimeError("/ by zero", cause_type="arithmetic_exception")
        quotient = abs(left) // abs(right)     # Java truncates toward zero
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if right == 0:
        if left == 0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def remainder(left: Any, right: Any) -> Any:
    _numbers("%", left, right)
    if type(left) is int and type(right) is int:
        if right == 0:
            raise ScriptRuntimeError("/ by zero", cause_type="arithmetic_exception")
        return left - right * divide(left, right)   # the sign of the dividend, as Java
    if right == 0 or math.isinf(left):
        return math.nan
    return math.fmod(left, right)


def _integers(operator: str, left: Any, right: Any) -> None:
    if type(left) is not int or type(right) is not int:
        raise _operation_error(operator, left, right)


def bitwise_and(left: Any, right: Any) -> Any:
    if type(left) is bool and type(right) is bool:
        return left and right
    _integers("&", left, right)
    return left & right


def bitwise_or(left: Any, right: Any) -> Any:
    if type(left) is bool and type(right) is bool:
        return left or right
    _integers("|", left, right)
    return left | right


def bitwise_xor(left: Any, right: Any) -> Any:
    if type(left) is bool and type(right) is bool:
        return left != right
    _integers("^", left, right)
    return left ^ right


def shift_left(left: Any, right: Any) -> Any:
    _integers("<<", left, right)
    return left << (right & 63)


def shift_right(left: Any, right: Any) -> Any:
    _integers(">>", left, right)
    return left >> (right & 63)


def unsigned_shift_right(left: Any, right: Any) -> Any:
    _integers(">>>", left, right)
    return (left % (1 << 64)) >> (right & 63)


def equal(left: Any, right: Any) -> bool:
    """Painless ``==`` on def values: numbers by value (1 == 1.0), everything else by equals()."""
    if (type(left) is bool) != (type(right) is bool):
        return False
    return left == right


def identical(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return type(left) is type(right) and left == right
    if type(left) is str and type(right) is str:
        return left == right     # interned constants compare equal in Painless too
    return left is right


def compare(operator: str, left: Any, right: Any) -> bool:
    if not (is_number(left) and is_number(right)):
        raise _operation_error(operator, left, right)
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _regex_operands(text: Any, pattern: Any) -> tuple[str, re.Pattern]:
    if text is None:
        raise null_pointer("cannot match a regex against a null value")
    if type(pattern) is not re.Pattern:
        raise class_cast(pattern, "java.util.regex.Pattern")
    if type(text) is not str:
        raise class_cast(text, "java.lang.CharSequence")
    return text, pattern


def regex_find(text: Any, pattern: Any) -> bool:
    """``text =~ /pattern/``: Matcher.find(), some part matches."""
    text, pattern = _regex_operands(text, pattern)
    return pattern.search(text) is not None


def regex_matches(text: Any, pattern: Any) -> bool:
    """``text ==~ /pattern/``: Matcher.matches(), the whole text matches."""
    text, pattern = _regex_operands(text, pattern)
    return pattern.fullmatch(text) is not None


def negate(value: Any) -> Any:
    if not is_number(value):
        raise _operation_error("-", value, 0) if value is None else ScriptRuntimeError(
            f"Cannot apply [-] operation to type [{java_type(value)}].", cause_type="class_cast_exception")
    return -value


def complement(value: Any) -> Any:
    if type(value) is not int:
        raise ScriptRuntimeError(f"Cannot apply [~] operation to type [{java_type(value)}].",
                                 cause_type="class_cast_exception")
    return ~value


BINARY_FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide, "%": remainder, "&": bitwise_and, "|": bitwise_or,
    "^": bitwise_xor, "<<": shift_left, ">>": shift_right, ">>>": unsigned_shift_right,
}

# ------------------------------------------------------------------ casts and instanceof

INTEGER_TYPES = frozenset({"int", "long", "short", "byte", "Integer", "Long", "Short", "Byte"})
LONG_MIN, LONG_MAX = -(2 ** 63), 2 ** 63 - 1
# Java's narrowing of a double saturates at the target type's bounds
INTEGER_BOUNDS = {"int": (-(2 ** 31), 2 ** 31 - 1), "Integer": (-(2 ** 31), 2 ** 31 - 1),
                  "short": (-(2 ** 15), 2 ** 15 - 1), "Short": (-(2 ** 15), 2 ** 15 - 1),
                  "byte": (-128, 127), "Byte": (-128, 127), "long": (LONG_MIN, LONG_MAX), "Long": (LONG_MIN, LONG_MAX)}
FLOAT_TYPES = frozenset({"double", "float", "Double", "Float"})


def cast(value: Any, type_name: str) -> Any:
    if type_name in ("def", "Object"):
        return value
    if type_name in INTEGER_TYPES:
        if type_name[0].islower() and value is None:
            raise null_pointer(f"cannot cast null to [{type_name}]")
        if value is None:
            return None
        if type(value) is int:
            return value
        if type(value) is float:
            low, high = INTEGER_BOUNDS[type_name]
            if math.isnan(value):
                return 0
            if math.isinf(value):
                return high if value > 0 else low
            return max(low, min(high, int(value)))
        if type(value) is str and len(value) == 1 and type_name == "int":
            return ord(value)   # (int) on a one-character String: its char code, as Painless's char cast
        raise class_cast(value, type_name)
    if type_name in FLOAT_TYPES:
        if value is None:
            if type_name[0].islower():
                raise null_pointer(f"cannot cast null to [{type_name}]")
            return None
        if is_number(value):
            return float(value)
        raise class_cast(value, type_name)
    if type_name in ("boolean", "Boolean"):
        if value is None and type_name == "Boolean":
            return None
        return require_boolean(value)
    if type_name in ("String", "CharSequence"):
        if value is None or type(value) is str:
            return value
        raise class_cast(value, "java.lang.String")
    if type_name in ("List", "ArrayList", "Collection", "Iterable", "Set", "HashSet"):
        if value is None or type(value) is list:
            return value
        raise class_cast(value, "java.util.List")
    if type_name in ("Map", "HashMap"):
        if value is None or type(value) is dict:
            return value
        raise class_cast(value, "java.util.Map")
    if type_name == "Number":
        if value is None or is_number(value):
            return value
        raise class_cast(value, "java.lang.Number")
    if type_name == "char":
        if type(value) is str and len(value) == 1:
            return value
        raise class_cast(value, "char")
    raise class_cast(value, type_name)


def instance_of(value: Any, type_name: str) -> bool:
    if value is None:
        return False
    if type_name in ("def", "Object"):
        return True
    if type_name in INTEGER_TYPES:
        return type(value) is int
    if type_name in FLOAT_TYPES:
        return type(value) is float
    if type_name == "Number":
        return is_number(value)
    if type_name in ("boolean", "Boolean"):
        return type(value) is bool
    if type_name in ("String", "CharSequence"):
        return type(value) is str
    if type_name in ("List", "ArrayList", "Collection", "Iterable"):
        return type(value) is list
    if type_name in ("Map", "HashMap"):
        return type(value) is dict
    return False


def declared_value(value: Any, type_name: str) -> Any:
    """A value stored into a local declared with ``type_name``: widening as Java assigns
    (``double d = 1`` holds 1.0), narrowing refused as Painless's compiler refuses it."""
    if type_name in ("def", "Object") or value is None and type_name[0].isupper():
        return value
    if type_name in FLOAT_TYPES and type(value) is int:
        return float(value)
    if type_name in INTEGER_TYPES and type(value) is float:
        raise ScriptRuntimeError(f"Cannot cast from [double] to [{type_name}].", cause_type="class_cast_exception")
    return cast(value, type_name)


# ------------------------------------------------------------------ doc values (search-time scripts)

class DocValues:
    """``doc['field']``: the field's values for one document, sorted as doc values are."""

    __slots__ = ("field_name", "values")

    def __init__(self, field_name: str, values: list[Any]) -> None:
        self.field_name = field_name
        self.values = values

    @property
    def value(self) -> Any:
        if not self.values:
            raise ScriptRuntimeError("A document doesn't have a value for a field! Use doc[<field>].size()==0 to "
                                     "check if a document is missing a field!", cause_type="illegal_state_exception")
        return self.values[0]


class DocFields:
    """``doc``: field name → DocValues, through a lookup the caller gives (None = not mapped)."""

    __slots__ = ("lookup",)

    def __init__(self, lookup: Callable[[str], list[Any] | None]) -> None:
        self.lookup = lookup

    def get(self, field_name: Any) -> DocValues:
        values = self.lookup(field_name) if type(field_name) is str else None
        if values is None:
            raise ScriptRuntimeError(f"No field found for [{field_name}] in mapping",
                                     cause_type="illegal_argument_exception")
        return DocValues(field_name, values)


class ReadOnlyMap(dict):
    """``params``: a map scripts read but cannot change (OpenSearch hands scripts an unmodifiable
    map; a write is an unsupported_operation_exception). Only the top level is read-only, as Java's."""

    __slots__ = ()


_JAVA_NAMES[ReadOnlyMap] = "java.util.Collections$UnmodifiableMap"


def _unsupported(*arguments: Any) -> Any:
    raise ScriptRuntimeError("params are read-only: a script cannot change them",
                             cause_type="unsupported_operation_exception")


class MapEntry:
    """One ``Map.entrySet()`` element: ``getKey()``/``getValue()`` (or ``.key``/``.value``);
    ``setValue`` writes through to the map."""

    __slots__ = ("mapping", "key")

    def __init__(self, mapping: dict, key: Any) -> None:
        self.mapping = mapping
        self.key = key

    @property
    def value(self) -> Any:
        return self.mapping.get(self.key)


_JAVA_NAMES[MapEntry] = "java.util.HashMap$Node"


def _set_entry_value(entry: MapEntry, value: Any) -> Any:
    if type(entry.mapping) is ReadOnlyMap:
        _unsupported()
    previous = entry.mapping.get(entry.key)
    entry.mapping[entry.key] = value
    return previous


MAP_ENTRY_METHODS: dict[str, Callable[..., Any]] = {
    "getKey": lambda entry: entry.key,
    "getValue": lambda entry: entry.value,
    "setValue": _set_entry_value,
    "toString": lambda entry: f"{to_java_string(entry.key)}={to_java_string(entry.value)}",
}


class StaticClass:
    __slots__ = ("name", "fields", "methods")

    def __init__(self, name: str, fields: dict[str, Any], methods: dict[str, Callable[..., Any]]) -> None:
        self.name = name
        self.fields = fields
        self.methods = methods


# ------------------------------------------------------------------ methods, by receiver type

def _index(values: list, position: Any) -> int:
    if type(position) is not int:
        raise class_cast(position, "java.lang.Integer")
    if position < 0 or position >= len(values):
        raise ScriptRuntimeError(f"Index {position} out of bounds for length {len(values)}",
                                 cause_type="index_out_of_bounds_exception")
    return position


def list_get(values: list, position: Any) -> Any:
    # brace access on a list takes a negative index from the end, as Painless does
    if type(position) is int and position < 0:
        position += len(values)
    return values[_index(values, position)]


def list_set(values: list, position: Any, value: Any) -> Any:
    if type(position) is int and position < 0:
        position += len(values)
    values[_index(values, position)] = value
    return value


def _list_remove(values: list, item: Any) -> Any:
    if type(item) is int:   # List.remove(int): by position, as Java picks the int overload
        return values.pop(_index(values, item))
    for position, candidate in enumerate(values):
        if equal(candidate, item):
            del values[position]
            return True
    return False


def _contains(values: Any, item: Any) -> bool:
    return any(equal(candidate, item) for candidate in values)


def _index_of(values: list, item: Any) -> int:
    for position, candidate in enumerate(values):
        if equal(candidate, item):
            return position
    return -1


def _list_add(values: list, *arguments: Any) -> Any:
    if len(arguments) == 1:
        values.append(arguments[0])
        return True
    position, item = arguments
    if type(position) is not int or not 0 <= position <= len(values):
        raise ScriptRuntimeError(f"Index: {position}, Size: {len(values)}", cause_type="index_out_of_bounds_exception")
    values.insert(position, item)
    return None


def _add_all(values: list, items: Any) -> bool:
    if type(items) is not list:
        raise class_cast(items, "java.util.Collection")
    values.extend(items)
    return bool(items)


def _remove_if(values: list, predicate: Any) -> bool:
    kept = [item for item in values if not require_boolean(_call(predicate, item))]
    removed = len(kept) != len(values)
    values[:] = kept
    return removed


def _sort_key(item: Any) -> Any:
    if is_number(item) or type(item) is str:
        return item
    raise class_cast(item, "java.lang.Comparable")


def _list_sort(values: list, comparator: Any = None) -> None:
    import functools
    if comparator is None:
        values.sort(key=_sort_key)
    else:
        values.sort(key=functools.cmp_to_key(lambda a, b: _require_int(_call(comparator, a, b))))


def _require_int(value: Any) -> int:
    if type(value) is not int:
        raise class_cast(value, "java.lang.Integer")
    return value


def _call(function: Any, *arguments: Any) -> Any:
    if not callable(function):
        raise class_cast(function, "a functional interface")
    return function(*arguments)


def _for_each(values: Any, consumer: Any) -> None:
    if type(values) is dict:
        for key, item in list(values.items()):
            _call(consumer, key, item)
        return
    for item in list(values):
        _call(consumer, item)


def _join(delimiter: Any, values: Any) -> str:
    return to_java_string(delimiter).join(to_java_string(item) for item in values)


def _compare_to(left: Any, right: Any) -> int:
    if right is None:
        raise null_pointer("compareTo(null)")
    if (type(left) is str) != (type(right) is str):
        raise class_cast(right, java_type(left))
    return (left > right) - (left < right) if type(left) is not str else _string_compare(left, right)


def _string_compare(left: str, right: str) -> int:
    for a, b in zip(left, right):
        if a != b:
            return ord(a) - ord(b)
    return len(left) - len(right)


def _substring(text: str, start: Any, end: Any = None) -> str:
    end = len(text) if end is None else end
    if type(start) is not int or type(end) is not int or start < 0 or end > len(text) or start > end:
        raise ScriptRuntimeError(f"begin {start}, end {end}, length {len(text)}",
                                 cause_type="string_index_out_of_bounds_exception")
    return text[start:end]


def _split(text: str, pattern: Any, limit: int = 0) -> list[str]:
    # String.split is a regex split that drops trailing empty strings (limit 0), as Java's; no match
    # at all answers the whole string
    expression = re.compile(_java_regex(pattern))
    if expression.search(text) is None:
        return [text]
    parts = expression.split(text, maxsplit=max(0, limit - 1)) if limit > 0 else expression.split(text)
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _split_on_token(text: str, token: Any, limit: Any = 0) -> list[str]:
    """Painless's String.splitOnToken: a literal (not regex) split that keeps empty strings;
    ``limit`` > 0 caps the number of parts."""
    if type(token) is not str or token == "":
        raise ScriptRuntimeError("token must not be null or empty", cause_type="illegal_argument_exception")
    if type(limit) is not int:
        raise class_cast(limit, "int")
    return text.split(token, limit - 1) if limit > 0 else text.split(token)


def _java_regex(pattern: Any) -> str:
    if type(pattern) is not str:
        raise class_cast(pattern, "java.lang.String")
    return pattern


def _char_at(text: str, position: Any) -> str:
    if type(position) is not int or not 0 <= position < len(text):
        raise ScriptRuntimeError(f"index {position}, length {len(text)}",
                                 cause_type="string_index_out_of_bounds_exception")
    return text[position]


def _replace(text: str, target: Any, replacement: Any) -> str:
    if target is None or replacement is None:
        raise null_pointer("replace(null)")
    return text.replace(to_java_string(target), to_java_string(replacement))


def _string_index_of(text: str, needle: Any, start: int = 0) -> int:
    return text.find(to_java_string(needle), start)


def _map_remove(values: dict, key: Any) -> Any:
    return values.pop(key, None)


def _map_put(values: dict, key: Any, value: Any) -> Any:
    previous = values.get(key)
    values[key] = value
    return previous


def _map_put_all(values: dict, other: Any) -> None:
    if type(other) is not dict:
        raise class_cast(other, "java.util.Map")
    values.update(other)


def _map_remove_if_entries(values: dict, predicate: Any) -> bool:
    raise ScriptRuntimeError("removeIf on a map is not supported", cause_type="illegal_argument_exception")


MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda values, key: values.get(key),
    "getOrDefault": lambda values, key, default: values.get(key, default) if key in values else default,
    "put": _map_put,
    "putAll": _map_put_all,
    "putIfAbsent": lambda values, key, value: values.setdefault(key, value) if key not in values else values[key],
    "remove": _map_remove,
    "containsKey": lambda values, key: key in values,
    "containsValue": lambda values, item: _contains(values.values(), item),
    "size": len,
    "isEmpty": lambda values: not values,
    "keySet": lambda values: list(values.keys()),
    "entrySet": lambda values: [MapEntry(values, key) for key in values],
    "values": lambda values: list(values.values()),
    "clear": lambda values: values.clear(),
    "forEach": _for_each,
    "equals": equal,
    "toString": to_java_string,
}

LIST_METHODS: dict[str, Callable[..., Any]] = {
    "add": _list_add,
    "addAll": _add_all,
    "get": lambda values, position: values[_index(values, position)],
    "set": lambda values, position, item: _list_set_returning_previous(values, position, item),
    "remove": _list_remove,
    "removeIf": _remove_if,
    "contains": _contains,
    "indexOf": _index_of,
    "lastIndexOf": lambda values, item: next((len(values) - 1 - position for position, candidate in
                                              enumerate(reversed(values)) if equal(candidate, item)), -1),
    "size": len,
    "isEmpty": lambda values: not values,
    "clear": lambda values: values.clear(),
    "sort": _list_sort,
    "forEach": _for_each,
    "equals": equal,
    "toString": to_java_string,
    "subList": lambda values, start, end: values[start:end],
}


def _list_set_returning_previous(values: list, position: Any, item: Any) -> Any:
    previous = values[_index(values, position)]
    values[position] = item
    return previous


STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda text: not text,
    "substring": _substring,
    "contains": lambda text, needle: to_java_string(needle) in text if needle is not None else _raise_null("contains"),
    "startsWith": lambda text, prefix: text.startswith(to_java_string(prefix)),
    "endsWith": lambda text, suffix: text.endswith(to_java_string(suffix)),
    "toLowerCase": lambda text: text.lower(),
    "toUpperCase": lambda text: text.upper(),
    "trim": lambda text: text.strip(" \t\n\r\x0b\x0c\x00"),
    "indexOf": _string_index_of,
    "lastIndexOf": lambda text, needle: text.rfind(to_java_string(needle)),
    "replace": _replace,
    "split": _split,
    "charAt": _char_at,
    "equals": equal,
    "equalsIgnoreCase": lambda text, other: type(other) is str and text.lower() == other.lower(),
    "compareTo": _compare_to,
    "concat": lambda text, other: text + to_java_string(other),
    "toString": lambda text: text,
    "hashCode": lambda text: _java_string_hash(text),
    "splitOnToken": lambda text, token, limit=0: _split_on_token(text, token, limit),
    "sha1": lambda text: hashlib.sha1(text.encode("utf-8")).hexdigest(),
    "sha256": lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest(),
}


def _raise_null(method: str) -> Any:
    raise null_pointer(f"{method}(null)")


def _java_string_hash(text: str) -> int:
    value = 0
    for character in text:
        value = (31 * value + ord(character)) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


NUMBER_METHODS: dict[str, Callable[..., Any]] = {
    "intValue": lambda number: cast(number, "int"),
    "longValue": lambda number: cast(number, "long"),
    "doubleValue": float,
    "floatValue": float,
    "compareTo": _compare_to,
    "equals": lambda number, other: type(number) is type(other) and number == other,
    "toString": to_java_string,
}

DOC_VALUES_METHODS: dict[str, Callable[..., Any]] = {
    "size": lambda doc_values: len(doc_values.values),
    "isEmpty": lambda doc_values: not doc_values.values,
    "getValue": lambda doc_values: doc_values.value,
    "get": lambda doc_values, position: doc_values.values[_index(doc_values.values, position)],
    "contains": lambda doc_values, item: _contains(doc_values.values, item),
}

DOC_FIELDS_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda doc, name: doc.get(name),
    "containsKey": lambda doc, name: doc.lookup(name) is not None if type(name) is str else False,
}


def _math_round(value: Any) -> int:
    if not is_number(value):
        raise class_cast(value, "double")
    if type(value) is float and (math.isnan(value) or math.isinf(value)):
        return 0 if math.isnan(value) else (LONG_MAX if value > 0 else LONG_MIN)
    return max(LONG_MIN, min(LONG_MAX, math.floor(value + 0.5)))


def _numeric(function: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*arguments: Any) -> Any:
        for argument in arguments:
            if not is_number(argument):
                raise class_cast(argument, "double") if argument is not None else null_pointer("a null number")
        return function(*arguments)
    return checked


def _java_max(left: Any, right: Any) -> Any:
    return left if left >= right else right


def _java_min(left: Any, right: Any) -> Any:
    return left if left <= right else right


def _safe_log(function: Callable[[float], float]) -> Callable[[Any], float]:
    def apply(value: float) -> float:
        if value == 0:
            return -math.inf
        if value < 0 or math.isnan(value):
            return math.nan
        return function(value)
    return apply


def _sqrt(value: float) -> float:
    return math.nan if value < 0 else math.sqrt(value)


def _pow(base: float, exponent: float) -> float:
    try:
        return float(math.pow(base, exponent))
    except (OverflowError, ValueError):
        return math.inf if base > 0 else math.nan


def _parse_integer(text: Any) -> int:
    if type(text) is not str or not re.fullmatch(r"[+-]?\d+", text):
        raise ScriptRuntimeError(f"For input string: \"{text}\"", cause_type="number_format_exception")
    return int(text)


def _parse_double(text: Any) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise ScriptRuntimeError(f"For input string: \"{text}\"", cause_type="number_format_exception") from None


_BYTE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4, "pb": 1024 ** 5}


def _processor_bytes(value: Any) -> int:
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*", value) if type(value) is str else None
    unit = (match.group(2) or "").lower() if match else ""
    if match is None or (unit and unit not in _BYTE_UNITS) or (not unit and match.group(1) not in ("0", "-1")):
        raise ScriptRuntimeError(f"failed to parse setting [Ingest Field] with value [{value}] as a size in bytes: "
                                 f"unit is missing or unrecognized", cause_type="illegal_argument_exception")
    return int(float(match.group(1)) * _BYTE_UNITS.get(unit, 1))


def _processor_json(first: Any, field_name: Any = None) -> Any:
    """Processors.json(text) parses; Processors.json(ctx, field) parses ctx[field] into ctx's root."""
    text = first if field_name is None else (first.get(field_name) if type(first) is dict else None)
    if type(text) is not str:
        raise class_cast(text, "java.lang.String")
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ScriptRuntimeError(f"cannot parse json [{text}]: {error}", cause_type="illegal_argument_exception") \
            from None
    if field_name is None:
        return value
    if type(value) is not dict:
        raise ScriptRuntimeError(f"cannot add non-map fields to root of document", cause_type="illegal_argument_exception")
    first.update(value)
    return None


def _string_argument(function: Callable[[str], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if type(value) is not str:
            raise class_cast(value, "java.lang.String") if value is not None else null_pointer("a null string")
        return function(value)
    return apply


STATIC_CLASSES: dict[str, StaticClass] = {
    # the ingest processors' functions scripts may call (OpenSearch's ingest Processors class)
    "Processors": StaticClass("Processors", {}, {
        "bytes": _processor_bytes, "lowercase": _string_argument(str.lower), "uppercase": _string_argument(str.upper),
        "json": _processor_json, "urlDecode": _string_argument(urllib.parse.unquote_plus),
    }),
    "Math": StaticClass("Math", {"PI": math.pi, "E": math.e}, {
        "abs": _numeric(abs), "max": _numeric(_java_max), "min": _numeric(_java_min),
        "pow": _numeric(_pow), "sqrt": _numeric(_sqrt), "cbrt": _numeric(lambda value: math.copysign(
            abs(value) ** (1.0 / 3.0), value)),
        "floor": _numeric(lambda value: float(math.floor(value))), "ceil": _numeric(lambda value: float(math.ceil(value))),
        "round": _numeric(_math_round), "rint": _numeric(lambda value: float(round(value))),
        "log": _numeric(_safe_log(math.log)), "log10": _numeric(_safe_log(math.log10)), "exp": _numeric(math.exp),
        "signum": _numeric(lambda value: float((value > 0) - (value < 0))),
        "sin": _numeric(math.sin), "cos": _numeric(math.cos), "tan": _numeric(math.tan),
        "asin": _numeric(math.asin), "acos": _numeric(math.acos), "atan": _numeric(math.atan),
        "atan2": _numeric(math.atan2), "hypot": _numeric(math.hypot),
        "toRadians": _numeric(math.radians), "toDegrees": _numeric(math.degrees),
    }),
    "Integer": StaticClass("Integer", {"MAX_VALUE": 2 ** 31 - 1, "MIN_VALUE": -(2 ** 31)}, {
        "parseInt": _parse_integer, "valueOf": lambda value: _parse_integer(value) if type(value) is str else
        cast(value, "int"), "toString": to_java_string,
    }),
    "Long": StaticClass("Long", {"MAX_VALUE": 2 ** 63 - 1, "MIN_VALUE": -(2 ** 63)}, {
        "parseLong": _parse_integer, "valueOf": lambda value: _parse_integer(value) if type(value) is str else
        cast(value, "long"), "toString": to_java_string,
    }),
    "Double": StaticClass("Double", {"MAX_VALUE": 1.7976931348623157e308, "MIN_VALUE": 5e-324,
                                     "NaN": math.nan, "POSITIVE_INFINITY": math.inf,
                                     "NEGATIVE_INFINITY": -math.inf}, {
        "parseDouble": _parse_double, "valueOf": lambda value: _parse_double(value) if type(value) is str else
        cast(value, "double"), "isNaN": lambda value: type(value) is float and math.isnan(value),
        "toString": to_java_string,
    }),
    "Float": StaticClass("Float", {}, {"parseFloat": _parse_double}),
    "Boolean": StaticClass("Boolean", {"TRUE": True, "FALSE": False}, {
        "parseBoolean": lambda text: type(text) is str and text.lower() == "true", "toString": to_java_string,
    }),
    "String": StaticClass("String", {}, {
        "valueOf": to_java_string, "join": _join,
    }),
}

ALL_METHOD_NAMES = frozenset(MAP_METHODS) | frozenset(LIST_METHODS) | frozenset(STRING_METHODS) | \
    frozenset(NUMBER_METHODS) | frozenset(DOC_VALUES_METHODS) | frozenset(DOC_FIELDS_METHODS) | \
    frozenset(MAP_ENTRY_METHODS)

NEW_OBJECT_TYPES = {"ArrayList": list, "HashMap": dict, "LinkedHashMap": dict, "HashSet": list, "TreeMap": dict}


READ_ONLY_MAP_METHODS: dict[str, Callable[..., Any]] = {
    **MAP_METHODS, **{name: _unsupported for name in ("put", "putAll", "putIfAbsent", "remove", "clear")},
}


def receiver_methods(target: Any) -> dict[str, Callable[..., Any]] | None:
    kind = type(target)
    if kind is dict:
        return MAP_METHODS
    if kind is ReadOnlyMap:
        return READ_ONLY_MAP_METHODS
    if kind is list:
        return LIST_METHODS
    if kind is str:
        return STRING_METHODS
    if kind is int or kind is float:
        return NUMBER_METHODS
    if kind is DocValues:
        return DOC_VALUES_METHODS
    if kind is DocFields:
        return DOC_FIELDS_METHODS
    if kind is MapEntry:
        return MAP_ENTRY_METHODS
    if kind is StaticClass:
        return target.methods
    return None


def call_method(target: Any, method: str, arguments: list[Any]) -> Any:
    methods = receiver_methods(target)
    if target is None:
        raise null_pointer(f"cannot invoke method [{method}] on a null value")
    function = methods.get(method) if methods is not None else None
    if function is None:
        receiver = target.name if type(target) is StaticClass else java_type(target)
        raise ScriptRuntimeError(f"dynamic method [{receiver}, {method}/{len(arguments)}] not found",
                                 cause_type="illegal_argument_exception")
    receiver = target.name if type(target) is StaticClass else java_type(target)
    try:
        if type(target) is StaticClass:
            return function(*arguments)
        return function(target, *arguments)
    except TypeError as error:
        if "positional argument" in str(error) or "takes" in str(error):
            raise ScriptRuntimeError(f"dynamic method [{receiver}, {method}/{len(arguments)}] not found",
                                     cause_type="illegal_argument_exception") from None
        # a library method given values of the wrong type (sorting a mixed list, joining a number…)
        raise ScriptRuntimeError(f"[{receiver}.{method}] cannot take these arguments: {error}",
                                 cause_type="class_cast_exception") from None
    except (ValueError, re.error) as error:
        raise ScriptRuntimeError(f"[{receiver}.{method}] {error}", cause_type="illegal_argument_exception") from None
    except OverflowError as error:
        raise ScriptRuntimeError(f"[{receiver}.{method}] {error}", cause_type="arithmetic_exception") from None


def read_field(target: Any, name: str) -> Any:
    kind = type(target)
    if kind is dict or kind is ReadOnlyMap:
        return target.get(name)
    if target is None:
        raise null_pointer(f"cannot access field [{name}] of a null value")
    if kind is DocValues:
        if name == "value":
            return target.value
        if name == "values":
            return list(target.values)
        if name in ("empty", "isEmpty"):
            return not target.values
        if name == "length":
            return len(target.values)
    elif kind is DocFields:
        return target.get(name)
    elif kind is MapEntry:
        if name == "key":
            return target.key
        if name == "value":
            return target.value
    elif kind is StaticClass:
        if name in target.fields:
            return target.fields[name]
    elif kind is list:
        if name.isdigit():
            return list_get(target, int(name))
        if name == "empty":
            return not target
        if name == "length":
            # split/splitOnToken answer String[] in Painless, read with .length: lists stand in for arrays
            return len(target)
    elif kind is str and name == "empty":
        return not target
    raise ScriptRuntimeError(f"Unable to find dynamic field [{name}] for class [{java_type(target)}]",
                             cause_type="illegal_argument_exception")


def write_field(target: Any, name: str, value: Any) -> None:
    kind = type(target)
    if kind is dict:
        target[name] = value
        return
    if kind is ReadOnlyMap:
        _unsupported()
    if target is None:
        raise null_pointer(f"cannot assign field [{name}] of a null value")
    if kind is list and name.isdigit():
        list_set(target, int(name), value)
        return
    raise ScriptRuntimeError(f"Unable to find dynamic field [{name}] for class [{java_type(target)}]",
                             cause_type="illegal_argument_exception")


def read_index(target: Any, key: Any) -> Any:
    kind = type(target)
    if kind is dict or kind is ReadOnlyMap:
        return target.get(key)
    if kind is list:
        return list_get(target, key)
    if kind is DocFields:
        return target.get(key)
    if kind is DocValues:
        return target.values[_index(target.values, key)]
    if target is None:
        raise null_pointer("cannot read an element of a null value")
    raise ScriptRuntimeError(f"Attempting to address a non-array-like type [{java_type(target)}] as an array.",
                             cause_type="illegal_argument_exception")


def write_index(target: Any, key: Any, value: Any) -> None:
    kind = type(target)
    if kind is dict:
        target[key] = value
        return
    if kind is ReadOnlyMap:
        _unsupported()
    if kind is list:
        list_set(target, key, value)
        return
    if target is None:
        raise null_pointer("cannot store an element into a null value")
    raise ScriptRuntimeError(f"Attempting to address a non-array-like type [{java_type(target)}] as an array.",
                             cause_type="illegal_argument_exception")


def iterate(value: Any) -> list[Any]:
    kind = type(value)
    if kind is list:
        return list(value)          # a copy: Java would throw ConcurrentModificationException instead
    if kind is dict or kind is ReadOnlyMap:
        return list(value.keys())
    if kind is DocValues:
        return list(value.values)
    if value is None:
        raise null_pointer("cannot iterate over a null value")
    raise ScriptRuntimeError(f"Cannot iterate over [{java_type(value)}]", cause_type="illegal_argument_exception")
