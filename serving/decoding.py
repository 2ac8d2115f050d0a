"""Request payloads (TensorProto, REST JSON) to arrays, sized and checked before anything is allocated.

The wire size of a request says little about its decoded size: an 84-byte
TensorProto can declare a [2000, 96, 96, 3] shape with one value, which
`tf.make_ndarray` broadcasts to 55 MB. So every tensor's decoded size is
computed from its shape and dtype first and checked against the caps, its value
count must equal its shape's element count (no broadcast of a single value, no
shape-without-values taken as zeros), and JSON numbers must fit the integer
dtype they become (300 is not a uint8). Oversize -> RESOURCE_EXHAUSTED; malformed
-> INVALID_ARGUMENT; nothing here raises anything else.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from serving.errors import ServingError, exhausted, invalid

DEFAULT_MAX_DECODED_BYTES = 64 << 20
DEFAULT_MAX_ROWS = 256
MAX_RANK = 32
# A decoded string element costs its bytes plus a Python bytes object and a pointer.
STRING_ELEMENT_BYTES = 48

# dtype -> (TensorProto field holding its values, numpy dtype, proto values per element)
_VALUE_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", np.dtype(np.float32), 1),
    types_pb2.DT_DOUBLE: ("double_val", np.dtype(np.float64), 1),
    types_pb2.DT_INT32: ("int_val", np.dtype(np.int32), 1),
    types_pb2.DT_UINT8: ("int_val", np.dtype(np.uint8), 1),
    types_pb2.DT_INT16: ("int_val", np.dtype(np.int16), 1),
    types_pb2.DT_INT8: ("int_val", np.dtype(np.int8), 1),
    types_pb2.DT_UINT16: ("int_val", np.dtype(np.uint16), 1),
    types_pb2.DT_INT64: ("int64_val", np.dtype(np.int64), 1),
    types_pb2.DT_UINT32: ("uint32_val", np.dtype(np.uint32), 1),
    types_pb2.DT_UINT64: ("uint64_val", np.dtype(np.uint64), 1),
    types_pb2.DT_BOOL: ("bool_val", np.dtype(np.bool_), 1),
    types_pb2.DT_HALF: ("half_val", np.dtype(np.float16), 1),
    types_pb2.DT_BFLOAT16: ("half_val", np.dtype(tf.bfloat16.as_numpy_dtype), 1),
    types_pb2.DT_COMPLEX64: ("scomplex_val", np.dtype(np.complex64), 2),
    types_pb2.DT_COMPLEX128: ("dcomplex_val", np.dtype(np.complex128), 2),
    types_pb2.DT_STRING: ("string_val", np.dtype(object), 1),
}
_ALL_VALUE_FIELDS = ("half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val", "int64_val",
                     "bool_val", "dcomplex_val", "resource_handle_val", "variant_val", "uint32_val", "uint64_val",
                     "float8_val")


@dataclass(frozen=True)
class RequestLimits:
    """What one request may decode to: bytes over all its tensors, and rows (dim 0) per tensor."""

    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    max_rows: int = DEFAULT_MAX_ROWS

    def __post_init__(self):
        if self.max_decoded_bytes < 1 or self.max_rows < 1:
            raise ValueError("max_decoded_bytes and max_rows must be positive")


def _dtype_name(dtype: int) -> str:
    return types_pb2.DataType.Name(dtype) if dtype in types_pb2.DataType.values() else f"dtype enum {dtype}"


def check_shape(name: str, shape: tuple[int, ...], limits: RequestLimits) -> int:
    """-> element count; refuses a negative dim, a rank over MAX_RANK or too many rows."""
    if len(shape) > MAX_RANK:
        raise invalid(f"input {name!r}: rank {len(shape)} exceeds {MAX_RANK}")
    if any(d < 0 for d in shape):
        raise invalid(f"input {name!r}: shape {list(shape)} has a negative dimension")
    if shape and shape[0] > limits.max_rows:
        raise exhausted(f"input {name!r}: {shape[0]} rows (dim 0) exceed the limit of {limits.max_rows} rows "
                        f"per request (--max_request_rows); split the request")
    return math.prod(shape)


def decoded_bytes(array: np.ndarray) -> int:
    """What an array holds, a string array's bytes objects included (as _Plan counts them)."""
    if array.dtype != object:
        return array.nbytes
    return array.size * STRING_ELEMENT_BYTES + sum(len(b) for b in array.flat)


def _check_bytes(total: int, limits: RequestLimits, what: str) -> None:
    if total > limits.max_decoded_bytes:
        raise exhausted(f"{what} decode to {total} bytes, over the limit of {limits.max_decoded_bytes} bytes "
                        f"(--max_decoded_bytes)")


