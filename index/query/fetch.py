"""The fetch phase: ShardHits of the final page → OpenSearch hit objects.

Owns ``fetch_hits`` (``_index``, ``_id``, ``_score``, ``_source`` filtered by includes/excludes
with wildcards, ``sort`` (ip sort values shown as addresses), ``fields`` from docvalue_fields and
from the ``fields`` option (values rendered by their type), ``highlight`` by the plain
highlighter, ``matched_queries`` of named clauses, ``_explanation`` when explain,
``_version``/``_seq_no``/``_primary_term`` on request), and ``filter_source``. A hit is found by its segment name and doc; if the snapshot
changed since the query phase it is found again by ``_id``. It must never score or rank.
"""

from __future__ import annotations

import fnmatch
import html
from typing import Any, Callable, Sequence

import numpy as np
import orjson

from index.errors import QueryShardError

from index.query import nodes
from index.query.collector import as_reported_score
from index.query.context import SearchContext
from index.query.execution import SegmentExecution, ShardExecution
from index.query.request import HighlightField, HighlightSpec, SearchRequest
from index.query.results import ShardHit


# -- _source filtering -----------------------------------------------------------------------------


def _matches_any(path: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def _could_match_below(path: str, patterns: Sequence[str]) -> bool:
    prefix = path + "."
    for pattern in patterns:
        if pattern.startswith(prefix) or pattern.startswith("*"):
            return True
        literal = pattern.split("*", 1)[0]
        if "*" in pattern and (literal.startswith(prefix) or prefix.startswith(literal)):
            return True
    return False


def _filter_value(value: Any, path: str, includes: Sequence[str], excludes: Sequence[str],
                  included: bool) -> tuple[bool, Any]:
    if isinstance(value, dict):
        filtered = _filter_object(value, path, includes, excludes, included)
        return (bool(filtered) or included), filtered
    if isinstance(value, list):
        items = []
        for item in value:
            keep, filtered_item = _filter_value(item, path, includes, excludes, included)
            if keep:
                items.append(filtered_item)
        return (bool(items) or included), items
    return included, value


def _filter_object(source: dict, prefix: str, includes: Sequence[str], excludes: Sequence[str],
                   parent_included: bool) -> dict:
    result: dict[str, Any] = {}
    for key, value in source.items():
        path = f"{prefix}.{key}" if prefix else key
        if excludes and _matches_any(path, excludes):
            continue
        included = parent_included or not includes or _matches_any(path, includes)
        if not included and not (isinstance(value, (dict, list)) and _could_match_below(path, includes)):
            continue
        keep, filtered = _filter_value(value, path, includes, excludes, included)
        if keep:
            result[key] = filtered
    return result


def filter_source(source: dict, includes: Sequence[str], excludes: Sequence[str]) -> dict:
    """OpenSearch _source filtering: includes/excludes are full dotted paths with ``*`` wildcards;
    including an object includes everything below it."""
    if not includes and not excludes:
        return source
    return _filter_object(source, "", tuple(includes), tuple(excludes), parent_included=False)


def source_values(source: Any, path: str) -> list:
    """Every leaf value at a dotted path of a source document, arrays flattened."""
    values: list = []

    def walk(node: Any, remaining: list[str]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, remaining)
            return
        if not remaining:
            if node is not None:
                values.append(node)
            return
        if not isinstance(node, dict):
            return
        # a key may itself contain dots ({"a.b": 1}); try the longest literal key first
        for length in range(len(remaining), 0, -1):
            key = ".".join(remaining[:length])
            if key in node:
                walk(node[key], remaining[length:])

    walk(source, path.split("."))
    return values


# -- highlighting ----------------------------------------------------------------------------------


MAX_ANALYZED_OFFSET = 1_000_000   # index.highlight.max_analyzed_offset


def _highlight_value(text: str, tokens: list, matches: Callable[[str], bool], fragment_size: int,
                     number_of_fragments: int, pre_tag: str, post_tag: str, encode: Callable[[str], str],
                     order: str) -> list[str]:
    matched = [token for token in tokens if matches(token.term)]
    if not matched:
        return []

    def render(start: int, end: int) -> str:
        pieces = []
        cursor = start
        for token in matched:
            if token.start_offset < start or token.end_offset > end:
                continue
            pieces.append(encode(text[cursor:token.start_offset]))
            pieces.append(pre_tag + encode(text[token.start_offset:token.end_offset]) + post_tag)
            cursor = token.end_offset
        pieces.append(encode(text[cursor:end]))
        return "".join(pieces)

    if number_of_fragments == 0:
        return [render(0, len(text))]
    # fragments of about fragment_size characters, cut at token starts (Lucene's SimpleFragmenter)
    fragments: list[tuple[int, int]] = []
    fragment_start = 0
    for token in tokens:
        if token.end_offset - fragment_start > fragment_size and token.start_offset > fragment_start:
            fragments.append((fragment_start, token.start_offset))
            fragment_start = token.start_offset
    fragments.append((fragment_start, len(text)))
    scored = []
    for position, (start, end) in enumerate(fragments):
        inside = {token.term for token in matched if start <= token.start_offset and token.end_offset <= end}
        if inside:
            scored.append((len(inside), position, start, end))
    best = sorted(scored, key=lambda item: (-item[0], item[1]))[:number_of_fragments]
    if order != "score":
        best.sort(key=lambda item: item[1])
    return [render(start, end).strip() for _, _, start, end in best]


def _no_match_fragment(text: str, size: int, encode: Callable[[str], str]) -> str:
    if len(text) <= size:
        return encode(text)
    cut = text.rfind(" ", 0, size + 1)
    return encode(text[:cut if cut > 0 else size])


def highlight_hit(shard: ShardExecution, spec: HighlightSpec, matchers: dict[str, list[Callable[[str], bool]]],
                  source: dict) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    encode = html.escape if spec.encoder == "html" else (lambda text: text)
    for field_spec in spec.fields:
        if "*" in field_spec.name:
            paths = [mapping.path for mapping in shard.mapping.fields()
                     if fnmatch.fnmatchcase(mapping.path, field_spec.name) and mapping.type in ("text", "keyword")]
        else:
            paths = [field_spec.name]
        for path in paths:
            fragments = _highlight_field(shard, spec, field_spec, matchers, source, path, encode)
            if fragments:
                result[path] = fragments
    return result


def _highlight_field(shard: ShardExecution, spec: HighlightSpec, field_spec: HighlightField,
                     matchers: dict[str, list[Callable[[str], bool]]], source: dict, path: str,
                     encode: Callable[[str], str]) -> list[str]:
    field_mapping = shard.mapping.field(path)
    if field_mapping is None or field_mapping.type not in ("text", "keyword"):
        return []
    require_field_match = (field_spec.require_field_match if field_spec.require_field_match is not None
                           else spec.require_field_match)
    if require_field_match:
        predicates = matchers.get(path, [])
    else:
        predicates = [predicate for field_predicates in matchers.values() for predicate in field_predicates]
    # a multi-field ("title.keyword") highlights the parent's source value
    source_path = field_mapping.multi_field_of or path if hasattr(field_mapping, "multi_field_of") else path
    texts = [value if isinstance(value, str) else orjson.dumps(value).decode() for value in source_values(source, source_path)]
    fragment_size = field_spec.fragment_size if field_spec.fragment_size is not None else spec.fragment_size
    number_of_fragments = (field_spec.number_of_fragments if field_spec.number_of_fragments is not None
                           else spec.number_of_fragments)
    pre_tags = field_spec.pre_tags or spec.pre_tags
    post_tags = field_spec.post_tags or spec.post_tags
    no_match_size = field_spec.no_match_size if field_spec.no_match_size is not None else spec.no_match_size
    fragments: list[str] = []
    if predicates:
        def matches(term: str) -> bool:
            return any(predicate(term) for predicate in predicates)

        for text in texts:
            if len(text) > MAX_ANALYZED_OFFSET:
                from index.errors import LimitExceededError

                raise LimitExceededError(
                    f"The length of [{path}] field has exceeded [{MAX_ANALYZED_OFFSET}] - maximum allowed to be "
                    f"analyzed for highlighting. This maximum can be set by changing the "
                    f"[index.highlight.max_analyzed_offset] index level setting.", limit="max_analyzed_offset")
            if field_mapping.type == "text":
                # the index-time analyzer: its terms are what the query's terms were matched against
                analyzer = shard.analysis.get(field_mapping.analyzer or "standard")
                tokens = analyzer.analyze(text)
            else:
                from index.analysis import Token

                tokens = [Token(text, 0, 0, len(text))]
            fragments.extend(_highlight_value(text, tokens, matches, fragment_size, number_of_fragments,
                                              pre_tags[0], post_tags[0], encode, spec.order))
    if not fragments and no_match_size > 0 and texts:
        fragments = [_no_match_fragment(texts[0], no_match_size, encode)]
    if number_of_fragments > 0:
        fragments = fragments[:number_of_fragments]
    return fragments


# -- fetch -----------------------------------------------------------------------------------------


def _locate(searcher: Any, hit: ShardHit) -> tuple[int, Any, int] | None:
    segments = searcher.segments
    if 0 <= hit.segment_index < len(segments) and segments[hit.segment_index].name == hit.segment_name:
        return hit.segment_index, segments[hit.segment_index], hit.doc
    for segment_index, segment in enumerate(segments):
        if segment.name == hit.segment_name:
            return segment_index, segment, hit.doc
    for segment_index, segment in enumerate(segments):
        doc = segment.lookup_id(hit.document_id)
        if doc is not None:
            return segment_index, segment, doc
    return None


def _docvalue_fields(shard_segment: Any, mapping: Any, doc: int, requested: Sequence[tuple[str, str | None]]) -> dict:
    fields: dict[str, list] = {}
    for pattern, value_format in requested:
        paths = [pattern] if "*" not in pattern else [
            field.path for field in mapping.fields() if fnmatch.fnmatchcase(field.path, pattern)]
        for path in paths:
            field_mapping = mapping.field(path)
            if field_mapping is None:
                continue
            numeric = shard_segment.numeric_doc_values(path)
            if numeric is not None:
                raw = numeric.values[numeric.offsets[doc]:numeric.offsets[doc + 1]]
                if field_mapping.type == "unsigned_long" and raw.dtype.kind == "i":
                    raw = raw.astype(np.uint64)   # int64 bit patterns from a merge (execution.field_numeric_doc_values)
                raw = raw.tolist()
                if field_mapping.type == "date":
                    from index.mapping import format_date

                    date_format = (field_mapping.date_format.split("||")[0]
                                   if value_format in (None, "use_field_mapping") else value_format)
                    # every format prints a string, epoch_millis too ("1540815132987"), as OpenSearch
                    values: list = [format_date(int(value), date_format) for value in raw]
                elif field_mapping.type == "date_nanos":
                    from index.mapping.dates import format_date_nanos

                    nanos_format = (field_mapping.date_format.split("||")[0]
                                    if value_format in (None, "use_field_mapping") else value_format)
                    values = [format_date_nanos(int(value), nanos_format) for value in raw]
                elif field_mapping.type == "boolean":
                    values = [bool(value) for value in raw]
                elif value_format not in (None, "use_field_mapping"):
                    # numbers in a java.text.DecimalFormat pattern ("#.0" → "1.0"), as OpenSearch
                    from index.aggregations.render import format_decimal
                    from index.errors import AggregationError

                    try:
                        values = [format_decimal(value, value_format) for value in raw]
                    except AggregationError:
                        raise FieldFormatError(f"[{value_format}] is not a valid number format for field [{path}]",
                                               field=path) from None
                else:
                    values = raw
                if values:
                    # the same field asked twice (say in two formats) lists both, as OpenSearch
                    fields.setdefault(path, []).extend(values)
                continue
            keyword = shard_segment.keyword_doc_values(path)
            if keyword is not None:
                ordinals = keyword.ordinals[keyword.offsets[doc]:keyword.offsets[doc + 1]].tolist()
                if ordinals:
                    terms = [keyword.terms[ordinal] for ordinal in ordinals]
                    if field_mapping.type == "ip":
                        from index.mapping.ip import format_ip

                        terms = [format_ip(value) for value in terms]
                    fields.setdefault(path, []).extend(terms)
    return fields


def _rendered_sort_values(request: SearchRequest, mapping: Any, sort_values: Sequence[Any]) -> list:
    """Sort values as the user sees them: ip fields sort by their stored form (index/mapping/ip.py)
    and are shown as addresses, as OpenSearch formats them."""
    rendered = list(sort_values)
    for position, sort_field in enumerate(request.sort[:len(rendered)]):
        field_mapping = mapping.field(sort_field.field) if mapping is not None else None
        if field_mapping is not None and field_mapping.type == "ip" and isinstance(rendered[position], str):
            from index.mapping.ip import format_ip, is_stored_ip

            if is_stored_ip(rendered[position]):
                rendered[position] = format_ip(rendered[position])
    return rendered


class FieldFormatError(QueryShardError):
    """A `format` asked for a field whose type has none (OpenSearch: illegal_argument_exception)."""

    opensearch_type = "illegal_argument_exception"


_FORMATTABLE_TYPES = frozenset({"date", "date_nanos"})
_PARSED_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float",
                           "scaled_float", "boolean", "date", "date_nanos", "ip"})


