"""The example UDF modules that ship with Quidditch, and ready-made registration bodies.

Owns: locating the example sources (WAT here, C under c/) and the ``PUT /_udf/{name}`` body
each one is meant to be registered with (its declared inputs and kind). Tests, docs and
node/'s integration tests use these rather than copying module text around.

Must never: import wasmtime, index/, raft/, node/ or trio; compile anything (building the C
example needs clang: see c/build.sh).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES_DIRECTORY = Path(__file__).resolve().parent
C_EXAMPLES_DIRECTORY = EXAMPLES_DIRECTORY / "c"
C_BUILD_SCRIPT = C_EXAMPLES_DIRECTORY / "build.sh"

# name → (description, kind, inputs); the module text is read from <name>.wat.
_WAT_EXAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "recency_scorer": (
        "score * (1 + weight / (1 + age_days)) where age_days = (now_millis - published_at) / 1 day",
        "score",
        {"fields": ["published_at"], "params": ["now_millis", {"name": "weight", "default": 1.0}]},
    ),
    "range_filter": (
        "keep documents whose value lies in [lo, hi]",
        "filter",
        {"fields": ["value"], "params": ["lo", "hi"]},
    ),
    "infinite_loop": (
        "never returns; for the fuel and timeout tests",
        "filter",
        {"fields": [], "params": []},
    ),
    "memory_hog": (
        "grows memory until refused, then traps; for the memory limit tests",
        "filter",
        {"fields": [], "params": []},
    ),
}

C_EXAMPLE_INPUTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "stock_filter": (
        "keep documents with price <= max_price and stock >= min_stock",
        "filter",
        {"fields": ["price", "stock"], "params": ["max_price", "min_stock"]},
    ),
}


def wat_example_names() -> list[str]:
    return sorted(_WAT_EXAMPLES)


def wat_source(name: str) -> str:
    """The WAT text of example ``name`` (e.g. "range_filter")."""
    if name not in _WAT_EXAMPLES:
        raise KeyError(f"unknown udf example {name!r}; known: {wat_example_names()}")
    return (EXAMPLES_DIRECTORY / f"{name}.wat").read_text(encoding="utf-8")


def wat_registration_body(name: str) -> dict[str, Any]:
    """The ``PUT /_udf/{name}`` body that registers WAT example ``name``."""
    text = wat_source(name)
    description, kind, inputs = _WAT_EXAMPLES[name]
    return {"wat": text, "description": description, "kind": kind, "inputs": inputs}


def c_registration_body(name: str, wasm_base64: str) -> dict[str, Any]:
    """The body for C example ``name`` once built (c/build.sh) and base64-encoded."""
    if name not in C_EXAMPLE_INPUTS:
        raise KeyError(f"unknown C udf example {name!r}; known: {sorted(C_EXAMPLE_INPUTS)}")
    description, kind, inputs = C_EXAMPLE_INPUTS[name]
    return {"wasm": wasm_base64, "description": description, "kind": kind, "inputs": inputs}
