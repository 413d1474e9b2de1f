"""UDF definitions as plain data: the registration body, the stored definition, query params.

Owns: parsing and validating the JSON body of ``PUT /_udf/{name}`` (shape, name, size cap,
declared inputs), ``UdfDefinition`` (what node/ stores in the cluster state, with the module
as base64) and its JSON round trip, and mapping a query's named ``params`` onto the ABI's
f64 array in declaration order.

Must never: import wasmtime (compiling WAT and checking the module against the ABI is
udf/runtime.py's job), index/, raft/, node/ or trio. Everything here is pure and deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from udf.abi import ABI_VERSION, KINDS
from udf.errors import UdfDefinitionError, UdfInvocationError, UdfModuleTooLargeError

DEFAULT_MAX_MODULE_BYTES = 1 << 20
# WAT is text: the same module is several times larger than its binary. The binary compiled
# from it is held to the real cap; this only stops us compiling megabytes of text.
WAT_TEXT_SIZE_FACTOR = 4
MAX_DECLARED_FIELDS = 64
MAX_DECLARED_PARAMS = 64
MAX_NAME_LENGTH = 255
MAX_FIELD_NAME_LENGTH = 512
MAX_DESCRIPTION_LENGTH = 4096

_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_PARAM_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGISTRATION_KEYS = frozenset({"wasm", "wat", "description", "kind", "inputs"})
_INPUT_KEYS = frozenset({"fields", "params"})
_PARAM_KEYS = frozenset({"name", "default"})


@dataclass(frozen=True, slots=True)
class UdfParam:
    """A declared parameter; its index in the ABI's params array is its declaration order."""

    name: str
    default: float | None = None


@dataclass(frozen=True, slots=True)
class UdfInputs:
    """What a UDF reads: doc-value fields (F columns) and named params (P f64s), in order."""

    fields: tuple[str, ...] = ()
    params: tuple[UdfParam, ...] = ()

    def param_names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)

    def to_json(self) -> list[dict[str, Any]]:
        """A flat list, so it fits raft's ``UdfMetadata.inputs`` tuple unchanged."""
        entries: list[dict[str, Any]] = [{"field": field_name} for field_name in self.fields]
        for param in self.params:
            entry: dict[str, Any] = {"param": param.name}
            if param.default is not None:
                entry["default"] = param.default
            entries.append(entry)
        return entries

    @classmethod
    def from_json(cls, inputs_json: Any) -> UdfInputs:
        """Accepts the stored list form and the registration form ``{"fields", "params"}``."""
        if inputs_json is None:
            return cls()
        if isinstance(inputs_json, dict):
            return _parse_registration_inputs(inputs_json)
        if not isinstance(inputs_json, (list, tuple)):
            raise UdfDefinitionError(
                f"[inputs] must be an object or a list, got {type(inputs_json).__name__}"
            )
        field_names: list[str] = []
        params: list[Any] = []
        for position, entry in enumerate(inputs_json):
            if isinstance(entry, dict) and set(entry) == {"field"}:
                field_names.append(entry["field"])
            elif isinstance(entry, dict) and "param" in entry and set(entry) <= {"param", "default"}:
                params.append({"name": entry["param"], **({"default": entry["default"]} if "default" in entry else {})})
            else:
                raise UdfDefinitionError(
                    f"[inputs][{position}] must be {{\"field\": name}} or "
                    f"{{\"param\": name, \"default\"?: number}}, got {entry!r}"
                )
        return _parse_registration_inputs({"fields": field_names, "params": params})


@dataclass(frozen=True, slots=True)
class UdfRegistration:
    """A validated ``PUT /_udf/{name}`` body; exactly one of wasm_bytes / wat_text is set."""

    name: str
    description: str
    kinds: tuple[str, ...]          # empty: whatever the module exports
    inputs: UdfInputs
    wasm_bytes: bytes | None
    wat_text: str | None
    max_module_bytes: int