def _fields_api_values(field_mapping: Any, raw_values: list, value_format: str | None) -> list:
    """The "fields" API rendering of one field's source values, as OpenSearch's value fetchers:
    each value parsed by the field's type (a malformed one, kept only because of
    ignore_malformed, is left out), dates in the asked or the field's first format, ip as
    addresses, numbers as the number given; text and keyword as the strings given."""
    type_name = field_mapping.type
    if value_format is not None and type_name not in _FORMATTABLE_TYPES:
        raise FieldFormatError(f"Field [{field_mapping.path}] of type [{type_name}] doesn't support formats.",
                               field=field_mapping.path)
    from index.errors import MapperParsingError
    from index.mapping import convert_value

    rendered = []
    for value in raw_values:
        try:
            converted = convert_value(field_mapping, value, None)
        except MapperParsingError:
            continue
        if type_name == "date":
            from index.mapping import format_date

            rendered.append(format_date(int(converted), value_format or field_mapping.date_format.split("||")[0]))
        elif type_name == "date_nanos":
            from index.mapping.dates import format_date_nanos

            rendered.append(format_date_nanos(int(converted), value_format or field_mapping.date_format.split("||")[0]))
        elif type_name == "ip":
            from index.mapping.ip import format_ip

            rendered.append(format_ip(converted))
        elif type_name not in _PARSED_TYPES or type_name == "boolean" or isinstance(value, str):
            rendered.append(converted)   # text/keyword as strings ("5" for 5), booleans, parsed numbers
        else:
            rendered.append(value)   # the number as the document gave it (a float field's 0.1 stays 0.1)
    return rendered


