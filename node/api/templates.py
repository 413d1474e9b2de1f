"""Index templates (ADR 0306): legacy ``_template``, composable ``_index_template`` and
``_component_template`` — their REST APIs, where they are kept, and how they shape a new index.

Owns the routes ``PUT|POST|GET|HEAD|DELETE /_template/{name}`` (and ``GET /_template``),
``PUT|POST|GET|HEAD|DELETE /_index_template/{name}`` (and ``GET /_index_template``),
``PUT|POST|GET|HEAD|DELETE /_component_template/{name}`` (and ``GET /_component_template``), the
rows of ``_cat/templates`` (``template_rows``), and ``templated_body(state, index_name, body)``:
the create-index body after the templates matching the name are merged under it — the
highest-priority composable template (its component templates in ``composed_of`` order, then its
own ``template``), else every matching legacy template by ascending ``order`` — with the request's
own settings, mappings and aliases on top, as OpenSearch's MetadataCreateIndexService does.

``install(services)`` makes every index creation go through ``templated_body`` — explicit
``PUT /{index}`` and the write path's auto-creation alike — by wrapping the ApiServices instance's
``build_create_index`` (node/coordination is another owner's; node/api/udf.py replaces
``query_registry`` on the same instance the same way).

Templates are kept like ingest pipelines (ADR 0305): one hidden persistent cluster setting each,
``quidditch.template.{legacy,index,component}.<name>`` holding the stored JSON, committed with the
ordinary PutClusterSettings command. Settings in a template are judged by
node/api/index_settings.py and mappings by index.mapping before anything is stored.
This module must never create an index itself.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable

import orjson

from node.api import params, read_json_body, respond
from node.api.cluster_settings import HIDDEN_SETTING_PREFIXES
from node.api.index_settings import validate_new_index_settings
from node.api.indices import ack_timeout, nest_settings
from node.coordination.values import parse_boolean
from node.errors import ActionRequestValidationError, ApiError, IllegalArgumentError
from raft.apply import normalize_index_settings
from raft.commands import PutClusterSettings

LEGACY_PREFIX = "quidditch.template.legacy."
COMPOSABLE_PREFIX = "quidditch.template.index."
COMPONENT_PREFIX = "quidditch.template.component."
assert all(prefix in HIDDEN_SETTING_PREFIXES for prefix in (LEGACY_PREFIX, COMPOSABLE_PREFIX, COMPONENT_PREFIX))

LEGACY_KEYS = {"index_patterns", "template", "order", "version", "settings", "mappings", "aliases"}
COMPOSABLE_KEYS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream"}
COMPONENT_KEYS = {"template", "version", "_meta"}
TEMPLATE_BODY_KEYS = {"settings", "mappings", "aliases"}


def stored(state: Any, prefix: str) -> dict[str, dict[str, Any]]:
    return {key[len(prefix):]: orjson.loads(value) for key, value in state.persistent_settings.items()
            if key.startswith(prefix) and isinstance(value, str)}


def _matching_names(names: list[str], pattern: str | None) -> list[str]:
    if pattern is None or pattern in ("*", "_all"):
        return sorted(names)
    wanted = [part for part in pattern.split(",") if part]
    return sorted(name for name in names if any(fnmatch.fnmatchcase(name, part) for part in wanted))


def _patterns(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _unwrap_type(mappings: Any) -> dict[str, Any]:
    """Legacy templates may still carry a ``_doc`` wrapper around their mapping."""
    if isinstance(mappings, dict) and len(mappings) == 1 and "_doc" in mappings and isinstance(mappings["_doc"], dict):
        return mappings["_doc"]
    return mappings or {}


# --------------------------------------------------------------------------- validation


def _checked_template_part(part: Any, where: str) -> dict[str, Any]:
    """A template's settings/mappings/aliases, validated as index creation would validate them;
    returns the part with settings in flat ``index.*`` form."""
    if part is None:
        return {}
    if not isinstance(part, dict):
        raise ApiError(f"[{where}] must be an object, got [{part}]", opensearch_type="parse_exception", status=400)
    unknown = sorted(set(part) - TEMPLATE_BODY_KEYS)
    if unknown:
        raise ApiError(f"[{where}] unknown field [{unknown[0]}]", opensearch_type="x_content_parse_exception",
                       status=400)
    checked: dict[str, Any] = {}
    if part.get("settings") is not None:
        if not isinstance(part["settings"], dict):
            raise IllegalArgumentError(f"[{where}.settings]: expected an object, got [{part['settings']}]")
        flat = {key: value for key, value in normalize_index_settings(part["settings"]).items() if value is not None}
        validate_new_index_settings(flat)
        checked["settings"] = flat
    if part.get("mappings") is not None:
        from index.mapping import Mapping
        from node.coordination.services import normalize_mappings

        mappings = normalize_mappings(_unwrap_type(part["mappings"]))
        Mapping.from_json(mappings)
        checked["mappings"] = mappings
    if part.get("aliases") is not None:
        if not isinstance(part["aliases"], dict):
            raise IllegalArgumentError(f"[{where}.aliases]: expected an object, got [{part['aliases']}]")
        checked["aliases"] = {name: _normalized_alias(name, definition) for name, definition in part["aliases"].items()}
    return checked


def _normalized_alias(name: str, definition: Any) -> dict[str, Any]:
    """An alias as OpenSearch keeps it in a template: ``routing`` becomes index and search routing."""
    if definition is None:
        return {}
    if not isinstance(definition, dict):
        raise IllegalArgumentError(f"[aliases.{name}]: expected an object, got [{definition}]")
    normalized = {key: value for key, value in definition.items() if key != "routing"}
    if definition.get("routing") is not None:
        normalized.setdefault("index_routing", str(definition["routing"]))
        normalized.setdefault("search_routing", str(definition["routing"]))
    return normalized


def _require_patterns(body: dict[str, Any], key: str = "index_patterns") -> list[str]:
    patterns = _patterns(body.get(key))
    if not patterns:
        raise ActionRequestValidationError("index patterns are missing")
    return patterns


# --------------------------------------------------------------------------- rendering


def _render_part(part: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    if "settings" in part:
        rendered["settings"] = dict(part["settings"]) if flat_settings else nest_settings(part["settings"])
    if "mappings" in part:
        rendered["mappings"] = part["mappings"]
    if "aliases" in part:
        rendered["aliases"] = part["aliases"]
    return rendered


def legacy_view(template: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"order": template.get("order", 0)}
    if template.get("version") is not None:
        view["version"] = template["version"]
    view["index_patterns"] = template["index_patterns"]
    rendered = _render_part(template, flat_settings)
    view["settings"] = rendered.get("settings", {})
    view["mappings"] = rendered.get("mappings", {})
    view["aliases"] = rendered.get("aliases", {})
    return view


def _composable_view(template: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"index_patterns": template["index_patterns"]}
    if template.get("template"):
        view["template"] = _render_part(template["template"], flat_settings)
    view["composed_of"] = list(template.get("composed_of") or [])
    for key in ("priority", "version", "_meta", "data_stream"):
        if template.get(key) is not None:
            view[key] = template[key]
    return view


def _component_view(template: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"template": _render_part(template.get("template") or {}, flat_settings)}
    for key in ("version", "_meta"):
        if template.get(key) is not None:
            view[key] = template[key]
    return view


def template_rows(state: Any, name_pattern: str | None) -> list[dict[str, Any]]:
    """``_cat/templates``: legacy templates (order, empty composed_of) and composable ones
    (priority in the order column, composed_of listed)."""
    rows = []
    legacy = stored(state, LEGACY_PREFIX)
    for name in _matching_names(list(legacy), name_pattern):
        template = legacy[name]
        rows.append({"name": name, "index_patterns": f"[{', '.join(template['index_patterns'])}]",
                     "order": template.get("order", 0), "version": template.get("version"), "composed_of": ""})
    composable = stored(state, COMPOSABLE_PREFIX)
    for name in _matching_names(list(composable), name_pattern):
        template = composable[name]
        rows.append({"name": name, "index_patterns": f"[{', '.join(template['index_patterns'])}]",
                     "order": template.get("priority", 0), "version": template.get("version"),
                     "composed_of": f"[{', '.join(template.get('composed_of') or [])}]"})
    return rows


# --------------------------------------------------------------------------- applying templates


def _merge_mappings(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``: properties merge field by field (objects recursively), other
    keys are replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if key == "properties" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            properties = dict(merged[key])
            for field_name, definition in value.items():
                existing = properties.get(field_name)
                if isinstance(existing, dict) and isinstance(definition, dict) and \
                        "properties" in existing and "properties" in definition:
                    properties[field_name] = _merge_mappings(existing, definition)
                else:
                    properties[field_name] = definition
            merged[key] = properties
        else:
            merged[key] = value
    return merged


def _matches(patterns: list[str], index_name: str) -> bool:
    return any(fnmatch.fnmatchcase(index_name, pattern) for pattern in patterns)


def winning_composable(composable: dict[str, dict[str, Any]], index_name: str) -> tuple[str, dict] | None:
    candidates = [(template.get("priority", 0) or 0, name, template) for name, template in composable.items()
                  if _matches(template["index_patterns"], index_name)]
    if not candidates:
        return None
    _, name, template = max(candidates, key=lambda candidate: (candidate[0], candidate[1]))
    return name, template


def _composable_parts(state: Any, template: dict[str, Any]) -> list[dict[str, Any]]:
    components = stored(state, COMPONENT_PREFIX)
    parts = [components[name].get("template") or {} for name in template.get("composed_of") or []
             if name in components]
    return parts + [template.get("template") or {}]


def matching_parts(state: Any, index_name: str) -> list[dict[str, Any]]:
    """The template parts (settings/mappings/aliases) that apply to a new index, lowest precedence first."""
    winner = winning_composable(stored(state, COMPOSABLE_PREFIX), index_name)
    if winner is not None:
        return _composable_parts(state, winner[1])
    legacy = stored(state, LEGACY_PREFIX)
    ordered = sorted(((template.get("order", 0) or 0, name, template) for name, template in legacy.items()
                      if _matches(template["index_patterns"], index_name)), key=lambda item: (item[0], item[1]))
    return [template for _, _, template in ordered]


def templated_body(state: Any, index_name: str, body: Any) -> Any:
    """The create-index body with the matching templates merged under it (the body itself wins)."""
    parts = matching_parts(state, index_name)
    if not parts or (body is not None and not isinstance(body, dict)):
        return body
    body = dict(body or {})
    settings: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    for part in parts:
        settings.update(part.get("settings") or {})
        mappings = _merge_mappings(mappings, part.get("mappings") or {})
        aliases.update(part.get("aliases") or {})
    if isinstance(body.get("settings"), dict):
        settings.update({key: value for key, value in normalize_index_settings(body["settings"]).items()})
    settings = {key: value for key, value in settings.items() if value is not None}
    if settings:
        body["settings"] = settings
    if isinstance(body.get("mappings"), dict) and body["mappings"]:
        from node.coordination.services import normalize_mappings

        mappings = _merge_mappings(mappings, normalize_mappings(body["mappings"]))
    if mappings:
        body["mappings"] = mappings
    if isinstance(body.get("aliases"), dict):
        aliases.update(body["aliases"])
    if aliases:
        body["aliases"] = {alias.replace("{index}", index_name): definition for alias, definition in aliases.items()}
    return body


def _merged_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    for part in parts:
        settings.update(part.get("settings") or {})
        mappings = _merge_mappings(mappings, part.get("mappings") or {})
        aliases.update(part.get("aliases") or {})
    return {"settings": settings, "mappings": mappings, "aliases": aliases}


def simulated_index(state: Any, index_name: str, extra: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``_index_template/_simulate_index/{index}``: what the winning composable template (``extra``
    counted as stored) gives that index, and the other templates that also match it."""
    composable = stored(state, COMPOSABLE_PREFIX)
    if extra is not None:
        composable[extra[0]] = extra[1]
    winner = winning_composable(composable, index_name)
    if winner is None:
        return {}
    merged = _merged_parts(_composable_parts(state, winner[1]))
    overlapping = [{"name": name, "index_patterns": template["index_patterns"]}
                   for name, template in sorted(stored(state, LEGACY_PREFIX).items())
                   if _matches(template["index_patterns"], index_name)]
    overlapping += [{"name": name, "index_patterns": template["index_patterns"]}
                    for name, template in sorted(composable.items())
                    if name != winner[0] and _matches(template["index_patterns"], index_name)]
    return {"template": {"settings": nest_settings(merged["settings"]), "mappings": merged["mappings"],
                         "aliases": merged["aliases"]}, "overlapping": overlapping}


