"""Ingest pipelines as data and their execution on one document: OpenSearch's ingest-common
processors that need no script.

Owns ``compile_pipeline(pipeline_id, definition, lookup)`` (a pipeline body → a frozen
``Pipeline``, refusing what OpenSearch refuses at PUT time: an unknown processor type, a missing
required property, a script that does not compile) and
``Pipeline.execute(document)`` on an ``IngestDocument`` (the ``_source`` plus the metadata
``_index``, ``_id``, ``_routing`` and ``_ingest.timestamp``). Processors: append, bytes, convert,
copy, date, dot_expander, drop, fail, foreach, gsub, html_strip, join, json, lowercase, pipeline,
remove, rename, script (udf/painless, on ``ctx`` = the source fields plus the metadata ``_index``,
``_id``, ``_routing``…), set, sort, split, trim, uppercase, urldecode; the common options ``tag``,
``description``, ``if`` (a painless condition on a read-only copy of ``ctx``; false skips the
processor), ``ignore_failure`` and ``on_failure`` (per processor and per pipeline, with
``_ingest.on_failure_message`` / ``_processor_type`` / ``_processor_tag``); ``{{field}}`` templates
in values and field names.

It must never do I/O or touch the cluster state: node/api/ingest.py stores pipelines, resolves
which run for a write and hands documents here. Errors are ApiErrors with OpenSearch's types and
wording (parse_exception with ``processor_type``/``property_name`` at PUT time,
illegal_argument_exception while running).
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import orjson

from node.api.scripting import parse_script, script_exception, script_exception_object
from node.errors import ApiError, IllegalArgumentError

METADATA_FIELDS = ("_index", "_id", "_routing", "_version", "_version_type", "_if_seq_no", "_if_primary_term")
MAXIMUM_PIPELINE_DEPTH = 100


class DocumentDropped(Exception):
    """A drop processor ran: the document is not indexed (the write answers noop)."""


def _parse_error(reason: str, processor_type: str | None = None, property_name: str | None = None,
                 tag: str | None = None) -> ApiError:
    extra: dict[str, Any] = {}
    if processor_type is not None:
        extra["processor_type"] = processor_type
    if tag is not None:
        extra["processor_tag"] = tag
    if property_name is not None:
        extra["property_name"] = property_name
    return ApiError(reason, opensearch_type="parse_exception", status=400, **extra)


# --------------------------------------------------------------------------- the document


_JAVA_TYPE_NAMES = {str: "java.lang.String", int: "java.lang.Integer", float: "java.lang.Double",
                    bool: "java.lang.Boolean", list: "java.util.ArrayList", dict: "java.util.HashMap"}


def java_type_name(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2 ** 31) <= value < 2 ** 31:
        return "java.lang.Long"
    return _JAVA_TYPE_NAMES.get(type(value), type(value).__name__)


class IngestDocument:
    """The document a pipeline changes: ``source`` (the _source object), ``metadata`` (_index, _id,
    _routing…) and ``ingest`` (``timestamp`` and, inside on_failure, the failure fields)."""

    def __init__(self, source: dict[str, Any], metadata: Mapping[str, Any], timestamp: str | None = None) -> None:
        self.source = source
        self.metadata = {key: value for key, value in metadata.items() if value is not None}
        self.trace: list[dict[str, Any]] | None = None     # verbose _simulate: the processors' results
        self.pipeline_ids: list[str] = []                  # the pipelines running, innermost last
        self.ingest: dict[str, Any] = {"timestamp": timestamp or datetime.now(timezone.utc).isoformat(
            timespec="microseconds").replace("+00:00", "Z")}

    # ---- paths: "a.b.0.c" into maps and lists; "_source." / "_ingest." prefixes; metadata names

    def _root_and_parts(self, path: str) -> tuple[Any, list[str]]:
        if not path:
            raise IllegalArgumentError("field path cannot be null nor empty")
        if path in METADATA_FIELDS:
            return self.metadata, [path]
        if path.startswith("_source."):
            return self.source, path[len("_source."):].split(".")
        if path == "_ingest" or path.startswith("_ingest."):
            return self.ingest, path[len("_ingest."):].split(".") if path != "_ingest" else []
        return self.source, path.split(".")

    def has(self, path: str) -> bool:
        try:
            self.get(path)
        except IllegalArgumentError:
            return False
        return True

    def get(self, path: str) -> Any:
        container, parts = self._root_and_parts(path)
        for part in parts:
            if isinstance(container, dict):
                if part not in container:
                    raise IllegalArgumentError(f"field [{part}] not present as part of path [{path}]")
                container = container[part]
            elif isinstance(container, list):
                try:
                    index = int(part)
                except ValueError:
                    raise IllegalArgumentError(f"[{part}] is not an integer, cannot be used as an index as part "
                                               f"of path [{path}]") from None
                if not 0 <= index < len(container):
                    raise IllegalArgumentError(f"[{index}] is out of bounds for array with length "
                                               f"[{len(container)}] as part of path [{path}]")
                container = container[index]
            else:
                raise IllegalArgumentError(f"cannot resolve [{part}] from object of type "
                                           f"[{java_type_name(container)}] as part of path [{path}]")
        return container

    def set(self, path: str, value: Any, append: bool = False, allow_duplicates: bool = True) -> None:
        container, parts = self._root_and_parts(path)
        if not parts:
            raise IllegalArgumentError(f"cannot set [{path}]")
        for part in parts[:-1]:
            if isinstance(container, dict):
                child = container.get(part)
                if child is None:
                    child = container[part] = {}
                container = child
            elif isinstance(container, list):
                try:
                    container = container[int(part)]
                except (ValueError, IndexError):
                    raise IllegalArgumentError(f"[{part}] is not an integer, cannot be used as an index as part "
                                               f"of path [{path}]") from None
            else:
                raise IllegalArgumentError(f"cannot set [{part}] with parent object of type "
                                           f"[{java_type_name(container)}] as part of path [{path}]")
        last = parts[-1]
        if isinstance(container, list):
            try:
                index = int(last)
            except ValueError:
                raise IllegalArgumentError(f"[{last}] is not an integer, cannot be used as an index as part of "
                                           f"path [{path}]") from None
            if not 0 <= index < len(container):
                raise IllegalArgumentError(f"[{index}] is out of bounds for array with length [{len(container)}] "
                                           f"as part of path [{path}]")
            container[index] = value
            return
        if not isinstance(container, dict):
            raise IllegalArgumentError(f"cannot set [{last}] with parent object of type "
                                       f"[{java_type_name(container)}] as part of path [{path}]")
        if append and last in container:
            existing = container[last]
            merged = list(existing) if isinstance(existing, list) else [existing]
            for item in (value if isinstance(value, list) else [value]):
                if allow_duplicates or item not in merged:
                    merged.append(item)
            container[last] = merged
            return
        container[last] = value

    def remove(self, path: str) -> None:
        container, parts = self._root_and_parts(path)
        if not parts:
            raise IllegalArgumentError(f"cannot remove [{path}]")
        parent = container
        for part in parts[:-1]:
            if isinstance(parent, dict) and part in parent:
                parent = parent[part]
            elif isinstance(parent, list) and part.isdigit() and int(part) < len(parent):
                parent = parent[int(part)]
            else:
                raise IllegalArgumentError(f"field [{part}] not present as part of path [{path}]")
        last = parts[-1]
        if isinstance(parent, dict) and last in parent:
            del parent[last]
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            del parent[int(last)]
        else:
            raise IllegalArgumentError(f"field [{last}] not present as part of path [{path}]")

    def render(self, template: Any) -> Any:
        """Mustache-style ``{{name}}`` / ``{{{name}}}`` substitution in strings (nested values too)."""
        if isinstance(template, str):
            if "{{" not in template:
                return template
            return _TEMPLATE.sub(lambda match: self._template_value(match.group(1) or match.group(2)), template)
        if isinstance(template, list):
            return [self.render(item) for item in template]
        if isinstance(template, dict):
            return {self.render(key): self.render(item) for key, item in template.items()}
        return template

    def _template_value(self, name: str) -> str:
        name = name.strip()
        try:
            value = self.get(name)
        except IllegalArgumentError:
            return ""
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    def view(self) -> dict[str, Any]:
        """The document as _simulate shows it (metadata numbers as strings, as OpenSearch prints them)."""
        body: dict[str, Any] = {key: (self.metadata[key] if key in ("_index", "_id") else str(self.metadata[key]))
                                for key in METADATA_FIELDS if key in self.metadata}
        body["_source"] = self.source
        body["_ingest"] = {"timestamp": self.ingest["timestamp"]}
        return body

    def traced_view(self) -> dict[str, Any]:
        """A snapshot for a verbose _simulate entry: _ingest adds the running pipeline and, inside
        on_failure, the failure fields."""
        body = self.view()
        body["_ingest"] = {"pipeline": self.pipeline_ids[-1] if self.pipeline_ids else None,
                           **{key: value for key, value in self.ingest.items()
                              if key == "timestamp" or key.startswith("on_failure_")}}
        return json.loads(json.dumps(body))


_TEMPLATE = re.compile(r"\{\{\{\s*([^}]+?)\s*\}\}\}|\{\{\s*([^}]+?)\s*\}\}")


# --------------------------------------------------------------------------- configuration reading


class _Config:
    """A processor's configuration: reads properties with OpenSearch's messages; what is left over is refused."""

    def __init__(self, processor_type: str, config: dict[str, Any]) -> None:
        self.processor_type = processor_type
        self.tag = config.get("tag")
        self.remaining = dict(config)

    def _missing(self, name: str) -> ApiError:
        return _parse_error(f"[{name}] required property is missing", self.processor_type, name, self.tag)

    def required(self, name: str) -> Any:
        if name not in self.remaining or self.remaining[name] is None:
            raise self._missing(name)
        return self.remaining.pop(name)

    def required_string(self, name: str) -> str:
        value = self.required(name)
        if not isinstance(value, str):
            raise _parse_error(f"[{name}] property isn't a string, but of type [{java_type_name(value)}]",
                               self.processor_type, name, self.tag)
        return value

    def optional(self, name: str, default: Any = None) -> Any:
        value = self.remaining.pop(name, None)
        return default if value is None else value

    def optional_string(self, name: str, default: str | None = None) -> str | None:
        value = self.optional(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise _parse_error(f"[{name}] property isn't a string, but of type [{java_type_name(value)}]",
                               self.processor_type, name, self.tag)
        return value

    def optional_boolean(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise _parse_error(f"[{name}] property isn't a boolean, but of type [{java_type_name(value)}]",
                           self.processor_type, name, self.tag)

    def finish(self) -> None:
        for common in ("tag", "description", "ignore_failure", "on_failure", "if"):
            self.remaining.pop(common, None)
        if self.remaining:
            names = ", ".join(sorted(self.remaining))
            raise _parse_error(f"processor [{self.processor_type}] doesn't support one or more provided "
                               f"configuration parameters [{names}]", self.processor_type, None, self.tag)


# --------------------------------------------------------------------------- processors


@dataclass(frozen=True)
class Processor:
    processor_type: str
    run: Callable[[IngestDocument], None]
    tag: str | None = None
    description: str | None = None
    ignore_failure: bool = False
    on_failure: tuple["Processor", ...] = ()
    condition: Callable[[IngestDocument], bool] | None = None   # the `if`: False skips the processor

    def _run_if(self, document: IngestDocument) -> bool:
        """Runs the processor unless its condition is false; answers whether it ran."""
        if self.condition is not None and not self.condition(document):
            return False
        self.run(document)
        return True

    def execute(self, document: IngestDocument) -> None:
        trace = document.trace
        if trace is None:
            try:
                self._run_if(document)
            except DocumentDropped:
                raise
            except ApiError as error:
                # ignore_failure wins over on_failure, as OpenSearch's CompoundProcessor
                if self.ignore_failure:
                    return
                if not self.on_failure:
                    raise
                _run_on_failure(self.on_failure, document, error, self)
            return
        self._execute_traced(document, trace)

    def _trace_entry(self, status: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"processor_type": self.processor_type, "status": status}
        if self.tag is not None:
            entry["tag"] = self.tag
        if self.description is not None:
            entry["description"] = self.description
        return entry

    def _execute_traced(self, document: IngestDocument, trace: list[dict[str, Any]]) -> None:
        """Verbose _simulate: one entry per processor run, as OpenSearch's tracking processors record
        them — a pipeline processor first (``doc: null``) and then what its pipeline ran; a failure with
        on_failure handlers before the handlers' own entries; ``error_ignored`` with ``ignored_error``."""
        from node.errors import error_body

        inner: list[dict[str, Any]] = []
        if self.processor_type == "pipeline":
            document.trace = inner
        try:
            ran = self._run_if(document)
        except DocumentDropped:
            trace.append(self._trace_entry("dropped"))
            raise
        except ApiError as error:
            if self.processor_type == "pipeline" and not str(error).startswith("Cycle detected"):
                trace.append({**self._trace_entry("success"), "doc": None})
                trace.extend(inner)
            elif self.ignore_failure:
                trace.append({**self._trace_entry("error_ignored"), "ignored_error": error_body(error),
                              "doc": document.traced_view()})
                return
            else:
                trace.append({**self._trace_entry("error"), "error": error_body(error)["error"]})
            if self.processor_type == "pipeline" or not self.on_failure:
                raise
            document.trace = trace
            _run_on_failure(self.on_failure, document, error, self)
            return
        finally:
            document.trace = trace
        if not ran:
            trace.append(self._trace_entry("skipped"))
            return
        if self.processor_type == "pipeline":
            trace.append({**self._trace_entry("success"), "doc": None})
            trace.extend(inner)
        else:
            trace.append({**self._trace_entry("success"), "doc": document.traced_view()})