class _Plan:
    """One TensorProto, checked: its numpy dtype, shape, element count and decoded bytes."""

    def __init__(self, name: str, proto, limits: RequestLimits):
        self.name, self.proto = name, proto
        if proto.dtype not in _VALUE_FIELDS:
            raise invalid(f"input {name!r}: unsupported dtype {_dtype_name(proto.dtype)}")
        self.field, self.dtype, self.per_element = _VALUE_FIELDS[proto.dtype]
        if proto.tensor_shape.unknown_rank:
            raise invalid(f"input {name!r}: a request tensor needs a known shape")
        self.shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
        self.count = check_shape(name, self.shape, limits)
        if self.dtype == object:
            values = proto.string_val
            self.nbytes = self.count * STRING_ELEMENT_BYTES + sum(len(v) for v in values[:self.count + 1])
        else:
            self.nbytes = self.count * self.dtype.itemsize

    def check_values(self) -> None:
        """The values given must be exactly the shape's elements, in the dtype's own field."""
        proto, name = self.proto, self.name
        stray = [f for f in _ALL_VALUE_FIELDS if f != self.field and len(getattr(proto, f))]
        if stray:
            raise invalid(f"input {name!r}: values in {stray} do not belong to {_dtype_name(proto.dtype)} "
                          f"(its values go in {self.field} or tensor_content)")
        listed = len(getattr(proto, self.field))
        content = len(proto.tensor_content)
        if content and self.dtype == object:
            raise invalid(f"input {name!r}: DT_STRING values go in string_val, not tensor_content")
        if content and listed:
            raise invalid(f"input {name!r}: values in both tensor_content and {self.field}")
        if content:
            if content != self.nbytes:
                raise invalid(f"input {name!r}: tensor_content holds {content} bytes but shape {list(self.shape)} "
                              f"of {_dtype_name(proto.dtype)} needs {self.nbytes}")
        elif listed != self.count * self.per_element:
            raise invalid(f"input {name!r}: {listed} values in {self.field} for shape {list(self.shape)} "
                          f"({self.count} elements); every element must be given (no broadcast, no implicit "
                          f"zeros)")

    def decode(self) -> np.ndarray:
        proto, dtype = self.proto, self.dtype
        if self.dtype == object:
            array = np.empty(self.count, dtype=object)
            array[:] = list(proto.string_val)
            return array.reshape(self.shape)
        if proto.tensor_content:
            if dtype == np.bool_:
                raw = np.frombuffer(proto.tensor_content, dtype=np.uint8)
                _check_range(self.name, raw, 0, 1, "DT_BOOL")
                return raw.astype(np.bool_).reshape(self.shape)
            return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(self.shape).copy()
        values = getattr(proto, self.field)
        if self.field == "half_val":  # IEEE half or bfloat16 bit patterns in int32 slots
            bits = np.fromiter(values, dtype=np.int64, count=len(values))
            _check_range(self.name, bits, 0, 0xFFFF, "half_val bit patterns")
            return bits.astype(np.uint16).view(dtype).reshape(self.shape)
        if self.per_element == 2:
            parts = np.fromiter(values, dtype=np.float64, count=len(values))
            return parts.astype(np.float32 if dtype == np.complex64 else np.float64).view(dtype).reshape(self.shape)
        if self.field == "int_val" and dtype != np.int32:
            wide = np.fromiter(values, dtype=np.int64, count=len(values))
            info = np.iinfo(dtype)
            _check_range(self.name, wide, info.min, info.max, _dtype_name(proto.dtype))
            return wide.astype(dtype).reshape(self.shape)
        return np.fromiter(values, dtype=dtype, count=len(values)).reshape(self.shape)


def _check_range(name: str, values: np.ndarray, low, high, what: str) -> None:
    if values.size and (values.min() < low or values.max() > high):
        raise invalid(f"input {name!r}: values must lie in [{low}, {high}] for {what}, "
                      f"got {values.min()}..{values.max()}")


def decode_tensor_protos(protos, limits: RequestLimits) -> dict[str, np.ndarray]:
    """name -> TensorProto map (a request's `inputs`) -> name -> array, all checked before any is decoded."""
    plans = [_Plan(name, proto, limits) for name, proto in protos.items()]
    _check_bytes(sum(p.nbytes for p in plans), limits, f"inputs {sorted(p.name for p in plans)}")
    for plan in plans:
        plan.check_values()
    try:
        return {plan.name: plan.decode() for plan in plans}
    except ServingError:
        raise
    except (ValueError, TypeError, OverflowError) as err:  # kept as a 400, never a 500
        raise invalid(f"cannot decode the request tensors: {err}") from None


# REST JSON -------------------------------------------------------------------