def _ignored_fields(segment: Any, doc: int) -> list[str]:
    """The hit's ``_ignored``: the fields a value was dropped from (ignore_malformed / ignore_above),
    from the keyword doc values parse_document indexes them in (ADR 0347)."""
    keyword = segment.keyword_doc_values("_ignored")
    if keyword is None:
        return []
    ordinals = keyword.ordinals[keyword.offsets[doc]:keyword.offsets[doc + 1]].tolist()
    return [keyword.terms[ordinal] for ordinal in ordinals]


STORED_METADATA_NAMES = frozenset({"_source", "_none_", "_id", "_routing", "_index"})


def _stored_fields(mapping: Any, source: dict, patterns: Sequence[str]) -> dict:
    """``stored_fields``: the values of the mapped fields with ``store: true`` that match a name or
    wildcard, as OpenSearch renders stored values (dates formatted, ip as addresses, numbers as
    numbers). Quidditch keeps no separate stored-field column: they are read back from _source,
    which holds exactly what was indexed (ADR 0346). Fields without ``store`` are left out."""
    fields: dict[str, list] = {}
    for field_mapping in mapping.fields() if mapping is not None else ():
        if not getattr(field_mapping, "store", False):
            continue
        if not any(fnmatch.fnmatchcase(field_mapping.path, pattern) for pattern in patterns):
            continue
        values = _field_values_from_source(field_mapping, source, None)
        if values:
            fields[field_mapping.path] = values
    return fields