def _run_on_failure(handlers: tuple[Processor, ...], document: IngestDocument, error: ApiError,
                    failed: Processor) -> None:
    previous = {key: document.ingest.get(key) for key in
                ("on_failure_message", "on_failure_processor_type", "on_failure_processor_tag")}
    document.ingest["on_failure_message"] = str(error)
    document.ingest["on_failure_processor_type"] = failed.processor_type
    if failed.tag is not None:
        document.ingest["on_failure_processor_tag"] = failed.tag
    else:
        document.ingest.pop("on_failure_processor_tag", None)
    try:
        for handler in handlers:
            handler.execute(document)
    finally:
        for key, value in previous.items():
            if value is None:
                document.ingest.pop(key, None)
            else:
                document.ingest[key] = value


def _field_processor(config: _Config, change: Callable[[Any, str], Any]) -> Callable[[IngestDocument], None]:
    """The shape most processors share: field, target_field (default: field), ignore_missing."""
    field_name = config.required_string("field")
    target_field = config.optional_string("target_field", field_name)
    ignore_missing = config.optional_boolean("ignore_missing", False)

    def run(document: IngestDocument) -> None:
        source_field = document.render(field_name)
        value = _value_to_process(document, source_field, ignore_missing)
        if value is not _SKIP:
            document.set(document.render(target_field), change(value, source_field))

    return run