@dataclass(frozen=True, slots=True)
class UdfDefinition:
    """A registered UDF: what node/ stores in the cluster state and hands to the runtime.

    ``kinds`` lists what the module provides ("filter", "score"); it is filled at registration
    by the runtime from the module's exports. A definition read from JSON without "kind" has
    ``kinds == ()``: the runtime then takes the kinds from the compiled module's exports.
    """

    name: str
    module_bytes: bytes
    sha256: str
    description: str = ""
    kinds: tuple[str, ...] = ()
    inputs: UdfInputs = UdfInputs()
    abi_version: int = ABI_VERSION

    @classmethod
    def create(cls, name: str, module_bytes: bytes, description: str = "",
               kinds: tuple[str, ...] = (), inputs: UdfInputs = UdfInputs(),
               abi_version: int = ABI_VERSION) -> UdfDefinition:
        return cls(name=name, module_bytes=bytes(module_bytes),
                   sha256=hashlib.sha256(module_bytes).hexdigest(), description=description,
                   kinds=tuple(kinds), inputs=inputs, abi_version=abi_version)

    def to_json(self) -> dict[str, Any]:
        """Keys match raft's ``UdfMetadata`` (name, wasm_base64, sha256, description, inputs,
        abi_version) plus "kind"."""
        return {
            "name": self.name,
            "wasm_base64": base64.b64encode(self.module_bytes).decode("ascii"),
            "sha256": self.sha256,
            "description": self.description,
            "kind": list(self.kinds),
            "inputs": self.inputs.to_json(),
            "abi_version": self.abi_version,
        }

    def to_api_json(self, include_module: bool = False) -> dict[str, Any]:
        """The body of ``GET /_udf/{name}``: the registration's shape, the module as base64
        only when asked (it can be a megabyte)."""
        body: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "kind": list(self.kinds),
            "inputs": {
                "fields": list(self.inputs.fields),
                "params": [
                    {"name": param.name, **({} if param.default is None else {"default": param.default})}
                    for param in self.inputs.params
                ],
            },
            "sha256": self.sha256,
            "module_size_in_bytes": len(self.module_bytes),
            "abi_version": self.abi_version,
        }
        if include_module:
            body["wasm"] = base64.b64encode(self.module_bytes).decode("ascii")
        return body

    @classmethod
    def from_json(cls, definition_json: Mapping[str, Any],
                  max_module_bytes: int | None = None) -> UdfDefinition:
        """Rebuild a stored definition; checks the sha256 so a corrupted copy is refused."""
        if not isinstance(definition_json, Mapping):
            raise UdfDefinitionError(
                f"a udf definition must be an object, got {type(definition_json).__name__}"
            )
        name = definition_json.get("name")
        validate_udf_name(name)
        encoded = definition_json.get("wasm_base64")
        if not isinstance(encoded, str):
            raise UdfDefinitionError("[wasm_base64] must be a base64 string", function_name=name)
        module_bytes = _decode_base64(encoded, "wasm_base64", name, max_module_bytes)
        expected_sha256 = definition_json.get("sha256")
        actual_sha256 = hashlib.sha256(module_bytes).hexdigest()
        if expected_sha256 != actual_sha256:
            raise UdfDefinitionError(
                f"[sha256] does not match the module: expected {expected_sha256!r}, "
                f"the module hashes to {actual_sha256!r}",
                function_name=name,
            )
        abi_version = definition_json.get("abi_version", ABI_VERSION)
        if not isinstance(abi_version, int) or isinstance(abi_version, bool):
            raise UdfDefinitionError(
                f"[abi_version] must be an integer, got {abi_version!r}", function_name=name
            )
        return cls(
            name=name, module_bytes=module_bytes, sha256=actual_sha256,
            description=_parse_description(definition_json.get("description"), name),
            kinds=_parse_kinds(definition_json.get("kind"), name),
            inputs=_with_name(name, UdfInputs.from_json, definition_json.get("inputs")),
            abi_version=abi_version,
        )


def validate_udf_name(name: Any) -> str:
    """A UDF name: 1–255 of [A-Za-z0-9_.-], starting with a letter or digit."""
    if not isinstance(name, str):
        raise UdfDefinitionError(f"udf name must be a string, got {type(name).__name__}")
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not _NAME_PATTERN.fullmatch(name):
        raise UdfDefinitionError(
            f"udf name must be 1 to {MAX_NAME_LENGTH} characters of [A-Za-z0-9_.-] starting "
            f"with a letter or digit, got {name!r}"
        )
    return name