def _decode_strings(value):
    """JSON strings and {"b64": ...} objects -> bytes, recursively."""
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise invalid(f"a string tensor's objects must be {{'b64': '...'}}, got keys {sorted(value)}")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError) as err:
            raise invalid(f"bad base64 in 'b64' value: {err}") from None
    if isinstance(value, list):
        return [_decode_strings(v) for v in value]
    if isinstance(value, str):
        return value.encode()
    raise invalid(f"expected a string or {{'b64': ...}} for a DT_STRING input, got {type(value).__name__}")


def json_to_array(name: str, value, dtype: np.dtype, limits: RequestLimits) -> np.ndarray:
    """One input's JSON value -> array of the signature's dtype (strings become bytes), within the limits."""
    try:
        if dtype == object:
            decoded = _decode_strings(value)
            array = np.array(decoded, dtype=object)
            check_shape(name, array.shape, limits)
            if not all(isinstance(item, bytes) for item in array.flat):
                raise invalid(f"input {name!r}: string lists must be rectangular")
            _check_bytes(decoded_bytes(array), limits, f"input {name!r}")
            return array
        array = np.asarray(value)
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise invalid(f"input {name!r}: expected numbers for {dtype.name}, got ragged lists or strings")
        check_shape(name, array.shape, limits)
        _check_bytes(array.size * dtype.itemsize, limits, f"input {name!r}")
        return _convert_numbers(name, array, dtype)
    except ServingError:
        raise
    except RecursionError:
        raise invalid(f"input {name!r}: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as err:
        raise invalid(f"input {name!r}: cannot convert to {dtype.name}: {err}") from None


def _convert_numbers(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Casts JSON numbers to `dtype`, refusing what the cast would change: fractions, overflow, wrap-around."""
    if dtype.kind in "iub":
        if array.dtype.kind == "f" and not np.all(np.equal(np.mod(array, 1), 0)):
            raise invalid(f"input {name!r}: expects {dtype.name}, got non-integral numbers")
        low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        if array.size and (array.min() < low or array.max() > high):
            raise invalid(f"input {name!r}: values must lie in [{low}, {high}] for {dtype.name}, "
                          f"got {array.min()}..{array.max()}")
        return array.astype(dtype)
    if dtype.kind in "fc":
        with np.errstate(over="ignore"):
            converted = array.astype(dtype)
        if not np.array_equal(np.isfinite(converted), np.isfinite(array)):
            raise invalid(f"input {name!r}: numbers out of range for {dtype.name}")
        return converted
    raise invalid(f"input {name!r}: JSON cannot carry {dtype.name} values")


def request_inputs(body: dict, specs: dict, limits: RequestLimits) -> tuple[dict[str, np.ndarray], bool]:
    """-> (inputs, row format?) from TF Serving's columnar or row request JSON."""
    if ("inputs" in body) == ("instances" in body):
        raise invalid('the request JSON needs exactly one of "inputs" (columnar) or "instances" (row)')
    if "inputs" in body:
        value = body["inputs"]
        if not isinstance(value, dict):
            if len(specs) != 1:
                raise invalid(f'"inputs" must name the inputs {sorted(specs)} in an object')
            value = {next(iter(specs)): value}
        unknown = set(value) - set(specs)
        if unknown:
            raise invalid(f"unknown inputs {sorted(unknown)}; the signature takes {sorted(specs)}")
        columns = value
    else:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise invalid('"instances" must be a non-empty list')
        if all(isinstance(r, dict) and "b64" not in r for r in rows):
            names = set(rows[0])
            if any(set(r) != names for r in rows):
                raise invalid('every object in "instances" must name the same inputs')
            unknown = names - set(specs)
            if unknown:
                raise invalid(f"unknown inputs {sorted(unknown)}; the signature takes {sorted(specs)}")
            columns = {k: [r[k] for r in rows] for k in names}
        else:
            if len(specs) != 1:
                raise invalid(f'"instances" must be objects naming the inputs {sorted(specs)}')
            columns = {next(iter(specs)): rows}
    arrays, total = {}, 0
    for name, value in columns.items():
        arrays[name] = json_to_array(name, value, specs[name].dtype, limits)
        total += decoded_bytes(arrays[name])
        _check_bytes(total, limits, f"inputs {sorted(arrays)}")
    return arrays, "instances" in body


def parse_json_body(raw: bytes) -> dict:
    """A :predict body -> its JSON object; anything else is INVALID_ARGUMENT."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise invalid(f"request body is not JSON: {err}") from None
    except RecursionError:
        raise invalid("request body is not JSON we accept: nested too deeply") from None
    if not isinstance(body, dict):
        raise invalid("request JSON must be an object")
    if not isinstance(body.get("signature_name", ""), str):
        raise invalid('"signature_name" must be a string')
    return body
