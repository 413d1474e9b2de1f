"""Registration-time validation: a bad module is refused with a reason, never half-registered."""

from __future__ import annotations

import base64

import pytest

from udf.errors import UdfModuleTooLargeError, UdfValidationError
from udf.examples import wat_example_names, wat_registration_body


def test_every_wat_example_registers_with_the_kind_it_declares(runtime):
    for name in wat_example_names():
        body = wat_registration_body(name)
        definition = runtime.build_definition(name, body)
        assert definition.kinds == (body["kind"],)
        assert definition.abi_version == 1
        assert definition.module_bytes.startswith(b"\x00asm")


def test_kinds_come_from_the_exports_when_the_body_declares_none(runtime, abi_wat, keep_all_filter_body):
    score = keep_all_filter_body.replace("filter_batch", "score_batch")
    definition = runtime.build_definition("both", {"wat": abi_wat(keep_all_filter_body + score)})
    assert definition.kinds == ("filter", "score")


def test_bytes_that_are_not_wasm_are_refused_as_not_compiling(runtime):
    body = {"wasm": base64.b64encode(b"\x00asm\x07garbage").decode()}
    with pytest.raises(UdfValidationError) as raised:
        runtime.build_definition("junk", body)
    assert raised.value.reason.startswith("the module does not compile")
    assert raised.value.function_name == "junk"


def test_wat_that_does_not_parse_is_refused(runtime):
    with pytest.raises(UdfValidationError, match=r"\[wat\] does not parse"):
        runtime.build_definition("bad", {"wat": "(module (func"})


def test_wat_that_parses_but_does_not_type_check_is_refused(runtime):
    with pytest.raises(UdfValidationError, match="does not compile"):
        runtime.build_definition("bad", {"wat": '(module (func (export "x") i32.add))'})


@pytest.mark.parametrize("remove, reason", [
    ("quidditch_abi_version", "must export function quidditch_abi_version () -> (i32); it is missing"),
    ("quidditch_reserve", "must export function quidditch_reserve (i32) -> (i32); it is missing"),
    ("filter_batch", "must export filter_batch or score_batch"),
])
def test_a_module_missing_a_required_export_is_refused_naming_it(runtime, abi_wat, keep_all_filter_body,
                                                                    remove, reason):
    text = abi_wat(keep_all_filter_body).replace(f'(export "{remove}")', "")
    with pytest.raises(UdfValidationError) as raised:
        runtime.build_definition("missing", {"wat": text})
    assert reason in raised.value.reason


def test_a_module_without_a_memory_export_is_refused(runtime, abi_wat, keep_all_filter_body):
    text = abi_wat(keep_all_filter_body, memory="(memory 1)")
    with pytest.raises(UdfValidationError, match='export a memory named "memory"'):
        runtime.build_definition("no-memory", {"wat": text})


def test_a_batch_function_with_the_wrong_signature_is_refused_showing_both(runtime, abi_wat):
    body = '(func (export "score_batch") (param i32) (result f64) (f64.const 0))'
    with pytest.raises(UdfValidationError) as raised:
        runtime.build_definition("wrong", {"wat": abi_wat(body)})
    assert raised.value.reason == "export score_batch has signature (i32) -> (f64), expected (i32, i32) -> (i32)"


def test_an_export_of_the_wrong_kind_is_refused(runtime, abi_wat, keep_all_filter_body):
    text = abi_wat(keep_all_filter_body + '(global (export "score_batch") i32 (i32.const 0))')
    with pytest.raises(UdfValidationError, match="export score_batch must be a function .* got a global"):
        runtime.build_definition("global", {"wat": text})


@pytest.mark.parametrize("version", [0, 2, -1])
def test_an_unsupported_abi_version_is_refused_naming_the_supported_ones(runtime, abi_wat,
                                                                         keep_all_filter_body, version):
    with pytest.raises(UdfValidationError) as raised:
        runtime.build_definition("future", {"wat": abi_wat(keep_all_filter_body, abi_version=version)})
    assert raised.value.reason == f"quidditch_abi_version() returned {version}; this node supports abi versions [1]"


def test_a_module_that_imports_anything_is_refused(runtime, abi_wat, keep_all_filter_body):
    text = abi_wat(keep_all_filter_body).replace(
        "(module", '(module (import "env" "log" (func $log (param i32)))', 1)
    with pytest.raises(UdfValidationError, match=r"imports \['env.log'\]; udf modules may import nothing"):
        runtime.build_definition("importer", {"wat": text})


def test_a_declared_kind_the_module_does_not_export_is_refused(runtime, abi_wat, keep_all_filter_body):
    with pytest.raises(UdfValidationError, match='declares "score" but the module does not export score_batch'):
        runtime.build_definition("liar", {"wat": abi_wat(keep_all_filter_body), "kind": "score"})


