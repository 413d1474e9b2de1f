"""The shard worker has no event loop (ADR 0215), so it must not pay for importing trio (~0.5 CPU-s
on this machine): a restarted node's shards open only once its workers have started. The blocking
frame carrier and server live in trio-free modules; the trio ones re-export them."""

import subprocess
import sys


def test_starting_the_worker_module_does_not_import_trio():
    probe = "import sys, node.workers.worker_main; print('trio' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


def test_the_trio_modules_still_offer_the_blocking_carrier_and_server_under_their_old_names():
    from node.transport import blocking_rpc, frames, framing, rpc

    assert framing.BlockingFrameSocket is frames.BlockingFrameSocket
    assert framing.encode_frame is frames.encode_frame and framing.decode_frame is frames.decode_frame
    assert rpc.serve_rpc_blocking is blocking_rpc.serve_rpc_blocking
    assert rpc.error_response is blocking_rpc.error_response
