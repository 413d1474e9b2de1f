"""A writer process is SIGKILLed at random points; every write whose call returned survives.

The child acknowledges a document id on stdout (flushed) only after ``apply_as_primary``
returned; the parent kills it after a random number of acknowledgements, reopens the shard and
checks every acknowledged id is there with its content. The seed is printed for reruns.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import orjson

from index.shard import Shard, ShardSettings

CHILD = textwrap.dedent("""
    import sys
    import orjson
    from index.operations import DeleteOperation, IndexOperation
    from index.shard import Shard, ShardSettings

    class Parsed:
        def __init__(self, values):
            self.values = values

    class FlatMapping:
        def field(self, path):
            return None
        def parse_document(self, source, document_id=None):
            return Parsed({key: [value] for key, value in source.items()})

    path, seed, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    shard = Shard.open(path, ShardSettings(translog_retention_operations=0, merge_segments_per_tier=3),
                       FlatMapping(), None)
    number = 0
    while True:
        batch = [IndexOperation(f"{prefix}d{number + k}", orjson.dumps({"title": f"t{number + k}", "n": number + k}))
                 for k in range(1 + (number + seed) % 3)]
        shard.apply_as_primary(batch, 1)
        for operation in batch:
            sys.stdout.write(operation.document_id + "\\n")
        sys.stdout.flush()
        number += len(batch)
        if number % 7 == 0:
            shard.apply_as_primary([DeleteOperation(f"{prefix}d{number - 7}")], 1)
            sys.stdout.write(f"-{prefix}d{number - 7}\\n")
            sys.stdout.flush()
        if (number + seed) % 23 == 0:
            shard.refresh()
        if (number + seed) % 41 == 0:
            shard.flush()
        if (number + seed) % 59 == 0:
            shard.maybe_merge()
""")


def test_every_acknowledged_write_survives_sigkill_at_random_points(tmp_path, stub_mapping, stub_analysis):
    seed = random.randrange(1 << 30)
    print(f"crash test seed {seed}")
    generator = random.Random(seed)
    shard_path = tmp_path / "shard"
    environment = dict(os.environ, PYTHONPATH=os.getcwd())
    for round_number in range(4):
        prefix = f"r{round_number}-"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(shard_path), str(seed + round_number), prefix],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=environment)
        lines = []
        wanted = generator.randrange(1, 150)
        while len(lines) < wanted:
            line = child.stdout.readline()
            assert line, "the writer exited early"
            lines.append(line.strip())
        child.send_signal(signal.SIGKILL)
        # read the rest through the same file objects: communicate() reads the raw descriptors and
        # drops lines readline() had already buffered — an acknowledged delete among them made a
        # deleted id look lost (the test failed ~1 run in 5 when the writer ran ahead)
        remainder, errors = child.stdout.read(), child.stderr.read()
        child.wait()
        assert "Traceback" not in errors, errors
        lines.extend(line.strip() for line in remainder.splitlines() if line.strip())
        indexed = [line for line in lines if not line.startswith("-")]
        deleted = {line[1:] for line in lines if line.startswith("-")}
        count = len(indexed)
        # the one delete that may have been in flight when the kill landed
        maybe_deleted = {f"{prefix}d{count - 7}"} if count % 7 == 0 and count >= 7 else set()
        reopened = Shard.open(shard_path, ShardSettings(), stub_mapping, stub_analysis)
        try:
            for document_id in indexed:
                stored = reopened.get(document_id)
                if document_id in deleted:
                    assert stored is None, f"acknowledged delete of {document_id} lost (seed {seed})"
                elif stored is None:
                    assert document_id in maybe_deleted, f"acknowledged {document_id} lost (seed {seed})"
                else:
                    assert orjson.loads(stored.source)["title"] == "t" + document_id.split("-d")[1]
            assert reopened.local_checkpoint == reopened.max_seq_no
        finally:
            reopened.close()