def test_a_module_whose_abi_version_function_traps_is_refused(runtime, abi_wat, keep_all_filter_body):
    text = abi_wat(keep_all_filter_body).replace("(result i32) (i32.const 1))", "(result i32) unreachable)", 1)
    with pytest.raises(UdfValidationError, match="failed while starting up or reporting its abi version.*unreachable"):
        runtime.build_definition("trapper", {"wat": text})


def test_a_start_function_that_never_ends_is_stopped_and_refused(runtime, abi_wat, keep_all_filter_body):
    body = keep_all_filter_body + "(func $spin (loop $l (br $l))) (start $spin)"
    with pytest.raises(UdfValidationError, match="out of fuel"):
        runtime.build_definition("spinner", {"wat": abi_wat(body)})


def test_a_compiled_module_over_the_size_cap_is_refused_even_when_its_wat_was_under(runtime, abi_wat,
                                                                                  keep_all_filter_body):
    data = '(data (i32.const 1024) "' + "x" * 3000 + '")'
    with pytest.raises(UdfModuleTooLargeError, match="over the limit of 2000 bytes"):
        runtime.build_definition("fat", {"wat": abi_wat(keep_all_filter_body + data)}, max_module_bytes=2000)


def test_the_same_module_is_compiled_once_and_then_served_from_the_cache(runtime):
    definition = runtime.build_definition("range", wat_registration_body("range_filter"))
    first_misses = runtime.statistics().compile_cache_misses
    first = runtime.compile(definition)
    second = runtime.compile(definition)
    statistics = runtime.statistics()
    assert first is second
    assert statistics.compile_cache_misses == first_misses == 1
    assert statistics.compile_cache_hits >= 2
    assert first.engine_fingerprint == runtime.engine_fingerprint
    assert "wasmtime=" in first.engine_fingerprint


def test_a_forgotten_module_is_compiled_again_on_next_use(runtime):
    definition = runtime.build_definition("range", wat_registration_body("range_filter"))
    assert runtime.forget(definition.sha256) is True
    assert runtime.forget(definition.sha256) is False
    runtime.compile(definition)
    assert runtime.statistics().compile_cache_misses == 2


def test_compiled_code_on_disk_is_reused_by_a_new_runtime_with_the_same_engine(tmp_path):
    from udf.runtime import UdfRuntime, UdfRuntimeConfig

    config = UdfRuntimeConfig(compiled_cache_directory=str(tmp_path))
    with UdfRuntime(config) as first:
        definition = first.build_definition("range", wat_registration_body("range_filter"))
        assert first.statistics().disk_cache_stores == 1
    assert len(list(tmp_path.glob("*.cwasm"))) == 1
    with UdfRuntime(config) as second:
        compiled = second.compile(definition)
        assert compiled.kinds == ("filter",)
        assert second.statistics().disk_cache_loads == 1


def test_a_corrupted_file_in_the_disk_cache_is_ignored_and_the_module_recompiled(tmp_path):
    from udf.runtime import UdfRuntime, UdfRuntimeConfig

    config = UdfRuntimeConfig(compiled_cache_directory=str(tmp_path))
    with UdfRuntime(config) as first:
        definition = first.build_definition("range", wat_registration_body("range_filter"))
    (cached_file,) = tmp_path.glob("*.cwasm")
    data = bytearray(cached_file.read_bytes())
    data[-10] ^= 0xFF
    cached_file.write_bytes(bytes(data))
    with UdfRuntime(config) as second:
        second.compile(definition)
        statistics = second.statistics()
        assert statistics.disk_cache_loads == 0
        assert statistics.disk_cache_stores == 1


def test_a_different_engine_configuration_does_not_share_disk_cache_entries(tmp_path):
    from udf.runtime import UdfEngineConfig, UdfRuntime, UdfRuntimeConfig

    with UdfRuntime(UdfRuntimeConfig(compiled_cache_directory=str(tmp_path))) as first:
        definition = first.build_definition("range", wat_registration_body("range_filter"))
    other_engine = UdfRuntimeConfig(compiled_cache_directory=str(tmp_path),
                                    engine=UdfEngineConfig(cranelift_opt_level="none"))
    with UdfRuntime(other_engine) as second:
        assert second.engine_fingerprint != first.engine_fingerprint
        second.compile(definition)
        assert second.statistics().disk_cache_loads == 0
    assert len(list(tmp_path.glob("*.cwasm"))) == 2


def test_a_definition_whose_sha256_does_not_match_its_bytes_is_never_compiled(runtime):
    import dataclasses

    definition = runtime.build_definition("range", wat_registration_body("range_filter"))
    forged = dataclasses.replace(definition, sha256="0" * 64)
    with pytest.raises(UdfValidationError, match="does not match its module"):
        runtime.compile(forged)
