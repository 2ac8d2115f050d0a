"""Fuzzing the request decoding: any TensorProto or JSON body ends in arrays within the limits,
INVALID_ARGUMENT or RESOURCE_EXHAUSTED; never another exception (a crash, or an HTTP 500)."""
from __future__ import annotations

import json
import math

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tensorflow.core.framework import tensor_pb2, types_pb2

from serving.decoding import RequestLimits, decode_tensor_protos, parse_json_body, request_inputs
from serving.errors import ServingError
from serving.model_store import InputSpec, Signature
from serving.predictor import check_inputs

LIMITS = RequestLimits(max_decoded_bytes=1 << 20, max_rows=16)
REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INT32 = st.integers(-(2 ** 31), 2 ** 31 - 1)
VALUE_FIELDS = {
    "float_val": st.floats(width=32), "double_val": st.floats(), "int_val": INT32, "half_val": INT32,
    "int64_val": st.integers(-(2 ** 63), 2 ** 63 - 1), "uint32_val": st.integers(0, 2 ** 32 - 1),
    "uint64_val": st.integers(0, 2 ** 64 - 1), "bool_val": st.booleans(), "string_val": st.binary(max_size=8),
    "scomplex_val": st.floats(width=32), "dcomplex_val": st.floats(),
}
NUMERIC = [types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE, types_pb2.DT_INT32, types_pb2.DT_UINT8, types_pb2.DT_INT8,
           types_pb2.DT_INT16, types_pb2.DT_UINT16, types_pb2.DT_INT64, types_pb2.DT_BOOL, types_pb2.DT_HALF]


@st.composite
def random_protos(draw):
    """Any dtype enum (invalid, quantised and reference ones too), dims up to 2^40, any value fields."""
    proto = tensor_pb2.TensorProto(dtype=draw(st.sampled_from(sorted(types_pb2.DataType.values()))
                                              | st.integers(0, 300)))
    proto.tensor_shape.unknown_rank = draw(st.integers(0, 7)) == 0
    for size in draw(st.lists(st.integers(-3, 2 ** 40) | st.integers(0, 4), max_size=40)):
        proto.tensor_shape.dim.add(size=size)
    for field in draw(st.lists(st.sampled_from(sorted(VALUE_FIELDS)), max_size=3, unique=True)):
        getattr(proto, field).extend(draw(st.lists(VALUE_FIELDS[field], max_size=24)))
    if draw(st.booleans()):
        proto.tensor_content = draw(st.binary(max_size=96))
    return proto


@st.composite
def consistent_protos(draw):
    """Tensors whose value count fits their shape, so the success path is fuzzed too; listed integers may
    still be out of their dtype's range."""
    dtype = draw(st.sampled_from(NUMERIC))
    shape = draw(st.lists(st.integers(0, 5), max_size=4))
    count = math.prod(shape)
    raw = np.asarray(draw(st.lists(st.integers(-300, 300), min_size=count, max_size=count)),
                     dtype=np.int64).reshape(shape)
    if dtype == types_pb2.DT_BOOL:
        raw = raw > 0
    np_dtype = tf.dtypes.as_dtype(dtype).as_numpy_dtype
    if draw(st.booleans()):
        return tf.make_tensor_proto(raw.astype(np_dtype), dtype=dtype)
    values = raw.astype(np.float16) if dtype == types_pb2.DT_HALF else raw
    return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tf.TensorShape(shape).as_proto(),
                                  **_value_list(dtype, values))


@st.composite
def wire_protos(draw):
    """Random bytes that happen to parse as a TensorProto."""
    try:
        return tensor_pb2.TensorProto.FromString(draw(st.binary(max_size=120)))
    except DecodeError:
        assume(False)


def _refused_or_within_limits(decode):
    try:
        arrays = decode()
    except ServingError as err:
        assert err.code in REFUSALS, (err.code, err.message)
        return None
    total = sum(a.nbytes for a in arrays.values())
    assert total <= LIMITS.max_decoded_bytes
    assert all(a.ndim == 0 or a.shape[0] <= LIMITS.max_rows for a in arrays.values())
    return arrays


@FUZZ
@given(st.one_of(random_protos(), consistent_protos(), wire_protos()))
def test_tensor_protos_decode_or_are_refused(proto):
    arrays = _refused_or_within_limits(lambda: decode_tensor_protos({"x": proto}, LIMITS))
    if arrays is not None:
        declared = tuple(d.size for d in proto.tensor_shape.dim)
        assert arrays["x"].shape == declared  # never broadcast, never zero-filled to a different shape


def test_consistent_protos_round_trip():
    """The decoder agrees with tf.make_ndarray wherever a tensor is well-formed (the fuzz's success path)."""
    for dtype in NUMERIC + [types_pb2.DT_STRING, types_pb2.DT_COMPLEX64, types_pb2.DT_UINT32, types_pb2.DT_UINT64]:
        np_dtype = tf.dtypes.as_dtype(dtype).as_numpy_dtype
        values = (np.arange(6).reshape(2, 3) % 2).astype(np_dtype) if dtype != types_pb2.DT_STRING else \
            np.array([[b"a", b"bc", b""], [b"d", b"e", b"f"]], dtype=object)
        for proto in (tf.make_tensor_proto(values, dtype=dtype),
                      tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tf.make_tensor_proto(values).tensor_shape,
                                             **_value_list(dtype, values))):
            decoded = decode_tensor_protos({"x": proto}, LIMITS)["x"]
            assert decoded.dtype == np.dtype(np_dtype) and decoded.shape == (2, 3)
            np.testing.assert_array_equal(decoded, values)


