"""The recording double's API surface checked against the REAL TensorRT-RTX module, where the
versions overlap, so the double cannot drift from the real API there.

TensorRT-RTX shares TensorRT 10's Python API except for what it removed. So:

- every class, method, property and enum member the double's "rtx" surface offers exists in the
  real module, as the same kind of thing (method or property), with the parameter names of one of
  its real signatures, and enum members with the real values;
- the double's TensorRT 10.3 surface is the RTX one plus exactly the names RTX removed, and the
  real module lacks each of those (EXPLICIT_BATCH, the FP16/INT8 builder flags, the INT8
  calibrator, the platform queries, ``build_engine``, ``max_workspace_size``, the binding API).

The 7.2/8.x surfaces cannot be checked here: no real module of those versions exists on this
machine.
"""

import enum
import re

import pytest

from . import trt_recording_double as double
from .rtx_artifacts import rtx_module

CLASSES = ("Builder", "IBuilderConfig", "OnnxParser", "Runtime", "ICudaEngine", "IExecutionContext",
           "ILogger", "IProfiler", "IOptimizationProfile", "ITimingCache", "INetworkDefinition",
           "IHostMemory", "IRuntimeConfig")
ENUMS = ("NetworkDefinitionCreationFlag", "BuilderFlag", "MemoryPoolType", "TensorIOMode", "DataType")
# What TensorRT 11 / TensorRT-RTX removed, as the issue and the migration guide name it.
EXPECTED_REMOVED = {
    "module": {"IInt8EntropyCalibrator2"},
    "Builder": {"platform_has_fast_int8", "platform_has_fast_fp16"},
    "IBuilderConfig": {"int8_calibrator", "set_calibration_profile"},
    "NetworkDefinitionCreationFlag": {"EXPLICIT_BATCH"},
    "BuilderFlag": {"FP16", "INT8"},
}


@pytest.fixture(scope="module")
def real():
    return rtx_module()


def doubles(monkeypatch):
    surfaces = {}
    for series, version in (("10.3", "10.3.0.26"), ("rtx", double.RTX_VERSION)):
        state = double.State(version, [("input", [-1, 3])], [("output", [-1, 2])])
        surfaces[series] = double.make_tensorrt(state, "tensorrt_rtx" if series == "rtx" else "tensorrt")
    return surfaces


def surface(module, series):
    """{owner: {name: kind}}: what the double offers for ``series`` (kind: method/property/member)."""
    out = {"module": dict((n, "name") for n in dir(module) if not n.startswith("_"))}
    for cls_name in CLASSES:
        cls = getattr(module, cls_name, None)
        if cls is None:
            continue
        absent = double.ABSENT[series].get(cls_name, set())
        names = {}
        for name, value in vars(cls).items():
            if name.startswith("_") or name in absent or isinstance(value, type):
                continue
            names[name] = "property" if isinstance(value, property) else "method"
        out[cls_name] = names
    for enum_name in ENUMS:
        out[enum_name] = dict((n, int(v)) for n, v in getattr(module, enum_name).__members__.items())
    out["Severity"] = dict((n, int(v)) for n, v in module.ILogger.Severity.__members__.items())
    return out


def real_owner(real, owner):
    if owner == "module":
        return real
    if owner == "Severity":
        return real.ILogger.Severity
    return getattr(real, owner)


def real_parameter_lists(function):
    """Parameter names (self dropped) of each signature in a pybind11 docstring."""
    lists = []
    for match in re.finditer(r"\w+\(self: [^,)]+(?P<rest>[^)]*)\)", function.__doc__ or ""):
        names = re.findall(r"(?:^|, )(\w+):", match.group("rest"))
        lists.append(names)
    return lists


def double_parameters(function):
    import inspect

    return [p for p in inspect.signature(function).parameters][1:]


