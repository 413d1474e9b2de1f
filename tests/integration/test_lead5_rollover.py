"""``_rollover`` on a real node with opensearch-py: conditions, dry run, the alias swap a write
alias gets (and a plain alias), the generated and the explicit new index name, and the errors."""

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(node):  # one node for the module: every test uses its own index names
    opened = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
    yield opened
    opened.close()


def aliases_of(client, alias):
    return {name: body["aliases"][alias] for name, body in client.indices.get_alias(name=alias).items()}


def test_a_write_alias_rolls_over_when_a_condition_is_met_and_keeps_reading_the_old_index(client):
    client.indices.create(index="logs-000001", body={"aliases": {"logs": {"is_write_index": True}}})
    for number in range(3):
        client.index(index="logs", id=str(number), body={"n": number}, refresh=True)

    unmet = client.indices.rollover(alias="logs", body={"conditions": {"max_docs": 10, "max_age": "7d"}})
    assert (unmet["rolled_over"], unmet["new_index"], unmet["old_index"]) == (False, "logs-000002", "logs-000001")
    assert unmet["conditions"] == {"[max_docs: 10]": False, "[max_age: 7d]": False}
    dry = client.indices.rollover(alias="logs", body={"conditions": {"max_docs": 3}}, params={"dry_run": "true"})
    assert (dry["dry_run"], dry["rolled_over"], dry["conditions"]) == (True, False, {"[max_docs: 3]": True})
    assert not client.indices.exists(index="logs-000002")

    rolled = client.indices.rollover(alias="logs", body={"conditions": {"max_docs": 3},
                                                          "settings": {"index.number_of_replicas": 0}})
    assert (rolled["acknowledged"], rolled["rolled_over"], rolled["new_index"]) == (True, True, "logs-000002")
    assert aliases_of(client, "logs") == {"logs-000001": {"is_write_index": False},
                                          "logs-000002": {"is_write_index": True}}
    assert client.index(index="logs", id="new", body={"n": 99}, refresh=True)["_index"] == "logs-000002"
    assert client.count(index="logs")["count"] == 4  # the alias reads both indices
    assert client.indices.get_settings(index="logs-000002")["logs-000002"]["settings"]["index"][
        "number_of_replicas"] == "0"


def test_a_plain_alias_moves_to_the_new_index_and_names_can_be_given(client):
    client.indices.create(index="plain-7", body={"aliases": {"plain": {}}})
    rolled = client.indices.rollover(alias="plain", new_index="plain-chosen")
    assert (rolled["old_index"], rolled["new_index"], rolled["rolled_over"]) == ("plain-7", "plain-chosen", True)
    assert list(aliases_of(client, "plain")) == ["plain-chosen"]
    with pytest.raises(RequestError, match="does not match pattern"):  # plain-chosen has no number
        client.indices.rollover(alias="plain", params={"dry_run": "true"})


@pytest.mark.parametrize("setup, alias, message", [
    ({"index": "unnumbered", "body": {"aliases": {"unnumbered-alias": {}}}}, "unnumbered-alias",
     "does not match pattern"),
    ({"index": "idx-000001", "body": {}}, "idx-000001", "is not an alias"),
    (None, "missing-alias", "does not exist"),
])
def test_rollover_errors_are_illegal_argument_exceptions(client, setup, alias, message):
    if setup:
        client.indices.create(**setup)
    with pytest.raises(RequestError) as refused:
        client.indices.rollover(alias=alias)
    assert refused.value.error == "illegal_argument_exception" and message in str(refused.value.info)