def _value_list(dtype, values):
    flat = values.reshape(-1)
    if dtype == types_pb2.DT_STRING:
        return {"string_val": list(flat)}
    if dtype == types_pb2.DT_HALF:
        return {"half_val": flat.view(np.uint16).tolist()}
    if dtype == types_pb2.DT_COMPLEX64:
        return {"scomplex_val": flat.view(np.float32).tolist()}
    field = {types_pb2.DT_FLOAT: "float_val", types_pb2.DT_DOUBLE: "double_val", types_pb2.DT_INT64: "int64_val",
             types_pb2.DT_BOOL: "bool_val", types_pb2.DT_UINT32: "uint32_val",
             types_pb2.DT_UINT64: "uint64_val"}.get(dtype, "int_val")
    return {field: flat.tolist()}


# REST JSON -------------------------------------------------------------------

def _spec(dtype, shape):
    tf_dtype = tf.as_dtype(dtype)
    return InputSpec(np.dtype(object) if tf_dtype == tf.string else np.dtype(tf_dtype.as_numpy_dtype), tf_dtype,
                     shape)


SIGNATURES = [
    Signature("serving_default", None, None, {"rgb": _spec(tf.uint8, (-1, 2, 2, 3))}, True),
    Signature("serving_default", None, None, {"flow": _spec(tf.float32, (-1, 2, 2, 4))}, True),
    Signature("two", None, None, {"rgb": _spec(tf.uint8, (-1, 2, 2, 3)),
                                  "flow": _spec(tf.float32, (-1, 2, 2, 4))}, True),
    Signature("predict_records", None, None, {"records": _spec(tf.string, (-1,))}, True),
    Signature("metadata", None, None, {"probe": _spec(tf.int32, ())}, False),
]
JSON_LEAF = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats(allow_nan=True)
             | st.text(max_size=6) | st.fixed_dictionaries({"b64": st.text(max_size=8)}))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(st.sampled_from(["inputs", "instances", "rgb", "flow", "records", "probe",
                                                       "b64", "signature_name"]) | st.text(max_size=4),
                                      inner, max_size=4), max_leaves=60)
PIXELS = st.integers(-2, 300) | st.floats(-2, 300)


@st.composite
def shaped(draw, leaf=PIXELS, dims=st.lists(st.integers(0, 4), min_size=0, max_size=5)):
    """Nested lists of a random (or the given) shape, one in ten ragged; leaves from `leaf` or, one time in
    two, all valid pixels (so whole requests succeed too)."""
    shape = draw(dims)
    if draw(st.booleans()):
        leaf = st.integers(0, 255)

    def build(dims):
        return draw(leaf) if not dims else [build(dims[1:]) for _ in range(dims[0])]
    nested = build(shape)
    if shape and shape[0] and draw(st.integers(0, 9)) == 0:
        inner = nested
        while isinstance(inner[0], list) and inner[0]:
            inner = inner[0]
        inner.append(draw(leaf))
    return nested


ROWS = st.integers(0, 20)  # past the row cap of 16 too
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries({"inputs": st.fixed_dictionaries({"rgb": shaped(dims=ROWS.map(lambda n: [n, 2, 2, 3]))})}),
    st.fixed_dictionaries({"inputs": st.fixed_dictionaries({
        "flow": shaped(st.floats(allow_nan=True) | st.integers(-(2 ** 70), 2 ** 70), ROWS.map(lambda n: [n, 2, 2, 4])),
        "rgb": shaped(dims=ROWS.map(lambda n: [n, 2, 2, 3]))})}),
    st.fixed_dictionaries({"instances": st.lists(st.fixed_dictionaries({"rgb": shaped(dims=st.just([2, 2, 3]))}),
                                                 max_size=20)}),
    st.fixed_dictionaries({"inputs": st.fixed_dictionaries({"records": st.lists(
        st.text(max_size=3) | st.fixed_dictionaries({"b64": st.sampled_from(["", "YWI=", "!!", "YQ"])}),
        max_size=20)})}),
    st.fixed_dictionaries({"inputs": st.fixed_dictionaries({"rgb": shaped()})}),
    st.fixed_dictionaries({"inputs": st.fixed_dictionaries({"flow": shaped(st.floats(allow_nan=True, width=64))})}),
    st.fixed_dictionaries({"instances": st.lists(st.fixed_dictionaries({"rgb": shaped()}), max_size=4)}),
    st.fixed_dictionaries({"inputs": shaped(st.text(max_size=3) | st.fixed_dictionaries({"b64": st.text(max_size=8)}))}),
)


@FUZZ
@given(BODIES, st.sampled_from(SIGNATURES))
def test_json_bodies_decode_or_are_refused(body, signature):
    def decode():
        parsed = parse_json_body(json.dumps(body).encode())
        inputs, _ = request_inputs(parsed, signature.inputs, LIMITS)
        check_inputs(signature, inputs)
        for name, array in inputs.items():
            assert array.dtype == signature.inputs[name].dtype
        return inputs

    _refused_or_within_limits(decode)


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_raw_bodies_parse_or_are_refused(raw):
    _refused_or_within_limits(lambda: {"body": np.zeros(0)} if parse_json_body(raw) is not None else None)


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                 b"\xff\xfe", b"NaN", b'{"signature_name": ["x"], "inputs": {}}'])
def test_hostile_bodies_are_invalid_argument(raw):
    with pytest.raises(ServingError) as info:
        parsed = parse_json_body(raw)
        request_inputs(parsed, SIGNATURES[0].inputs, LIMITS)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
