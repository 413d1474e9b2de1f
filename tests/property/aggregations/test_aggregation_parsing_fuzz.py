"""Malformed aggregation requests fail with a typed error (a 400 for the user), never with a
Python exception that would become a 500: random JSON built from real aggregation keywords."""

from hypothesis import given, settings, strategies as st

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
import orjson

from index.aggregations import AggregationPartial, collect_segment, merge_partials, render
from index.errors import IndexEngineError

TYPES = ["terms", "histogram", "date_histogram", "range", "date_range", "filter", "filters", "missing",
         "global", "avg", "min", "max", "sum", "value_count", "stats", "extended_stats", "cardinality",
         "percentiles", "percentile_ranks", "weighted_avg", "top_hits", "composite",
         "median_absolute_deviation", "max_bucket", "cumulative_sum", "bucket_sort", "significant_terms", "rare_terms",
         "nonsense"]
KEYS = ["field", "size", "shard_size", "interval", "calendar_interval", "fixed_interval", "ranges", "from",
        "to", "order", "missing", "min_doc_count", "extended_bounds", "hard_bounds", "keyed", "format",
        "time_zone", "offset", "percents", "values", "sort", "_source", "sources", "after", "include",
        "exclude", "buckets_path", "filters", "other_bucket", "precision_threshold", "sigma", "value",
        "weight", "term", "match_all", "min", "max", "key", "_count", "_key", "asc", "desc"]
FIELDS = ["tag", "n", "x", "when", "nope"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(FIELDS + ["1d", "month", "+1h", "Europe/Paris", "asc", "desc", "r.*", "_count",
                                              "2020-01-01", "now-1d", "x>y", "a"]))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(KEYS + FIELDS), children, max_size=4)),
    max_leaves=12)
# bodies are objects of real parameter names (with "field" usually present) so that most
# requests get past the first check and exercise the parameter handling and collection
PLAUSIBLE = {"interval": st.sampled_from([1, 2.5, 10]), "calendar_interval": st.sampled_from(["day", "month", "1w"]),
             "fixed_interval": st.sampled_from(["1h", "30m", "2d"]), "size": st.integers(1, 5),
             "ranges": st.lists(st.fixed_dictionaries({}, optional={"from": st.integers(0, 3), "to": st.integers(1, 5)}),
                                min_size=1, max_size=3),
             "order": st.sampled_from([{"_count": "asc"}, {"_key": "desc"}, [{"_count": "desc"}]]),
             "min_doc_count": st.integers(0, 2), "keyed": st.booleans(), "missing": st.sampled_from([0, "z", 1.5]),
             "percents": st.lists(st.integers(0, 100), min_size=1, max_size=3),
             "values": st.lists(st.integers(0, 5), min_size=1, max_size=3),
             "sources": st.lists(st.builds(lambda name, kind, field_name: {name: {kind: {"field": field_name, **(
                 {"interval": 2} if kind == "histogram" else {"calendar_interval": "day"} if kind == "date_histogram"
                 else {})}}}, st.sampled_from(["s", "t"]), st.sampled_from(["terms", "histogram", "date_histogram"]),
                 st.sampled_from(FIELDS)), min_size=1, max_size=2, unique_by=lambda source: next(iter(source))),
             "buckets_path": st.sampled_from(["a>b", "_count", "b", "a>_count"]),
             "time_zone": st.sampled_from(["UTC", "Europe/Paris", "+02:00"])}
bodies = st.builds(lambda field_name, plausible, rest: {"field": field_name, **plausible, **rest},
                   st.sampled_from(FIELDS),
                   st.dictionaries(st.sampled_from(sorted(PLAUSIBLE)), st.none(), max_size=3).flatmap(
                       lambda chosen: st.fixed_dictionaries({key: PLAUSIBLE[key] for key in chosen})),
                   st.dictionaries(st.sampled_from(KEYS), json_values, max_size=1))


def aggregation_json():
    return st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.builds(lambda kind, body, sub: {kind: body, **({"aggs": sub} if sub else {})},
                  st.sampled_from(TYPES), st.one_of(bodies, bodies, bodies, json_values),
                  st.one_of(st.none(), st.dictionaries(st.sampled_from(["d", "e"]),
                                                       st.builds(lambda kind, body: {kind: body},
                                                                 st.sampled_from(TYPES), bodies),
                                                       max_size=2))),
        min_size=1, max_size=2)


FIELD_TYPES = {"tag": "keyword", "n": "long", "x": "double", "when": "date"}
DOCUMENTS = [{"tag": "a", "n": 1, "x": 1.5, "when": 1_600_000_000_000}, {"tag": ["b", "c"], "n": [2, 3]}, {}]


@settings(max_examples=120, deadline=None)
@given(aggs_json=aggregation_json())
def test_random_requests_parse_collect_and_render_or_fail_with_a_typed_error(aggs_json):
    try:
        tree = parse(aggs_json)
        segment = FakeSegment(DOCUMENTS, FIELD_TYPES)
        partial = collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)))
        # every kind of state must survive the wire (orjson refuses numpy scalars, for one)
        over_the_wire = AggregationPartial.from_wire(orjson.loads(orjson.dumps(partial.to_wire())))
        assert render(merge_partials([partial, over_the_wire], tree), tree) == \
            render(merge_partials([partial, partial], tree), tree)
    except IndexEngineError:
        pass