_SKIP = object()   # _value_to_process: the field is missing or null and ignore_missing is set


def _value_to_process(document: IngestDocument, field_name: str, ignore_missing: bool) -> Any:
    """The field's value, or _SKIP when it is missing or null and ``ignore_missing`` is set;
    otherwise a missing field raises OpenSearch's "not present" error and a null one "is null"."""
    if not document.has(field_name):
        if ignore_missing:
            return _SKIP
        document.get(field_name)  # raises OpenSearch's "not present" error
    value = document.get(field_name)
    if value is None:
        if ignore_missing:
            return _SKIP
        raise IllegalArgumentError(f"field [{field_name}] is null, cannot process it.")
    return value


def _strings(change: Callable[[str], Any]) -> Callable[[Any, str], Any]:
    def apply(value: Any, field_name: str) -> Any:
        if isinstance(value, list):
            return [apply(item, field_name) for item in value]
        if not isinstance(value, str):
            raise IllegalArgumentError(f"field [{field_name}] of type [{java_type_name(value)}] cannot be cast to "
                                       f"[java.lang.String]")
        return change(value)
    return apply


def _set(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    copy_from = config.optional_string("copy_from")
    if copy_from is None:
        value = config.required("value")
    elif "value" in config.remaining:
        raise _parse_error("[copy_from] cannot set both `copy_from` and `value` in the same processor",
                           "set", "copy_from", config.tag)
    override = config.optional_boolean("override", True)
    ignore_empty_value = config.optional_boolean("ignore_empty_value", False)

    def run(document: IngestDocument) -> None:
        target = document.render(field_name)
        if not override and document.has(target) and document.get(target) is not None:
            return
        new_value = _deep_copy(document.get(document.render(copy_from))) if copy_from is not None \
            else document.render(_deep_copy(value))
        if ignore_empty_value and (new_value is None or new_value == ""):
            return
        document.set(target, new_value)

    return run


def _deep_copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def _remove(config: _Config) -> Callable[[IngestDocument], None]:
    fields = config.optional("field")
    exclude = config.optional("exclude_field")
    if fields is None and exclude is None:
        raise _parse_error("[field] required property is missing", "remove", "field", config.tag)
    ignore_missing = config.optional_boolean("ignore_missing", False)
    field_list = fields if isinstance(fields, list) else ([fields] if fields is not None else [])
    exclude_list = exclude if isinstance(exclude, list) else ([exclude] if exclude is not None else [])

    def run(document: IngestDocument) -> None:
        if exclude_list:
            kept = {document.render(name) for name in exclude_list}
            for key in [key for key in document.source if key not in kept]:
                del document.source[key]
            return
        for name in field_list:
            path = document.render(name)
            if path in ("_index", "_id", "_version", "_version_type"):
                continue  # the write needs them: OpenSearch leaves them in place
            if not document.has(path):
                if ignore_missing:
                    continue
                if not path:
                    document.get(path)  # OpenSearch's "field path cannot be null nor empty"
                raise IllegalArgumentError(f"field [{path}] doesn't exist")
            document.remove(path)

    return run


def _rename(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    target_field = config.required_string("target_field")
    ignore_missing = config.optional_boolean("ignore_missing", False)
    override = config.optional_boolean("override", False)

    def run(document: IngestDocument) -> None:
        source_path, target_path = document.render(field_name), document.render(target_field)
        if not document.has(source_path):
            if ignore_missing:
                return
            if not source_path:
                document.get(source_path)  # OpenSearch's "field path cannot be null nor empty"
            raise IllegalArgumentError(f"field [{source_path}] doesn't exist")
        if document.has(target_path) and not override:
            raise IllegalArgumentError(f"field [{target_path}] already exists")
        value = document.get(source_path)
        document.remove(source_path)
        document.set(target_path, value)

    return run


def _copy(config: _Config) -> Callable[[IngestDocument], None]:
    source_field = config.required_string("source_field")
    target_field = config.required_string("target_field")
    ignore_missing = config.optional_boolean("ignore_missing", False)
    override = config.optional_boolean("override_target", False)
    remove_source = config.optional_boolean("remove_source", False)

    def run(document: IngestDocument) -> None:
        source_path, target_path = document.render(source_field), document.render(target_field)
        if not source_path:
            raise IllegalArgumentError("source field path cannot be null nor empty")
        if not target_path:
            raise IllegalArgumentError("target field path cannot be null nor empty")
        if source_path == target_path:
            raise IllegalArgumentError("source field path and target field path cannot be same")
        if not document.has(source_path):
            if ignore_missing:
                return
            raise IllegalArgumentError(f"source field [{source_path}] doesn't exist")
        if document.has(target_path) and not override:
            raise IllegalArgumentError(f"target field [{target_path}] already exists")
        value = _deep_copy(document.get(source_path))
        if remove_source:
            document.remove(source_path)
        document.set(target_path, value)

    return run


def _split(config: _Config) -> Callable[[IngestDocument], None]:
    separator = re.compile(config.required_string("separator"))
    preserve_trailing = config.optional_boolean("preserve_trailing", False)

    def change(value: str) -> list[str]:
        parts = separator.split(value)
        if not preserve_trailing:
            while parts and parts[-1] == "":
                parts.pop()  # Java's String.split drops trailing empty strings
        return parts

    return _field_processor(config, lambda value, name: _strings(change)(value, name) if not isinstance(value, list)
                            else _raise_cast(value, name, "java.lang.String"))


def _raise_cast(value: Any, field_name: str, expected: str) -> Any:
    raise IllegalArgumentError(f"field [{field_name}] of type [{java_type_name(value)}] cannot be cast to [{expected}]")


def _join(config: _Config) -> Callable[[IngestDocument], None]:
    separator = config.required_string("separator")

    def change(value: Any, field_name: str) -> str:
        if not isinstance(value, list):
            return _raise_cast(value, field_name, "java.util.List")
        return separator.join(_template_text(item) for item in value)

    return _field_processor(config, change)


def _template_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


_CONVERT_TYPES = ("integer", "long", "float", "double", "string", "boolean", "ip", "auto")


def _convert_one(value: Any, target_type: str) -> Any:
    text = value if isinstance(value, str) else _template_text(value)
    if target_type in ("integer", "long"):
        try:
            number = int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)
        except ValueError:
            raise IllegalArgumentError(f"unable to convert [{text}] to {target_type}") from None
        limit = 2 ** 31 if target_type == "integer" else 2 ** 63
        if not -limit <= number < limit:
            raise IllegalArgumentError(f"unable to convert [{text}] to {target_type}")
        return number
    if target_type in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise IllegalArgumentError(f"unable to convert [{text}] to {target_type}") from None
    if target_type == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise IllegalArgumentError(f"[{text}] is not a boolean value, cannot convert to boolean")
    if target_type == "ip":
        import ipaddress

        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise IllegalArgumentError(f"[{text}] is not a valid ipv4/ipv6 address") from None
        return text
    if target_type == "auto":
        if not isinstance(value, str):
            return value
        for attempt in ("long", "double", "boolean"):
            try:
                converted = _convert_one(value, attempt)
            except IllegalArgumentError:
                continue
            return converted
        return value
    return text


def _convert(config: _Config) -> Callable[[IngestDocument], None]:
    target_type = config.required_string("type")
    if target_type.lower() not in _CONVERT_TYPES:
        raise _parse_error(f"type [{target_type}] not supported, cannot convert field.", "convert", "type",
                           config.tag)

    def change(value: Any, field_name: str) -> Any:
        if isinstance(value, list):
            return [_convert_one(item, target_type.lower()) for item in value]
        return _convert_one(value, target_type.lower())

    return _field_processor(config, change)


def _gsub(config: _Config) -> Callable[[IngestDocument], None]:
    pattern = config.required_string("pattern")
    replacement = config.required_string("replacement")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise _parse_error(f"Invalid regex pattern. {error}", "gsub", "pattern", config.tag) from None
    # Java's $1 / ${name} group references → Python's \g<1> / \g<name>
    python_replacement = re.sub(r"\$\{(\w+)\}|\$(\d+)", lambda m: f"\\g<{m.group(1) or m.group(2)}>",
                                replacement.replace("\\", "\\\\"))
    return _field_processor(config, _strings(lambda value: compiled.sub(python_replacement, value)))


def _append(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    value = config.required("value")
    allow_duplicates = config.optional_boolean("allow_duplicates", True)

    def run(document: IngestDocument) -> None:
        document.set(document.render(field_name), document.render(_deep_copy(value)), append=True,
                     allow_duplicates=allow_duplicates)

    return run


def _json_processor(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    target_field = config.optional_string("target_field")
    add_to_root = config.optional_boolean("add_to_root", False)
    if add_to_root and target_field is not None:
        raise _parse_error("Cannot set a target field while also setting `add_to_root` to true", "json",
                           "target_field", config.tag)

    def run(document: IngestDocument) -> None:
        raw = document.get(field_name)
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise IllegalArgumentError(f"Unable to parse JSON in field [{field_name}]: {error}") from None
        if add_to_root:
            if not isinstance(parsed, dict):
                raise IllegalArgumentError("cannot add non-map fields to root of document")
            document.source.update(parsed)
        else:
            document.set(target_field or field_name, parsed)

    return run


_BYTE_UNITS = {"b": 1, "kb": 1024, "k": 1024, "mb": 1024 ** 2, "m": 1024 ** 2, "gb": 1024 ** 3, "g": 1024 ** 3,
               "tb": 1024 ** 4, "t": 1024 ** 4, "pb": 1024 ** 5, "p": 1024 ** 5}


def _bytes_value(value: str, field_name: str) -> int:
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*", value)
    unit = (match.group(2) or "").lower() if match else ""
    if match is None or (unit and unit not in _BYTE_UNITS) or (not unit and match.group(1) not in ("0", "-1")):
        raise IllegalArgumentError(f"failed to parse setting [Ingest Field] with value [{value}] as a size in "
                                   "bytes: unit is missing or unrecognized")
    return int(float(match.group(1)) * _BYTE_UNITS.get(unit, 1))


def _date(config: _Config) -> Callable[[IngestDocument], None]:
    from index.mapping.dates import format_date, parse_date  # local: only the date processor needs them

    field_name = config.required_string("field")
    target_field = config.optional_string("target_field", "@timestamp")
    formats = config.required("formats")
    if not isinstance(formats, list) or not formats:
        raise _parse_error("[formats] property isn't a list, but of type [java.lang.String]" if isinstance(formats, str)
                           else "[formats] required property is missing", "date", "formats", config.tag)
    zone = config.optional_string("timezone")
    config.optional_string("locale")
    output_format = config.optional_string("output_format", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
    named = {"ISO8601": "strict_date_optional_time", "UNIX": "epoch_second", "UNIX_MS": "epoch_millis"}

    def run(document: IngestDocument) -> None:
        value = document.get(field_name)
        text = _template_text(value)
        for date_format in formats:
            try:
                millis = parse_date(text, named.get(date_format, date_format))
            except Exception:  # noqa: BLE001 — the next format is tried, as OpenSearch does
                continue
            document.set(target_field, format_date(millis, output_format, time_zone=zone) if zone
                         else format_date(millis, output_format))
            return
        raise IllegalArgumentError(f"unable to parse date [{text}]")

    return run


def _fail(config: _Config) -> Callable[[IngestDocument], None]:
    message = config.required_string("message")

    def run(document: IngestDocument) -> None:
        raise ApiError(document.render(message), opensearch_type="fail_processor_exception", status=500)

    return run


def _drop(config: _Config) -> Callable[[IngestDocument], None]:
    def run(document: IngestDocument) -> None:
        raise DocumentDropped()
    return run


def _dot_expander(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    path = config.optional_string("path")
    if "." not in field_name and field_name != "*":
        raise _parse_error(f"field [{field_name}] does not contain a dot and is not a wildcard", "dot_expander",
                           "field", config.tag)

    def run(document: IngestDocument) -> None:
        container = document.get(path) if path else document.source
        if not isinstance(container, dict):
            return
        names = [name for name in container if "." in name] if field_name == "*" else [field_name]
        for name in names:
            if name not in container:
                continue
            value = container.pop(name)
            target = container
            parts = name.split(".")
            for part in parts[:-1]:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {}
                target = child
            existing = target.get(parts[-1])
            if existing is not None and parts[-1] in target:
                target[parts[-1]] = (existing if isinstance(existing, list) else [existing]) + \
                    (value if isinstance(value, list) else [value])
            else:
                target[parts[-1]] = value

    return run


def _sort(config: _Config) -> Callable[[IngestDocument], None]:
    order = config.optional_string("order", "asc")
    if order not in ("asc", "desc"):
        raise _parse_error(f"[order] Sort direction [{order}] not recognized. Valid values are: [asc, desc]",
                           "sort", "order", config.tag)

    def change(value: Any, field_name: str) -> Any:
        if not isinstance(value, list):
            return _raise_cast(value, field_name, "java.util.List")
        return sorted(value, reverse=order == "desc")

    return _field_processor(config, change)


def _foreach(config: _Config, lookup: Callable[[str], Any], depth: int) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    ignore_missing = config.optional_boolean("ignore_missing", False)
    inner_config = config.required("processor")
    if not isinstance(inner_config, dict) or len(inner_config) != 1:
        raise _parse_error("[processor] property isn't a map, but of type [java.lang.String]", "foreach",
                           "processor", config.tag)
    inner = _compile_processor(inner_config, lookup, depth)

    def run(document: IngestDocument) -> None:
        if not document.has(field_name):
            if ignore_missing:
                return
            document.get(field_name)
        values = document.get(field_name)
        if not isinstance(values, (list, dict)):
            raise IllegalArgumentError(f"field [{field_name}] of type [{java_type_name(values)}] cannot be cast to "
                                       f"[java.util.List]")
        previous = document.ingest.get("_value")
        results = []
        items = list(values.items()) if isinstance(values, dict) else list(enumerate(values))
        for _, item in items:
            document.ingest["_value"] = item
            inner.execute(document)
            results.append(document.ingest["_value"])
        if isinstance(values, dict):
            document.set(field_name, {key: result for (key, _), result in zip(items, results)})
        else:
            document.set(field_name, results)
        if previous is None:
            document.ingest.pop("_value", None)
        else:
            document.ingest["_value"] = previous

    return run


def _pipeline_processor(config: _Config, lookup: Callable[[str], Any], depth: int) -> Callable[[IngestDocument], None]:
    name = config.required_string("name")
    ignore_missing_pipeline = config.optional_boolean("ignore_missing_pipeline", False)

    def run(document: IngestDocument) -> None:
        pipeline_name = document.render(name)
        pipeline = lookup(pipeline_name)
        # both are IllegalStateExceptions in OpenSearch (500 illegal_state_exception)
        if pipeline is None:
            if ignore_missing_pipeline:
                return
            raise ApiError(f"Pipeline processor configured for non-existent pipeline [{pipeline_name}]",
                           opensearch_type="illegal_state_exception", status=500)
        if pipeline_name in document.pipeline_ids or len(document.pipeline_ids) >= MAXIMUM_PIPELINE_DEPTH:
            raise ApiError(f"Cycle detected for pipeline: {pipeline_name}", opensearch_type="illegal_state_exception",
                           status=500)
        pipeline.execute(document)

    return run


def _kv(config: _Config) -> Callable[[IngestDocument], None]:
    field_name = config.required_string("field")
    field_split = re.compile(config.required_string("field_split"))
    value_split = re.compile(config.required_string("value_split"))
    target_field = config.optional_string("target_field")
    include_keys = config.optional("include_keys")
    exclude_keys = config.optional("exclude_keys")
    prefix = config.optional_string("prefix", "")
    trim_key = config.optional_string("trim_key", "")
    trim_value = config.optional_string("trim_value", "")
    strip_brackets = config.optional_boolean("strip_brackets", False)
    ignore_missing = config.optional_boolean("ignore_missing", False)

    def run(document: IngestDocument) -> None:
        path = document.render(field_name)
        if not document.has(path):
            if ignore_missing:
                return
            if not path:
                document.get(path)  # "field path cannot be null nor empty"
            raise IllegalArgumentError(f"field [{path}] doesn't exist")
        text = document.get(path)
        if text is None:
            if ignore_missing:
                return
            raise IllegalArgumentError(f"field [{path}] is null, cannot extract key-value pairs.")
        target = document.render(target_field) if target_field is not None else None
        for pair in field_split.split(str(text)):
            parts = value_split.split(pair, maxsplit=1)
            if len(parts) != 2:
                raise IllegalArgumentError(f"field [{path}] does not contain value_split [{value_split.pattern}]")
            key, value = parts[0].strip(trim_key) if trim_key else parts[0], \
                parts[1].strip(trim_value) if trim_value else parts[1]
            if strip_brackets and len(value) >= 2 and value[0] + value[-1] in ("()", "[]", "<>", '""', "''"):
                value = value[1:-1]
            if include_keys is not None and key not in include_keys:
                continue
            if exclude_keys is not None and key in exclude_keys:
                continue
            full_key = prefix + key
            document.set(f"{target}.{full_key}" if target else full_key, value, append=True)

    return run


_DISSECT_KEY = re.compile(r"%\{([^}]*)\}")


def _dissect(config: _Config) -> Callable[[IngestDocument], None]:
    """OpenSearch's dissect: ``%{key}`` between literal delimiters, ``%{+key}`` appends (with
    ``append_separator``), ``%{?key}`` / ``%{}`` match and skip, ``%{key->}`` swallows repeated
    delimiters after it."""
    field_name = config.required_string("field")
    pattern = config.required_string("pattern")
    append_separator = config.optional_string("append_separator", "")
    ignore_missing = config.optional_boolean("ignore_missing", False)
    keys = list(_DISSECT_KEY.finditer(pattern))
    if not keys:
        raise _parse_error(f"Unable to parse pattern: {pattern}", "dissect", "pattern", config.tag)
    leading = pattern[:keys[0].start()]
    steps = []          # (key text, delimiter after it)
    for position, match in enumerate(keys):
        end = keys[position + 1].start() if position + 1 < len(keys) else len(pattern)
        steps.append((match.group(1), pattern[match.end():end]))

    def run(document: IngestDocument) -> None:
        path = document.render(field_name)
        if not document.has(path):
            if ignore_missing:
                return
            document.get(path)
        text = document.get(path)
        if not isinstance(text, str):
            raise IllegalArgumentError(f"field [{path}] of type [{java_type_name(text)}] cannot be cast to "
                                       f"[java.lang.String]")
        failure = IllegalArgumentError(f"Unable to find match for dissect pattern: {pattern} against source: {text}")
        if not text.startswith(leading):
            raise failure
        cursor = len(leading)
        results: dict[str, str] = {}
        appended: dict[str, list[str]] = {}
        for key, delimiter in steps:
            right_padding = key.endswith("->")
            key = key[:-2] if right_padding else key
            if delimiter:
                found = text.find(delimiter, cursor)
                if found < 0:
                    raise failure
                value, cursor = text[cursor:found], found + len(delimiter)
                if right_padding:
                    while text.startswith(delimiter, cursor):
                        cursor += len(delimiter)
            else:
                value, cursor = text[cursor:], len(text)
            if key == "" or key.startswith("?"):
                continue
            if key.startswith("+"):
                appended.setdefault(key[1:].split("/")[0], []).append(value)
                continue
            results[key] = value
        for key, values in appended.items():
            results[key] = append_separator.join(([results.pop(key)] if key in results else []) + values)
        for key, value in results.items():
            document.set(key, value)

    return run


def _csv(config: _Config) -> Callable[[IngestDocument], None]:
    """OpenSearch's csv processor: one line split on ``separator`` with ``quote``d values into ``target_fields``."""
    field_name = config.required_string("field")
    target_fields = config.required("target_fields")
    if isinstance(target_fields, str):
        target_fields = [target_fields]
    if not isinstance(target_fields, list) or not target_fields:
        raise _parse_error("[target_fields] target fields cannot be empty", "csv", "target_fields", config.tag)
    separator = config.optional_string("separator", ",")
    quote = config.optional_string("quote", '"')
    if len(separator) != 1:
        raise _parse_error("[separator] separator has to be single character like , or ;", "csv", "separator",
                           config.tag)
    if len(quote) != 1:
        raise _parse_error("[quote] quote has to be single character like \" or '", "csv", "quote", config.tag)
    trim = config.optional_boolean("trim", False)
    empty_value = config.optional("empty_value")
    ignore_missing = config.optional_boolean("ignore_missing", False)

    def run(document: IngestDocument) -> None:
        line = _value_to_process(document, field_name, ignore_missing)
        if line is _SKIP:
            return
        values = _split_csv_line(str(line), separator, quote, trim)
        for target, value in zip(target_fields, values):
            value = value.strip() if trim else value
            if value == "":
                if empty_value is not None:
                    document.set(target, empty_value)
                continue
            document.set(target, value)

    return run


def _split_csv_line(line: str, separator: str, quote: str, trim: bool) -> list[str]:
    """One CSV line: quoted values may hold separators and doubled quotes; ``trim`` drops the
    blanks around values (also around quoted ones), as OpenSearch's CsvParser."""
    values: list[str] = []
    position, length = 0, len(line)
    while True:
        if trim:
            while position < length and line[position] in " \t":
                position += 1
        if position < length and line[position] == quote:
            position += 1
            characters: list[str] = []
            while True:
                if position >= length:
                    raise IllegalArgumentError(f"Unmatched quote in [{line}]")
                if line[position] == quote:
                    if position + 1 < length and line[position + 1] == quote:
                        characters.append(quote)
                        position += 2
                        continue
                    position += 1
                    break
                characters.append(line[position])
                position += 1
            if trim:
                while position < length and line[position] in " \t":
                    position += 1
            if position < length and line[position] != separator:
                raise IllegalArgumentError(f"Illegal character after quote in [{line}]")
            values.append("".join(characters))
        else:
            end = line.find(separator, position)
            end = length if end < 0 else end
            value = line[position:end]
            if quote in value:
                raise IllegalArgumentError(f"Illegal character inside unquoted field in [{line}]")
            values.append(value.rstrip(" \t") if trim else value)
            position = end
        if position >= length:
            return values
        position += 1   # the separator
        if position == length:
            values.append("")
            return values


def _grok(config: _Config) -> Callable[[IngestDocument], None]:
    """OpenSearch's grok: the first of ``patterns`` that matches (a search, not a full match) sets
    its named captures; ``pattern_definitions`` add or replace library patterns (node/api/ingest_grok.py)."""
    from node.api.ingest_grok import compile_grok

    field_name = config.required_string("field")
    patterns = config.required("patterns")
    if not isinstance(patterns, list) or not patterns:
        raise _parse_error("[patterns] List of patterns must not be empty", "grok", "patterns", config.tag)
    definitions = config.optional("pattern_definitions", {})
    if not isinstance(definitions, dict):
        raise _parse_error("[pattern_definitions] property isn't a map", "grok", "pattern_definitions", config.tag)
    trace_match = config.optional_boolean("trace_match", False)
    ignore_missing = config.optional_boolean("ignore_missing", False)
    if config.optional_boolean("capture_all_matches", False):
        raise _parse_error("[capture_all_matches] is not supported by Quidditch's grok processor", "grok",
                           "capture_all_matches", config.tag)
    try:
        expressions = [compile_grok(str(pattern), {str(key): str(value) for key, value in definitions.items()})
                       for pattern in patterns]
    except IllegalArgumentError as error:
        raise _parse_error(str(error), "grok", "patterns", config.tag) from None

    def run(document: IngestDocument) -> None:
        value = _value_to_process(document, field_name, ignore_missing)
        if value is _SKIP:
            return
        if not isinstance(value, str):
            raise IllegalArgumentError(f"field [{field_name}] of type [{java_type_name(value)}] cannot be cast to "
                                       f"[java.lang.String]")
        for position, expression in enumerate(expressions):
            captures = expression.captures(value)
            if captures is None:
                continue
            for name, captured in captures.items():
                document.set(name, captured)
            if trace_match:
                document.ingest["_grok_match_index"] = str(position)
            return
        raise IllegalArgumentError(f"Provided Grok expressions do not match field value: [{value}]")

    return run


def _remove_by_pattern(config: _Config) -> Callable[[IngestDocument], None]:
    """Top-level source fields matching ``field_pattern`` go (or all but those matching
    ``exclude_field_pattern``); glob patterns, one of the two, as OpenSearch 2.12."""
    import fnmatch

    field_patterns = config.optional("field_pattern")
    exclude_patterns = config.optional("exclude_field_pattern")
    if (field_patterns is None) == (exclude_patterns is None):
        # OpenSearch's wording, its spelling included
        raise _parse_error("[field_pattern] ether field_pattern or exclude_field_pattern must be set",
                           "remove_by_pattern", "field_pattern", config.tag)
    patterns = [str(item) for item in ((field_patterns if isinstance(field_patterns, list) else [field_patterns])
                                       if field_patterns is not None else
                                       (exclude_patterns if isinstance(exclude_patterns, list) else [exclude_patterns]))]
    removing = field_patterns is not None

    def run(document: IngestDocument) -> None:
        for name in list(document.source):
            matched = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
            if matched == removing and name not in METADATA_FIELDS:
                del document.source[name]

    return run


_DATE_ROUNDINGS = ("y", "M", "w", "d", "h", "m", "s")


def _date_index_name(config: _Config) -> Callable[[IngestDocument], None]:
    """OpenSearch's date_index_name: ``_index`` becomes the prefix plus the document's date rounded
    down to ``date_rounding`` and printed with ``index_name_format``. OpenSearch writes a date-math
    index name (``<prefix{date||/M{format|zone}}>``) that the write resolves; the concrete name is
    computed here instead — the same index, without date-math names on the write path."""
    from index.mapping.dates import format_date, parse_date, parse_date_math

    field_name = config.required_string("field")
    prefix = config.optional_string("index_name_prefix", "")
    rounding = config.required_string("date_rounding")
    if rounding not in _DATE_ROUNDINGS:
        raise _parse_error(f"[date_rounding] Unsupported rounding [{rounding}]", "date_index_name", "date_rounding",
                           config.tag)
    formats = config.optional("date_formats", ["ISO8601"])
    if isinstance(formats, str):
        formats = [formats]
    zone = config.optional_string("timezone", "UTC")
    config.optional_string("locale")
    name_format = config.optional_string("index_name_format", "yyyy-MM-dd")
    named = {"ISO8601": "strict_date_optional_time", "UNIX": "epoch_second", "UNIX_MS": "epoch_millis"}

    def run(document: IngestDocument) -> None:
        text = _template_text(document.get(field_name))
        for date_format in formats:
            try:
                millis = parse_date(text, named.get(date_format, date_format))
            except Exception:  # noqa: BLE001 — the next format is tried, as OpenSearch does
                continue
            rounded = parse_date_math(f"{millis}||/{rounding}", 0, "epoch_millis", time_zone=zone)
            document.set("_index", document.render(prefix) + format_date(rounded, name_format, time_zone=zone))
            return
        raise IllegalArgumentError(f"unable to parse date [{text}]")

    return run


INGEST_SCRIPT_VARIABLES = frozenset({"ctx", "params"})
SCRIPT_PROPERTIES = ("source", "inline", "lang", "params", "id", "options")


def _compiled_ingest_script(definition: Any, processor_type: str, tag: str | None, property_name: str | None) -> Any:
    """(ScriptRequest, CompiledScript) for a script processor or an `if`; at PUT time a script that
    does not compile is OpenSearch's parse_exception "compile error" caused by the script_exception."""
    from udf.painless import PainlessError, compile_script  # imported with the first script, not at start

    try:
        script = parse_script(definition, property_name or "script")
    except ApiError as error:
        raise _parse_error(error.reason, processor_type, property_name, tag) from None
    try:
        return script, compile_script(script.source, INGEST_SCRIPT_VARIABLES)
    except PainlessError as error:
        failure = _parse_error(error.summary, processor_type, property_name, tag)
        failure.extra["caused_by"] = script_exception_object(error, script.source)
        raise failure from None


def script_context(document: IngestDocument) -> dict[str, Any]:
    """An ingest script's ``ctx``: the source's fields beside the metadata (``ctx._index``…)."""
    ctx = dict(document.source)
    ctx.update(document.metadata)
    return ctx


def _apply_script_context(document: IngestDocument, ctx: dict[str, Any]) -> None:
    for name in METADATA_FIELDS:
        if name in ctx:
            value = ctx.pop(name)
            if value is None:
                document.metadata.pop(name, None)
            else:
                document.metadata[name] = value
    document.source.clear()
    document.source.update(ctx)


def _script_processor(config: _Config) -> Callable[[IngestDocument], None]:
    definition = {name: config.remaining.pop(name) for name in SCRIPT_PROPERTIES if name in config.remaining}
    script, compiled = _compiled_ingest_script(definition, "script", config.tag, None)
    from udf.painless import PainlessError

    def run(document: IngestDocument) -> None:
        # a deep copy: a failing script (ignore_failure, on_failure) must leave the document as it was
        ctx = _deep_copy(script_context(document))
        try:
            compiled.execute({"ctx": ctx, "params": script.params})
        except PainlessError as error:
            raise script_exception(error, script.source) from None
        try:
            orjson.dumps(ctx)
        except orjson.JSONEncodeError:
            raise IllegalArgumentError("Iterable object is self-referencing itself (ingest script)") from None
        _apply_script_context(document, ctx)
    return run


def _condition(definition: Any, processor_type: str, tag: str | None) -> Callable[[IngestDocument], bool]:
    script, compiled = _compiled_ingest_script(definition, processor_type, tag, "if")
    from udf.painless import PainlessError

    def holds(document: IngestDocument) -> bool:
        # a copy: a condition cannot change the document (OpenSearch gives it an unmodifiable ctx)
        ctx = _deep_copy(script_context(document))
        try:
            result = compiled.execute({"ctx": ctx, "params": script.params})
        except PainlessError as error:
            raise script_exception(error, script.source) from None
        if not isinstance(result, bool):
            raise IllegalArgumentError(f"condition [{script.source}] of processor [{processor_type}] must return a "
                                       f"boolean, got [{java_type_name(result)}]")
        return result
    return holds


_SIMPLE_FACTORIES: dict[str, Callable[[_Config], Callable[[IngestDocument], None]]] = {
    "set": _set,
    "remove": _remove,
    "rename": _rename,
    "copy": _copy,
    "lowercase": lambda config: _field_processor(config, _strings(str.lower)),
    "uppercase": lambda config: _field_processor(config, _strings(str.upper)),
    "trim": lambda config: _field_processor(config, _strings(str.strip)),
    "html_strip": lambda config: _field_processor(
        config, _strings(lambda value: html.unescape(re.sub(r"<[^>]*>", "\n", value)))),
    "urldecode": lambda config: _field_processor(config, _strings(urllib.parse.unquote_plus)),
    "bytes": lambda config: _field_processor(config, _strings_to_bytes),
    "split": _split,
    "join": _join,
    "convert": _convert,
    "gsub": _gsub,
    "append": _append,
    "json": _json_processor,
    "date": _date,
    "fail": _fail,
    "drop": _drop,
    "dot_expander": _dot_expander,
    "sort": _sort,
    "kv": _kv,
    "csv": _csv,
    "grok": _grok,
    "remove_by_pattern": _remove_by_pattern,
    "date_index_name": _date_index_name,
    "dissect": _dissect,
    "script": _script_processor,
}


def _strings_to_bytes(value: Any, field_name: str) -> Any:
    return _strings(lambda text: _bytes_value(text, field_name))(value, field_name)


PROCESSOR_TYPES = tuple(sorted((*_SIMPLE_FACTORIES, "foreach", "pipeline")))


def _compile_processor(entry: Any, lookup: Callable[[str], Any], depth: int) -> Processor:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise _parse_error("processor definitions must be an object with exactly one processor type")
    ((processor_type, raw_config),) = entry.items()
    if processor_type == "script" and isinstance(raw_config, str):
        raw_config = {"source": raw_config}
    if raw_config is None or not isinstance(raw_config, dict):
        raise _parse_error(f"[{processor_type}] processor config must be an object", processor_type)
    condition = None
    if raw_config.get("if") is not None:
        condition = _condition(raw_config["if"], processor_type, raw_config.get("tag"))
    config = _Config(processor_type, raw_config)
    if processor_type == "foreach":
        run = _foreach(config, lookup, depth + 1)
    elif processor_type == "pipeline":
        run = _pipeline_processor(config, lookup, depth)
    elif processor_type in _SIMPLE_FACTORIES:
        run = _SIMPLE_FACTORIES[processor_type](config)
    else:
        raise _parse_error(f"No processor type exists with name [{processor_type}]", processor_type)
    on_failure_entries = config.optional("on_failure")
    if on_failure_entries is not None and (not isinstance(on_failure_entries, list) or not on_failure_entries):
        raise _parse_error("[on_failure] processors list cannot be empty", processor_type, "on_failure", config.tag)
    on_failure = tuple(_compile_processor(item, lookup, depth) for item in on_failure_entries or ())
    processor = Processor(processor_type, run, tag=config.tag, description=config.optional_string("description"),
                          ignore_failure=config.optional_boolean("ignore_failure", False), on_failure=on_failure,
                          condition=condition)
    config.finish()
    return processor


@dataclass(frozen=True)
class Pipeline:
    pipeline_id: str
    description: str | None
    processors: tuple[Processor, ...]
    on_failure: tuple[Processor, ...] = ()
    version: int | None = None
    definition: dict[str, Any] = field(default_factory=dict)

    def execute(self, document: IngestDocument) -> None:
        """Runs every processor in order (a verbose _simulate sets ``document.trace`` first)."""
        current: Processor | None = None
        document.pipeline_ids.append(self.pipeline_id)
        outer_pipeline = document.ingest.get("pipeline")
        document.ingest["pipeline"] = self.pipeline_id   # {{_ingest.pipeline}}
        try:
            for processor in self.processors:
                current = processor
                processor.execute(document)
        except DocumentDropped:
            raise
        except ApiError as error:
            if not self.on_failure:
                raise
            _run_on_failure(self.on_failure, document, error, current or Processor("pipeline", lambda d: None))
        finally:
            document.pipeline_ids.pop()
            if outer_pipeline is None:
                document.ingest.pop("pipeline", None)
            else:
                document.ingest["pipeline"] = outer_pipeline


def compile_pipeline(pipeline_id: str, definition: Any, lookup: Callable[[str], Any] | None = None) -> Pipeline:
    """A PUT _ingest/pipeline body (or a _simulate ``pipeline``) → Pipeline; parse_exception on what
    OpenSearch refuses. ``lookup(name)`` finds other pipelines for the pipeline processor at run time."""
    if not isinstance(definition, dict):
        raise _parse_error("pipeline definition must be an object")
    lookup = lookup or (lambda name: None)
    processors = definition.get("processors")
    if processors is None:
        raise _parse_error("[processors] required property is missing", property_name="processors")
    if not isinstance(processors, list):
        raise _parse_error(f"[processors] property isn't a list, but of type [{java_type_name(processors)}]",
                           property_name="processors")
    on_failure = definition.get("on_failure")
    if on_failure is not None and (not isinstance(on_failure, list) or not on_failure):
        raise _parse_error("pipeline [" + pipeline_id + "] cannot have an empty on-failure option defined")
    version = definition.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise _parse_error(f"[version] property isn't an integer, but of type [{java_type_name(version)}]",
                           property_name="version")
    return Pipeline(pipeline_id, definition.get("description"),
                    tuple(_compile_processor(entry, lookup, 0) for entry in processors),
                    tuple(_compile_processor(entry, lookup, 0) for entry in on_failure or ()),
                    version, dict(definition))