def _field_values_from_source(field_mapping: Any, source: dict, value_format: str | None) -> list:
    """One mapped field's values read from _source (a multi-field reads its parent's), rendered as
    its type does."""
    source_path = getattr(field_mapping, "multi_field_of", None) or field_mapping.path
    return _fields_api_values(field_mapping, source_values(source, source_path), value_format)


def _source_disabled(mapping: Any) -> bool:
    settings = mapping.source_settings() if mapping is not None and hasattr(mapping, "source_settings") else {}
    return isinstance(settings, dict) and settings.get("enabled", True) in (False, "false")


def _source_fields(mapping: Any, source: dict, requested: Sequence[tuple[str, str | None]]) -> dict:
    """The "fields" API: mapped leaf values read from _source (multi-fields read their parent's),
    rendered as the field's type does (_fields_api_values)."""
    fields: dict[str, list] = {}
    for pattern, value_format in requested:
        for field_mapping in mapping.fields():
            if not fnmatch.fnmatchcase(field_mapping.path, pattern):
                continue
            values = _field_values_from_source(field_mapping, source, value_format)
            if values:
                fields[field_mapping.path] = values
    return fields


def _named_matches(segment_execution: SegmentExecution, named_plans: list[tuple[str, Any]],
                   with_scores: bool) -> list[tuple[str, Any]]:
    """Per named clause, the docs of this segment it matches: a BitMap, or with scores the
    (docs, scores) arrays of the clause run on its own (its boost included), as OpenSearch scores it."""
    matches = []
    for name, plan in named_plans:
        if with_scores:
            scored = segment_execution.run_scores(plan)
            matches.append((name, (np.asarray(scored.docs), np.asarray(scored.scores))))
        else:
            matches.append((name, segment_execution.run_matches(plan)))
    return matches