def test_the_rtx_surface_of_the_double_exists_in_the_real_module(real, monkeypatch):
    fake = doubles(monkeypatch)["rtx"]
    for owner, names in surface(fake, "rtx").items():
        target = real_owner(real, owner)
        for name, kind in names.items():
            assert hasattr(target, name), "{}.{} is in the double's RTX surface, not in {} {}".format(
                owner, name, real.__name__, real.__version__)
            value = getattr(target, name)
            if kind == "property":
                assert isinstance(value, property), "{}.{} is a property in the double only".format(owner, name)
            elif kind == "method":
                assert callable(value) and not isinstance(value, property), "{}.{}".format(owner, name)
                mine = double_parameters(getattr(getattr(fake, owner), name))
                theirs = real_parameter_lists(value)
                if theirs:  # a documented signature: the double's names must be one of them (a prefix)
                    assert any(t[:len(mine)] == mine for t in theirs), "{}.{}{} vs real {}".format(
                        owner, name, tuple(mine), theirs)
            elif isinstance(kind, int):  # an enum member: same value
                assert int(value) == kind, "{}.{} = {} in the double, {} for real".format(
                    owner, name, kind, int(value))


def test_the_10_3_surface_is_rtx_plus_exactly_what_rtx_removed(real, monkeypatch):
    surfaces = doubles(monkeypatch)
    ten, rtx = surface(surfaces["10.3"], "10.3"), surface(surfaces["rtx"], "rtx")
    removed = {}
    for owner, names in ten.items():
        gone = set(names) - set(rtx.get(owner, {}))
        if gone:
            removed[owner] = gone
        for name in gone:  # the real module proves each removal
            assert not hasattr(real_owner(real, owner), name), "{}.{} still exists in {} {}".format(
                owner, name, real.__name__, real.__version__)
        for name in set(names) & set(rtx.get(owner, {})):
            assert hasattr(real_owner(real, owner), name), "{}.{}".format(owner, name)
    # The double removes what the migration guide says; what 10.x already lacked, RTX lacks too.
    for owner, names in EXPECTED_REMOVED.items():
        assert names <= removed.get(owner, set()), (owner, removed.get(owner))
    assert double._BINDING_API <= double.ABSENT["rtx"]["ICudaEngine"]
    for owner, names in double.ABSENT["10.3"].items():
        for name in names & double.ABSENT["rtx"].get(owner, set()):
            assert not hasattr(real_owner(real, owner), name), "{}.{}".format(owner, name)
    # and what RTX added over 10.3, the real module has (the JIT's runtime config)
    assert hasattr(real.ICudaEngine, "create_runtime_config") and hasattr(real, "IRuntimeConfig")


def test_the_version_layer_names_only_what_the_real_module_has(real):
    """The calls library.py makes on the TensorRT-RTX row, looked up on the real classes."""
    from edgetrt.agent.backends.tensorrt.library import TensorRTLibrary

    library = TensorRTLibrary(real)
    assert library.api.name == "TensorRT-RTX 1.x" and library.api.strongly_typed
    for owner, name in (("Builder", "create_network"), ("Builder", "build_serialized_network"),
                        ("Builder", "create_builder_config"), ("IBuilderConfig", "set_memory_pool_limit"),
                        ("OnnxParser", "parse_from_file"), ("Runtime", "deserialize_cuda_engine"),
                        ("ICudaEngine", "create_runtime_config"), ("ICudaEngine", "create_execution_context"),
                        ("ICudaEngine", "num_io_tensors"), ("IExecutionContext", "execute_async_v3"),
                        ("IExecutionContext", "set_tensor_address"), ("IExecutionContext", "profiler")):
        assert hasattr(getattr(real, owner), name), "{}.{}".format(owner, name)
    assert isinstance(real.MemoryPoolType.WORKSPACE, enum.Enum) or int(real.MemoryPoolType.WORKSPACE) == 0
    assert real.nptype(real.DataType.HALF).__name__ == "float16"
