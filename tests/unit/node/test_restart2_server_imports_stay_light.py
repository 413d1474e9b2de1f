"""node.server must stay cheap to import: the shard workers are spawned only once it is imported
and Raft is built, so every module it pulls in at import time delays a restarted node's workers
(the longest part of restart-to-searchable). The HTTP stack is imported after the spawn."""

import subprocess
import sys


def test_importing_node_server_does_not_import_the_http_stack_or_the_api_modules():
    probe = ("import sys, node.server; "
             "print(','.join(sorted(name for name in ('quart', 'hypercorn', 'flask', 'node.http.app', "
             "'node.coordination.services') if name in sys.modules)))")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == ""


def test_the_http_modules_node_server_defers_still_import():
    from node.http.app import create_app
    from node.http.context import NodeContext
    from node.http.serving import serve_http

    assert callable(create_app) and callable(serve_http) and NodeContext is not None