def parse_registration_body(name: str, body: Any,
                            max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES) -> UdfRegistration:
    """Validate the JSON body of ``PUT /_udf/{name}``.

    ``{"wasm": base64} | {"wat": text}``, optional ``"description"``, optional ``"kind"``
    ("filter", "score" or a list of them), optional ``"inputs": {"fields": [...],
    "params": [name | {"name", "default"}]}``. Raises UdfDefinitionError (or
    UdfModuleTooLargeError) naming the key.
    """
    validate_udf_name(name)
    if not isinstance(body, dict):
        raise UdfDefinitionError(
            f"the request body must be a json object, got {type(body).__name__}", function_name=name
        )
    unknown_keys = sorted(set(body) - _REGISTRATION_KEYS)
    if unknown_keys:
        raise UdfDefinitionError(
            f"unknown key [{unknown_keys[0]}]; expected some of {sorted(_REGISTRATION_KEYS)}",
            function_name=name,
        )
    has_wasm = "wasm" in body
    has_wat = "wat" in body
    if has_wasm == has_wat:
        raise UdfDefinitionError(
            "exactly one of [wasm] (base64 module bytes) or [wat] (module text) is required, got "
            + ("both" if has_wasm else "neither"),
            function_name=name,
        )
    wasm_bytes: bytes | None = None
    wat_text: str | None = None
    if has_wasm:
        if not isinstance(body["wasm"], str):
            raise UdfDefinitionError(
                f"[wasm] must be a base64 string, got {type(body['wasm']).__name__}", function_name=name
            )
        wasm_bytes = _decode_base64(body["wasm"], "wasm", name, max_module_bytes)
        if not wasm_bytes:
            raise UdfDefinitionError("[wasm] is empty", function_name=name)
    else:
        if not isinstance(body["wat"], str):
            raise UdfDefinitionError(
                f"[wat] must be a string, got {type(body['wat']).__name__}", function_name=name
            )
        wat_text = body["wat"]
        text_cap = max_module_bytes * WAT_TEXT_SIZE_FACTOR
        text_bytes = len(wat_text.encode("utf-8"))
        if text_bytes > text_cap:
            raise UdfModuleTooLargeError(
                f"[wat] is {text_bytes} bytes, over the limit of {text_cap} bytes "
                f"({WAT_TEXT_SIZE_FACTOR} x the module size cap of {max_module_bytes})",
                function_name=name, size_bytes=text_bytes, limit_bytes=text_cap,
            )
        if not wat_text.strip():
            raise UdfDefinitionError("[wat] is empty", function_name=name)
    inputs = body.get("inputs")
    if inputs is not None and not isinstance(inputs, dict):
        raise UdfDefinitionError(
            f"[inputs] must be an object with [fields] and [params], got {type(inputs).__name__}",
            function_name=name,
        )
    return UdfRegistration(
        name=name,
        description=_parse_description(body.get("description"), name),
        kinds=_parse_kinds(body.get("kind"), name),
        inputs=_with_name(name, UdfInputs.from_json, inputs),
        wasm_bytes=wasm_bytes,
        wat_text=wat_text,
        max_module_bytes=max_module_bytes,
    )


def check_module_size(name: str, module_bytes: bytes, max_module_bytes: int) -> None:
    """The binary module against the cap (also used after compiling WAT)."""
    if len(module_bytes) > max_module_bytes:
        raise UdfModuleTooLargeError(
            f"the module is {len(module_bytes)} bytes, over the limit of {max_module_bytes} bytes",
            function_name=name, size_bytes=len(module_bytes), limit_bytes=max_module_bytes,
        )


def resolve_params(definition: UdfDefinition, params_json: Mapping[str, Any] | None) -> np.ndarray:
    """A query's named params → float64 array in declaration order (defaults filled in).

    UdfInvocationError for an unknown name, a missing param without default, or a value that
    is not a finite number (booleans are refused: true is not a number).
    """
    params_json = params_json or {}
    if not isinstance(params_json, Mapping):
        raise UdfInvocationError(
            f"[params] must be an object, got {type(params_json).__name__}",
            function_name=definition.name,
        )
    declared = definition.inputs.params
    declared_names = {param.name for param in declared}
    unknown = sorted(set(params_json) - declared_names)
    if unknown:
        raise UdfInvocationError(
            f"unknown param [{unknown[0]}]; declared params are {sorted(declared_names)}",
            function_name=definition.name,
        )
    values = np.empty(len(declared), dtype=np.float64)
    for position, param in enumerate(declared):
        if param.name in params_json:
            value = params_json[param.name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UdfInvocationError(
                    f"param [{param.name}] must be a finite number, got {value!r}",
                    function_name=definition.name,
                )
            values[position] = float(value)
        elif param.default is not None:
            values[position] = param.default
        else:
            raise UdfInvocationError(
                f"param [{param.name}] is required (it has no default)", function_name=definition.name
            )
    return values


# ---- helpers -------------------------------------------------------------------------------


def _with_name(name: str, parse, value):
    """Run a parser and stamp the UDF's name onto the error it raises."""
    try:
        return parse(value)
    except UdfDefinitionError as error:
        if error.function_name:
            raise
        raise type(error)(error.reason, function_name=name, **error.details) from None


def _decode_base64(encoded: str, key: str, name: str | None, max_module_bytes: int | None) -> bytes:
    if max_module_bytes is not None:
        # Refuse before decoding: base64 is 4 characters per 3 bytes.
        approximate_bytes = len(encoded) * 3 // 4
        if approximate_bytes > max_module_bytes + 3:
            raise UdfModuleTooLargeError(
                f"[{key}] decodes to about {approximate_bytes} bytes, over the limit of "
                f"{max_module_bytes} bytes",
                function_name=name or "", size_bytes=approximate_bytes, limit_bytes=max_module_bytes,
            )
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError) as error:
        raise UdfDefinitionError(
            f"[{key}] is not valid base64: {error}", function_name=name or ""
        ) from None
    if max_module_bytes is not None:
        check_module_size(name or "", decoded, max_module_bytes)
    return decoded