def install(services: Any) -> None:
    """Every index creation on this node (explicit or automatic) goes through the templates."""
    build_create_index: Callable[[str, Any], Any] = services.build_create_index

    def build_with_templates(index_name: str, body: Any) -> Any:
        return build_create_index(index_name, templated_body(services.state, index_name, body))

    services.build_create_index = build_with_templates


# --------------------------------------------------------------------------- routes


def register(app: Any, services: Any) -> None:
    install(services)

    async def store(prefix: str, name: str, value: dict[str, Any] | None) -> None:
        await services.submit(PutClusterSettings(
            persistent={prefix + name: None if value is None else orjson.dumps(value).decode()}),
            ack_timeout(params()))

    def flat_settings() -> bool:
        return parse_boolean(params().get("flat_settings"), "flat_settings", False)

    async def remove(prefix: str, names: list[str]) -> Any:
        await services.submit(PutClusterSettings(persistent={prefix + found: None for found in names}),
                              ack_timeout(params()))
        return respond({"acknowledged": True})

    def head_view(prefix: str) -> Any:
        async def head(name: str) -> Any:
            return respond(b"", 200 if _matching_names(list(stored(services.state, prefix)), name) else 404)
        return head

    def add_routes(path: str, put: Any, get: Any, head: Any, delete: Any) -> None:
        for rule, view, methods in ((f"{path}/<name>", put, ["PUT", "POST"]), (path, get, ["GET"]),
                                    (f"{path}/<name>", get, ["GET"]), (f"{path}/<name>", head, ["HEAD"]),
                                    (f"{path}/<name>", delete, ["DELETE"])):
            app.add_url_rule(rule, f"{view.__name__}{rule}", view, methods=methods)

    # ---- legacy

    async def put_legacy(name: str) -> Any:
        query = params()
        body = await read_json_body(required=True)
        if not isinstance(body, dict):
            raise ApiError("template body must be an object", opensearch_type="parse_exception", status=400)
        unknown = sorted(set(body) - LEGACY_KEYS)
        if unknown:
            raise IllegalArgumentError(f"unknown key [{unknown[0]}] in the template ")
        patterns = _require_patterns(body, "index_patterns" if "index_patterns" in body else "template")
        if parse_boolean(query.get("create"), "create", False) and name in stored(services.state, LEGACY_PREFIX):
            raise IllegalArgumentError(f"index_template [{name}] already exists")
        template: dict[str, Any] = {"index_patterns": patterns, "order": int(body.get("order") or 0)}
        if body.get("version") is not None:
            template["version"] = int(body["version"])
        template.update(_checked_template_part({key: body[key] for key in TEMPLATE_BODY_KEYS if key in body},
                                               "template"))
        await store(LEGACY_PREFIX, name, template)
        return respond({"acknowledged": True})

    async def get_legacy(name: str | None = None) -> Any:
        templates = stored(services.state, LEGACY_PREFIX)
        names = _matching_names(list(templates), name)
        if name is not None and not names:
            return respond({}, 404)
        return respond({found: legacy_view(templates[found], flat_settings()) for found in names})

    async def delete_legacy(name: str) -> Any:
        names = _matching_names(list(stored(services.state, LEGACY_PREFIX)), name)
        if not names:
            raise ApiError(f"index_template [{name}] missing", opensearch_type="index_template_missing_exception",
                           status=404)
        return await remove(LEGACY_PREFIX, names)

    add_routes("/_template", put_legacy, get_legacy, head_view(LEGACY_PREFIX), delete_legacy)

    # ---- component

    async def put_component(name: str) -> Any:
        query = params()
        body = await read_json_body(required=True)
        if not isinstance(body, dict) or "template" not in body:
            raise ApiError("[template] is required", opensearch_type="x_content_parse_exception", status=400)
        unknown = sorted(set(body) - COMPONENT_KEYS)
        if unknown:
            raise ApiError(f"[component_template] unknown field [{unknown[0]}]",
                           opensearch_type="x_content_parse_exception", status=400)
        if parse_boolean(query.get("create"), "create", False) and name in stored(services.state, COMPONENT_PREFIX):
            raise IllegalArgumentError(f"component template [{name}] already exists")
        template: dict[str, Any] = {"template": _checked_template_part(body["template"], "template")}
        for key in ("version", "_meta"):
            if body.get(key) is not None:
                template[key] = body[key]
        await store(COMPONENT_PREFIX, name, template)
        return respond({"acknowledged": True})

    async def get_component(name: str | None = None) -> Any:
        templates = stored(services.state, COMPONENT_PREFIX)
        names = _matching_names(list(templates), name)
        if name is not None and not names:
            raise ApiError(f"component template matching [{name}] not found",
                           opensearch_type="resource_not_found_exception", status=404)
        return respond({"component_templates": [{"name": found, "component_template": _component_view(
            templates[found], flat_settings())} for found in names]})

    async def delete_component(name: str) -> Any:
        names = _matching_names(list(stored(services.state, COMPONENT_PREFIX)), name)
        if not names:
            raise ApiError(f"component template matching [{name}] not found",
                           opensearch_type="resource_not_found_exception", status=404)
        users = sorted(template_name for template_name, template in stored(services.state, COMPOSABLE_PREFIX).items()
                       if set(template.get("composed_of") or []) & set(names))
        if users:
            raise IllegalArgumentError(f"component templates [{', '.join(names)}] cannot be removed as they are "
                                       f"still in use by index templates [{', '.join(users)}]")
        return await remove(COMPONENT_PREFIX, names)

    add_routes("/_component_template", put_component, get_component, head_view(COMPONENT_PREFIX), delete_component)

    # ---- composable

    def checked_composable(name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError("index template body must be an object", opensearch_type="parse_exception", status=400)
        unknown = sorted(set(body) - COMPOSABLE_KEYS)
        if unknown:
            raise ApiError(f"[index_template] unknown field [{unknown[0]}]",
                           opensearch_type="x_content_parse_exception", status=400)
        template: dict[str, Any] = {"index_patterns": _require_patterns(body),
                                    "composed_of": [str(item) for item in body.get("composed_of") or []]}
        components = stored(services.state, COMPONENT_PREFIX)
        missing = [component for component in template["composed_of"] if component not in components]
        if missing:
            raise ApiError(f"index_template [{name}] invalid, cause [index template [{name}] specifies component "
                           f"templates [{', '.join(missing)}] that do not exist]",
                           opensearch_type="invalid_index_template_exception", status=400)
        if body.get("template") is not None:
            template["template"] = _checked_template_part(body["template"], "template")
        for key in ("priority", "version", "_meta"):
            if body.get(key) is not None:
                template[key] = body[key]
        if body.get("data_stream") is not None:
            # OpenSearch shows the timestamp field it defaults to (node/api/data_streams.py)
            field = (body["data_stream"].get("timestamp_field") or {}).get("name", "@timestamp")
            template["data_stream"] = {"timestamp_field": {"name": field}}
        return template

    async def simulate_index(index_name: str) -> Any:
        body = await read_json_body()
        extra = None
        if body:
            extra = (f"simulate_index_template_{index_name}", checked_composable("simulate_index_template", body))
        return respond(simulated_index(services.state, index_name, extra))

    async def simulate_template(name: str | None = None) -> Any:
        body = await read_json_body()
        composable = stored(services.state, COMPOSABLE_PREFIX)
        if body:
            template = checked_composable(name or "simulate_template", body)
        elif name is not None and name in composable:
            template = composable[name]
        else:
            raise ApiError(f"unable to simulate template [{name}] that does not exist",
                           opensearch_type="resource_not_found_exception" if name else "illegal_argument_exception",
                           status=404 if name else 400)
        merged = _merged_parts(_composable_parts(services.state, template))
        overlapping = [{"name": other, "index_patterns": theirs["index_patterns"]}
                       for other, theirs in sorted(composable.items()) if other != name and any(
                           fnmatch.fnmatchcase(mine, pattern) or fnmatch.fnmatchcase(pattern, mine)
                           for mine in template["index_patterns"] for pattern in theirs["index_patterns"])]
        return respond({"template": {"settings": nest_settings(merged["settings"]), "mappings": merged["mappings"],
                                     "aliases": merged["aliases"]}, "overlapping": overlapping})

    app.add_url_rule("/_index_template/_simulate_index/<index_name>", "simulate_index_template", simulate_index,
                     methods=["POST"])
    app.add_url_rule("/_index_template/_simulate", "simulate_template", simulate_template, methods=["POST"])
    app.add_url_rule("/_index_template/_simulate/<name>", "simulate_template_name", simulate_template,
                     methods=["POST"])

    async def put_composable(name: str) -> Any:
        query = params()
        body = await read_json_body(required=True)
        if isinstance(body, dict) and body.get("data_stream") is not None and not isinstance(body["data_stream"], dict):
            raise IllegalArgumentError("[data_stream] must be an object")
        template = checked_composable(name, body)
        existing = stored(services.state, COMPOSABLE_PREFIX)
        if parse_boolean(query.get("create"), "create", False) and name in existing:
            raise IllegalArgumentError(f"index template [{name}] already exists")
        patterns = template["index_patterns"]
        priority = int(template.get("priority") or 0)
        overlapping = {other: theirs["index_patterns"] for other, theirs in sorted(existing.items())
                       if other != name and (theirs.get("priority", 0) or 0) == priority and any(
                           fnmatch.fnmatchcase(mine, pattern) or fnmatch.fnmatchcase(pattern, mine)
                           for mine in patterns for pattern in theirs["index_patterns"])}
        if overlapping:
            described = ", ".join(f"{other} => [{', '.join(theirs)}]" for other, theirs in overlapping.items())
            raise IllegalArgumentError(
                f"index template [{name}] has index patterns [{', '.join(patterns)}] matching patterns from "
                f"existing templates [{', '.join(overlapping)}] with patterns ({described}) that have the same "
                f"priority [{priority}], multiple index templates may not match during index creation, please use "
                f"a different priority")
        await store(COMPOSABLE_PREFIX, name, template)
        return respond({"acknowledged": True})

    async def get_composable(name: str | None = None) -> Any:
        templates = stored(services.state, COMPOSABLE_PREFIX)
        names = _matching_names(list(templates), name)
        if name is not None and not names:
            raise ApiError(f"index template matching [{name}] not found",
                           opensearch_type="resource_not_found_exception", status=404)
        return respond({"index_templates": [{"name": found, "index_template": _composable_view(
            templates[found], flat_settings())} for found in names]})

    async def delete_composable(name: str) -> Any:
        names = _matching_names(list(stored(services.state, COMPOSABLE_PREFIX)), name)
        if not names:
            raise ApiError(f"index_template [{name}] missing", opensearch_type="index_template_missing_exception",
                           status=404)
        return await remove(COMPOSABLE_PREFIX, names)

    add_routes("/_index_template", put_composable, get_composable, head_view(COMPOSABLE_PREFIX), delete_composable)
