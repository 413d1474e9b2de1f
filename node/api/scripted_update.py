"""Scripted ``_update``: read the document, run the update script on ``ctx``, write the result back
guarded by the sequence number it read (a concurrent change is a conflict, retried up to
``retry_on_conflict`` times), as OpenSearch's UpdateHelper.

Owns ``scripted_update(services, index, document_id, update_body, query)`` → (body, status).
``ctx`` holds ``_source`` (mutable), ``op`` (``index`` — or ``create`` for a scripted upsert —
``none``/``noop`` answers ``noop`` without writing, ``delete`` deletes), ``_index``, ``_id``,
``_version``, ``_routing``, ``_now`` (epoch millis). ``upsert`` creates a missing document as
given; with ``scripted_upsert: true`` the script runs on it first. A missing document without
``upsert`` is 404 document_missing_exception; a failing script is 400 illegal_argument_exception
"failed to execute script" caused by the script_exception.

Must never: write except through node/coordination/writes.py (the one write path, so the write
replicates), or bypass the index blocks single_write checks.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from node.api.scripting import (
    compile_request, failed_to_execute, parse_script, run_script, script_source_bytes,
)
from node.coordination.resolve import resolve_write_target
from node.coordination.source_filter import SourceFilter
from node.coordination.values import parse_integer
from node.coordination.writes import WriteRequest
from node.errors import ActionRequestValidationError, ApiError, IndexNotFoundError, error_envelope

UPDATE_SCRIPT_VARIABLES = frozenset({"ctx", "params"})
NOOP_OPERATIONS = ("none", "noop")


def _noop_body(index_name: str, document_id: str, answer: dict) -> dict:
    return {"_index": index_name, "_id": document_id, "_version": answer.get("_version", 1), "result": "noop",
            "_shards": {"total": 0, "successful": 0, "failed": 0}, "_seq_no": answer.get("_seq_no", 0),
            "_primary_term": answer.get("_primary_term", 1)}


async def scripted_update(services: Any, index: str, document_id: str, update_body: dict,
                          query: dict[str, str], source_filter: SourceFilter) -> tuple[dict, int]:
    # imported here: node/api/documents.py imports this module
    from node.api.documents import (
        fetch_document, filtered_source, render_write, shard_of, single_write, write_params,
    )
    from node.api.ingest import ingest_may_apply, ingest_write, pipeline_lookup

    if update_body.get("doc") is not None:
        raise ActionRequestValidationError("can't provide both script and doc")
    from node.api.stored_scripts import stored_script_lookup
    script = parse_script(update_body["script"], stored_script=stored_script_lookup(services))
    try:
        compiled = compile_request(script, UPDATE_SCRIPT_VARIABLES)
    except ApiError as error:
        raise failed_to_execute(error) from None
    upsert = update_body.get("upsert")
    scripted_upsert = update_body.get("scripted_upsert") is True
    write = write_params(query)
    retries_left = parse_integer(query.get("retry_on_conflict"), "retry_on_conflict", 0, minimum=0) or 0
    user_guard = write.get("if_seq_no") is not None or write.get("if_primary_term") is not None

    while True:
        state = services.state
        target = resolve_write_target(state, index)
        routing = query.get("routing") or (target.routing if target is not None else None)
        found = False
        answer: dict = {}
        current_source: Any = None
        if target is not None:
            index_metadata = state.indices[target.index_name]
            if index_metadata.state != "open":
                raise ApiError("closed", opensearch_type="index_closed_exception", index_uuid=index_metadata.uuid,
                               index=index_metadata.name)
            answer, source_bytes = await fetch_document(services, index_metadata, document_id,
                                                        {"realtime": "true"}, routing)
            found = bool(answer.get("found"))
            if found:
                current_source = orjson.loads(source_bytes) if source_bytes else {}
        elif upsert is None:
            raise IndexNotFoundError(index)
        index_name = target.index_name if target is not None else index

        if found and user_guard and (write.get("if_seq_no") != answer["_seq_no"] or
                                     write.get("if_primary_term") != answer["_primary_term"]):
            raise ApiError(f"[{document_id}]: version conflict, required seqNo [{write.get('if_seq_no')}], primary "
                           f"term [{write.get('if_primary_term')}]. current document has seqNo [{answer['_seq_no']}] "
                           f"and primary term [{answer['_primary_term']}]",
                           opensearch_type="version_conflict_engine_exception", status=409, index=index_name,
                           index_uuid=state.indices[index_name].uuid,
                           shard=str(shard_of(state.indices[index_name], document_id, routing)))
        now_millis = int(time.time() * 1000)
        if found:
            ctx = {"_source": current_source, "op": "index", "_index": index_name, "_id": document_id,
                   "_version": answer["_version"], "_routing": answer.get("_routing"), "_now": now_millis}
            run_update_script(compiled, script.params, ctx)
            operation = ctx.get("op")
            guard = {"if_seq_no": answer["_seq_no"], "if_primary_term": answer["_primary_term"]}
            if operation == "delete":
                item = WriteRequest("delete", index_name, document_id, b"", routing=routing,
                                    params={**write, **guard})
            elif operation == "index":
                new_source = _require_object(ctx.get("_source"))
                item = WriteRequest("index", index_name, document_id, script_source_bytes(new_source), routing=routing,
                                    params={**write, **guard})
            else:    # none, noop, or an op OpenSearch ignores ("doing nothing")
                body = _noop_body(index_name, document_id, answer)
                if source_filter.fetch:
                    body["get"] = {"_seq_no": body["_seq_no"], "_primary_term": body["_primary_term"],
                                   "found": True, "_source": source_filter.apply(current_source)}
                return body, 200
        else:
            if upsert is None:
                index_metadata = state.indices[index_name]
                error = {"type": "document_missing_exception", "reason": f"[{document_id}]: document missing",
                         "index": index_name, "shard": str(shard_of(index_metadata, document_id, routing)),
                         "index_uuid": index_metadata.uuid}
                return error_envelope(error, 404), 404
            if not isinstance(upsert, dict):
                raise ApiError("[UpdateRequest] failed to parse field [upsert]",
                               opensearch_type="x_content_parse_exception", status=400)
            new_source = orjson.loads(orjson.dumps(upsert))
            if scripted_upsert:
                ctx = {"_source": new_source, "op": "create", "_index": index_name, "_id": document_id,
                       "_routing": routing, "_now": now_millis}
                run_update_script(compiled, script.params, ctx)
                if ctx.get("op") != "create":
                    # as OpenSearch's UpdateHelper: any other op on a scripted upsert "does nothing"
                    return _noop_body(index_name, document_id, {}), 200
                new_source = _require_object(ctx.get("_source"))
            item = WriteRequest("create", index_name, document_id, script_source_bytes(new_source), routing=routing,
                                params={key: value for key, value in write.items()
                                        if key not in ("if_seq_no", "if_primary_term")})
            if ingest_may_apply(services.state, None):
                ingested = ingest_write(services.state, item, None, pipeline_lookup(lambda: services.state))
                if ingested is None:
                    return _noop_body(index_name, document_id, {}), 200
                item = ingested
        outcome = await single_write(services, item, query)
        body, status = render_write(outcome)
        if status == 409 and retries_left > 0 and not user_guard:
            retries_left -= 1
            continue
        if "error" not in body and source_filter.fetch and item.action != "delete":
            body["get"] = {"_seq_no": body["_seq_no"], "_primary_term": body["_primary_term"], "found": True,
                           "_source": filtered_source(item.source, source_filter)}
        return body, status


def run_update_script(compiled: Any, params: dict, ctx: dict) -> None:
    try:
        run_script(compiled, {"ctx": ctx, "params": params})
    except ApiError as error:
        raise failed_to_execute(error) from None


def _require_object(source: Any) -> dict:
    if not isinstance(source, dict):
        raise ApiError(f"failed to execute script: ctx._source must stay an object, got "
                       f"[{type(source).__name__}]", opensearch_type="illegal_argument_exception", status=400)
    return source
