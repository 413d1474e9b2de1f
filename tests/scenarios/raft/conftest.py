"""Golden scenario tests for raft/allocation: `pytest tests/scenarios/raft --update-goldens`
rewrites the expected output in each tests/scenarios/raft/*.txt; review the diff like code."""


def pytest_addoption(parser):
    try:
        parser.addoption("--update-goldens", action="store_true", default=False,
                         help="rewrite the expected output of golden scenario files")
    except ValueError:
        pass  # another conftest already registered the same flag; one flag serves both