def _parse_description(description: Any, name: str) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise UdfDefinitionError(
            f"[description] must be a string, got {type(description).__name__}", function_name=name
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise UdfDefinitionError(
            f"[description] is {len(description)} characters, over the limit of {MAX_DESCRIPTION_LENGTH}",
            function_name=name,
        )
    return description


def _parse_kinds(kind: Any, name: str) -> tuple[str, ...]:
    if kind is None:
        return ()
    kinds = [kind] if isinstance(kind, str) else kind
    if not isinstance(kinds, (list, tuple)) or not all(isinstance(entry, str) for entry in kinds):
        raise UdfDefinitionError(
            f"[kind] must be \"filter\", \"score\" or a list of them, got {kind!r}", function_name=name
        )
    for entry in kinds:
        if entry not in KINDS:
            raise UdfDefinitionError(
                f"[kind] must be one of {list(KINDS)}, got {entry!r}", function_name=name
            )
    # Canonical order, no duplicates, so equal definitions compare equal.
    return tuple(known for known in KINDS if known in kinds)


def _parse_registration_inputs(inputs_json: dict[str, Any]) -> UdfInputs:
    unknown_keys = sorted(set(inputs_json) - _INPUT_KEYS)
    if unknown_keys:
        raise UdfDefinitionError(
            f"unknown key [inputs.{unknown_keys[0]}]; expected [fields] and [params]"
        )
    fields_json = inputs_json.get("fields") or []
    params_json = inputs_json.get("params") or []
    if not isinstance(fields_json, (list, tuple)):
        raise UdfDefinitionError(f"[inputs.fields] must be a list, got {type(fields_json).__name__}")
    if not isinstance(params_json, (list, tuple)):
        raise UdfDefinitionError(f"[inputs.params] must be a list, got {type(params_json).__name__}")
    if len(fields_json) > MAX_DECLARED_FIELDS:
        raise UdfDefinitionError(
            f"[inputs.fields] declares {len(fields_json)} fields, over the limit of {MAX_DECLARED_FIELDS}"
        )
    if len(params_json) > MAX_DECLARED_PARAMS:
        raise UdfDefinitionError(
            f"[inputs.params] declares {len(params_json)} params, over the limit of {MAX_DECLARED_PARAMS}"
        )
    fields: list[str] = []
    for position, field_name in enumerate(fields_json):
        if not isinstance(field_name, str) or not 1 <= len(field_name) <= MAX_FIELD_NAME_LENGTH:
            raise UdfDefinitionError(
                f"[inputs.fields][{position}] must be a field path of 1 to {MAX_FIELD_NAME_LENGTH} "
                f"characters, got {field_name!r}"
            )
        if field_name in fields:
            raise UdfDefinitionError(f"[inputs.fields] declares [{field_name}] twice")
        fields.append(field_name)
    params: list[UdfParam] = []
    for position, param_json in enumerate(params_json):
        if isinstance(param_json, str):
            param_json = {"name": param_json}
        if not isinstance(param_json, dict) or "name" not in param_json or set(param_json) - _PARAM_KEYS:
            raise UdfDefinitionError(
                f"[inputs.params][{position}] must be a name or {{\"name\", \"default\"?}}, got {param_json!r}"
            )
        param_name = param_json["name"]
        if not isinstance(param_name, str) or not _PARAM_NAME_PATTERN.fullmatch(param_name):
            raise UdfDefinitionError(
                f"[inputs.params][{position}].name must match [A-Za-z_][A-Za-z0-9_]*, got {param_name!r}"
            )
        if any(existing.name == param_name for existing in params):
            raise UdfDefinitionError(f"[inputs.params] declares [{param_name}] twice")
        default = param_json.get("default")
        if default is not None:
            if isinstance(default, bool) or not isinstance(default, (int, float)) or not math.isfinite(default):
                raise UdfDefinitionError(
                    f"[inputs.params][{position}].default must be a finite number, got {default!r}"
                )
            default = float(default)
        params.append(UdfParam(name=param_name, default=default))
    return UdfInputs(fields=tuple(fields), params=tuple(params))
