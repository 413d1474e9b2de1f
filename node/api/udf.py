"""The UDF registry API: ``PUT|GET|DELETE /_udf/{name}`` and ``GET /_udf``.

``register(app, services)`` (called from node/api/__init__.py) adds the routes and attaches the
front's ``FrontUdfCatalog`` (node/udf/front.py), which also makes the ``wasm_udf`` and
``script_score`` query types resolvable at this coordinator.

PUT validates the body and the module on this node (udf/'s runtime: compile, ABI check, the
module size cap from ``quidditch.udf.max_module_size``, 1 MiB by default) — any problem is a 400
naming the function and the reason — then commits raft's ``PutUdf`` so every node has it and it
survives restarts. GET reads the applied cluster state; DELETE commits ``DeleteUdf`` (404 when
there is no such function).

It must never run a module on documents, and never change the cluster state except through
PutUdf / DeleteUdf.
"""

from __future__ import annotations

from typing import Any

import trio

from node.api import params, read_json_body, respond
from node.coordination.values import parse_boolean
from node.errors import ApiError
from node.udf.front import FrontUdfCatalog
from raft.commands import DeleteUdf, PutUdf
from raft.state import UdfMetadata
from udf import UdfError, validate_udf_name

FRONT_CATALOG_KEY = "quidditch_udf"


def _udf_error(error: UdfError) -> ApiError:
    return ApiError(str(error), opensearch_type=error.opensearch_type)


def _not_found(name: str) -> ApiError:
    return ApiError(f"udf [{name}] not found", opensearch_type="resource_not_found_exception",
                    **{"resource.id": name, "resource.type": "udf"})


def register(app: Any, services: Any) -> None:
    context = services.context
    catalog = FrontUdfCatalog(context)
    catalog.attach()
    app.extensions[FRONT_CATALOG_KEY] = catalog
    services.query_registry = catalog.query_registry  # this coordinator's parses resolve its own UDFs

    async def put_udf(name: str) -> Any:
        try:
            validate_udf_name(name)
        except UdfError as error:
            raise _udf_error(error) from None
        body = await read_json_body(required=True)
        limits = catalog.limits()
        runtime = catalog.runtime()
        try:
            # compiling is CPU work (and may take a while for a big module): off the event loop
            definition = await trio.to_thread.run_sync(runtime.build_definition, name, body,
                                                       limits.max_module_bytes)
        except UdfError as error:
            raise _udf_error(error) from None
        outcome = await services.submit(PutUdf(udf=UdfMetadata.from_json(definition.to_json())))
        return respond({"acknowledged": True, "name": name, "sha256": definition.sha256,
                        "kind": list(definition.kinds), "module_size_in_bytes": len(definition.module_bytes),
                        "cluster_state_version": outcome.state_version})

    async def get_udf(name: str) -> Any:
        include_module = parse_boolean(params().get("include_module"), "include_module") or False
        if name not in services.state.udfs:
            raise _not_found(name)
        try:
            definition = catalog.definition(name, services.state)
        except UdfError as error:
            raise _udf_error(error) from None
        return respond(definition.to_api_json(include_module=include_module))

    async def list_udfs() -> Any:
        state = services.state
        return respond({"udfs": [catalog.definition(name, state).to_api_json() for name in sorted(state.udfs)]})

    async def delete_udf(name: str) -> Any:
        if name not in services.state.udfs:
            raise _not_found(name)
        await services.submit(DeleteUdf(name=name))
        return respond({"acknowledged": True})

    app.add_url_rule("/_udf/<name>", "udf_put", put_udf, methods=["PUT", "POST"])
    app.add_url_rule("/_udf/<name>", "udf_get", get_udf, methods=["GET"])
    app.add_url_rule("/_udf/<name>", "udf_delete", delete_udf, methods=["DELETE"])
    app.add_url_rule("/_udf", "udf_list", list_udfs, methods=["GET"])
