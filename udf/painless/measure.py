"""Measures what painless costs here: compiling typical scripts (uncached) and running them, in
CPU seconds (time.process_time, so a loaded machine inflates them less than wall time).

    /work/venv/bin/python -m udf.painless.measure [--runs N]

Prints one line per script: compile µs, run µs per execution. Must never be imported by the
engine: it is a tool.
"""

from __future__ import annotations

import argparse
import time

from udf.painless import compile_script
from udf.painless.interpreter import compile_tree
from udf.painless.parser import parse

SCRIPTS = {
    "update: counter and tag": ("ctx._source.counter += params.count; "
                                "if (!ctx._source.tags.contains(params.tag)) { ctx._source.tags.add(params.tag) }"),
    "ingest if: field test": "ctx.level == 'error' && ctx.message != null",
    "reindex: rename and compute": ("ctx._source.total = ctx._source.price * params.rate; "
                                    "ctx._source.remove('price'); ctx._id = 'copy-' + ctx._id"),
    "loop: 100 iterations": "int total = 0; for (int i = 0; i < 100; i++) { total += i % 7 } return total",
}


def _variables() -> dict:
    return {"ctx": {"_source": {"counter": 1, "tags": ["a"], "price": 3.5}, "_id": "1", "level": "error",
                    "message": "m", "op": "index"},
            "params": {"count": 2, "tag": "b", "rate": 1.1}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20000)
    arguments = parser.parse_args()
    names = frozenset({"ctx", "params"})
    for label, source in SCRIPTS.items():
        started = time.process_time()
        compile_rounds = 200
        for _ in range(compile_rounds):
            compile_tree(parse(source), names)
        compile_micros = (time.process_time() - started) / compile_rounds * 1e6
        script = compile_script(source, names)
        runs = arguments.runs if "loop" not in label else max(1, arguments.runs // 50)
        started = time.process_time()
        for _ in range(runs):
            script.execute(_variables())
        run_seconds = time.process_time() - started
        print(f"{label:32s} compile {compile_micros:8.1f} µs   run {run_seconds / runs * 1e6:8.2f} µs   "
              f"({runs} runs, {run_seconds:.3f} CPU-s)")


if __name__ == "__main__":
    main()