def _matched_queries(named_matches: list[tuple[str, Any]], doc: int, with_scores: bool) -> Any:
    """The hit's ``matched_queries``: names in query order, or {name: score} (a name used twice
    reports once, as OpenSearch keys them by name)."""
    if not with_scores:
        names: list[str] = []
        for name, bitmap in named_matches:
            if doc in bitmap and name not in names:
                names.append(name)
        return names
    scores: dict[str, float] = {}
    for name, (docs, doc_scores) in named_matches:
        position = int(np.searchsorted(docs, doc))
        if position < len(docs) and int(docs[position]) == doc and name not in scores:
            scores[name] = as_reported_score(float(doc_scores[position]))
    return scores


def fetch_hits(searcher: Any, request: SearchRequest, hits: Sequence[ShardHit],
               context: SearchContext | None = None) -> list[dict]:
    """OpenSearch hit objects for ``hits`` (the final page), in the given order.

    ``context`` (optional, an extension of contracts §5) gives the request clock and names used
    by explain and highlight; without it the current time is used."""
    context = context or SearchContext()
    shard: ShardExecution | None = None
    plan = None
    matchers: dict[str, list[Callable[[str], bool]]] = {}
    if request.explain or request.highlight is not None:
        from index.query.planner import plan_query

        shard = ShardExecution(searcher, context)
        plan = plan_query(request.query, shard)
        plan.highlight_matchers(matchers)
    named = nodes.named_queries(request.query, request.post_filter)
    named_plans: list[tuple[str, Any]] = []
    if named:
        from index.query.planner import plan_query

        shard = shard or ShardExecution(searcher, context)
        named_plans = [(named_query.name, plan_query(named_query.query, shard)) for named_query in named]
    named_matches_by_segment: dict[int, list[tuple[str, Any]]] = {}
    source_wanted = request.source.enabled and request.stored_fields != ("_none_",)
    stored_patterns = [name for name in request.stored_fields or () if name not in STORED_METADATA_NAMES]
    rendered: list[dict] = []
    for hit in hits:
        located = _locate(searcher, hit)
        body: dict[str, Any] = {"_index": hit.index_name or context.index_name}
        if request.stored_fields != ("_none_",):
            body["_id"] = hit.document_id
        if located is None:
            body["_score"] = hit.score
            rendered.append(body)
            continue
        segment_index, segment, doc = located
        if request.version:
            body["_version"] = int(segment.versions[doc])
        if request.seq_no_primary_term:
            body["_seq_no"] = int(segment.seq_nos[doc])
            body["_primary_term"] = int(segment.primary_terms[doc])
        body["_score"] = hit.score
        ignored = _ignored_fields(segment, doc)
        if ignored:
            body["_ignored"] = ignored      # a metadata field: returned by default, as OpenSearch
        source: dict | None = None
        if source_wanted or request.highlight is not None or request.fields or stored_patterns:
            source = orjson.loads(segment.source(doc))
        # stored_fields without "_source" in the list leaves the source out, as OpenSearch
        if source_wanted and source is not None and (request.stored_fields is None
                                                      or "_source" in request.stored_fields):
            body["_source"] = filter_source(source, request.source.includes, request.source.excludes)
        fields: dict[str, list] = {}
        if stored_patterns and source is not None:
            fields.update(_stored_fields(searcher.mapping, source, stored_patterns))
        if request.fields and source is not None:
            if _source_disabled(searcher.mapping):
                raise FieldFormatError(f"Unable to retrieve the requested [fields] since _source is disabled in the "
                                       f"mappings for index [{hit.index_name or context.index_name}]")
            fields.update(_source_fields(searcher.mapping, source, request.fields))
        if request.docvalue_fields:
            fields.update(_docvalue_fields(segment, searcher.mapping, doc, request.docvalue_fields))
        if fields:
            body["fields"] = fields
        if request.highlight is not None and shard is not None and source is not None:
            highlighted = highlight_hit(shard, request.highlight, matchers, source)
            if highlighted:
                body["highlight"] = highlighted
        if hit.sort_values is not None:
            body["sort"] = _rendered_sort_values(request, searcher.mapping, hit.sort_values)
        if named_plans and shard is not None:
            if segment_index not in named_matches_by_segment:
                named_matches_by_segment[segment_index] = _named_matches(
                    SegmentExecution(shard, segment, segment_index), named_plans, request.include_named_queries_score)
            matched = _matched_queries(named_matches_by_segment[segment_index], doc,
                                       request.include_named_queries_score)
            if matched:
                body["matched_queries"] = matched
        if request.explain and shard is not None and plan is not None:
            segment_execution = SegmentExecution(shard, segment, segment_index)
            explanation = plan.explain(segment_execution, doc)
            body["_shard"] = f"[{hit.index_name}][{hit.shard_index}]"
            body["_node"] = context.node_id
            body["_explanation"] = explanation if explanation is not None else {
                "value": 0.0, "description": "no matching term", "details": []}
        rendered.append(body)
    return rendered


def explain_document(searcher: Any, query: Any, document_id: str, context: SearchContext | None = None) -> dict | None:
    """The body of ``GET /{index}/_explain/{id}`` for the shard holding the document, or None when
    no live document has that ``_id`` (node/ answers 404 then)."""
    from index.query.planner import plan_query

    context = context or SearchContext()
    for segment_index, segment in enumerate(searcher.segments):
        doc = segment.lookup_id(document_id)
        if doc is None:
            continue
        shard = ShardExecution(searcher, context)
        plan = plan_query(query, shard)
        segment_execution = SegmentExecution(shard, segment, segment_index)
        matched = doc in segment_execution.run_matches(plan)
        explanation = plan.explain(segment_execution, doc) if matched else None
        if explanation is None:
            explanation = {"value": 0.0, "description": "no matching term", "details": []}
        return {"_index": context.index_name, "_id": document_id, "matched": matched, "explanation": explanation}
    return None
