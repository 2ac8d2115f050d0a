"""TF Serving's REST API on the standard library's ThreadingHTTPServer.

Routes: GET /v1/models/NAME[/versions/N] (status), GET .../metadata,
POST /v1/models/NAME[/versions/N]:predict with {"signature_name", "inputs"}
(columnar) or {"instances"} (row) JSON; binary strings as {"b64": "..."}.
Errors come back as {"error": "..."} with TF Serving's HTTP status codes.
"""
from __future__ import annotations

import base64
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from serving.errors import ServingError, invalid, not_found
from serving.grpc_service import model_metadata_response, model_status_response
from serving.predictor import Predictor

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
                   r"(?:(?P<metadata>/metadata)|:(?P<verb>\w+))?/?$")


def _decode_strings(value):
    """JSON strings and {"b64": ...} objects -> bytes, recursively."""
    if isinstance(value, dict):
        if set(value) != {"b64"}:
            raise invalid(f"a string tensor's objects must be {{'b64': ...}}, got keys {sorted(value)}")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError) as err:
            raise invalid(f"bad base64 in 'b64' value: {err}") from None
    if isinstance(value, list):
        return [_decode_strings(v) for v in value]
    if isinstance(value, str):
        return value.encode()
    raise invalid(f"expected a string or {{'b64': ...}} for a DT_STRING input, got {type(value).__name__}")


def to_array(name: str, value, dtype: np.dtype) -> np.ndarray:
    """One input's JSON value -> array of the signature's dtype (strings become bytes)."""
    try:
        if dtype == object:
            decoded = _decode_strings(value)
            array = np.array(decoded, dtype=object)
            return array
        array = np.asarray(value)
        if array.dtype == object or array.dtype.kind in "SU":
            raise invalid(f"input {name!r}: expected numbers for {dtype.name}, got ragged lists or strings")
        if array.dtype.kind == "f" and dtype.kind in "iub":
            if not np.all(np.equal(np.mod(array, 1), 0)):
                raise invalid(f"input {name!r}: expects {dtype.name}, got non-integral numbers")
        return array.astype(dtype)
    except ServingError:
        raise
    except (ValueError, TypeError) as err:
        raise invalid(f"input {name!r}: cannot convert to {dtype.name}: {err}") from None


def _json_value(name: str, value: np.ndarray):
    if value.dtype == object:
        def convert(item):
            if isinstance(item, bytes):
                if not name.endswith("_bytes"):
                    try:
                        return item.decode()
                    except UnicodeDecodeError:
                        pass
                return {"b64": base64.b64encode(item).decode()}
            return item
        return np.vectorize(convert, otypes=[object])(value).tolist() if value.ndim else convert(value.item())
    return value.tolist()


def request_inputs(body: dict, specs: dict) -> tuple[dict[str, np.ndarray], bool]:
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
        return {k: to_array(k, v, specs[k].dtype) for k, v in value.items()}, False
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
        return {k: to_array(k, [r[k] for r in rows], specs[k].dtype) for k in names}, True
    if len(specs) != 1:
        raise invalid(f'"instances" must be objects naming the inputs {sorted(specs)}')
    name = next(iter(specs))
    return {name: to_array(name, rows, specs[name].dtype)}, True


def _discard(stream, length: int, chunk: int = 1 << 20) -> None:
    """Reads a refused body so the client sees our 429 rather than a reset connection."""
    while length > 0:
        data = stream.read(min(chunk, length))
        if not data:
            return
        length -= len(data)


def make_handler(predictor: Predictor, max_request_bytes: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "twostream-serving"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self):
            match = ROUTE.match(self.path.split("?", 1)[0])
            if not match:
                raise not_found(f"Malformed request: {self.command} {self.path} (expected /v1/models/NAME"
                                f"[/versions/N][/metadata|:predict])")
            version = match["version"]
            if version is not None and not version.isdigit():
                raise invalid(f"version must be an integer, got {version!r}")
            return match["name"], int(version) if version else None, match["metadata"], match["verb"]

        def do_GET(self):
            try:
                name, version, metadata, verb = self._route()
                if verb:
                    raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                       f"{self.path}: use POST for :{verb}")
                if metadata:
                    response = model_metadata_response(predictor, name, version)
                    signatures = get_model_metadata_pb2.SignatureDefMap()
                    response.metadata["signature_def"].Unpack(signatures)
                    self._send(200, {
                        "model_spec": {"name": name, "signature_name": "",
                                       "version": str(response.model_spec.version.value)},
                        "metadata": {"signature_def": json_format.MessageToDict(
                            signatures, preserving_proto_field_name=True)}})
                else:
                    response = model_status_response(predictor, name, version)
                    self._send(200, json_format.MessageToDict(
                        response, preserving_proto_field_name=True,
                        always_print_fields_with_no_presence=True))
            except ServingError as err:
                self._send(err.http_status, {"error": err.message})
            except Exception as err:  # a bug must cost one request, not the connection
                self._send(500, {"error": f"internal error: {type(err).__name__}: {err}"})

        def do_POST(self):
            try:
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    self.close_connection = True
                    raise invalid("POST needs a Content-Length header")
                if int(length) > max_request_bytes:
                    _discard(self.rfile, int(length))
                    raise ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                       f"request body of {length} bytes exceeds the limit of "
                                       f"{max_request_bytes} bytes (--max_request_bytes)")
                raw = self.rfile.read(int(length))
                name, version, metadata, verb = self._route()
                if metadata or verb is None:
                    raise invalid(f"{self.path}: POST goes to /v1/models/NAME[/versions/N]:predict")
                if verb in ("classify", "regress"):
                    raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                       f":{verb} is not supported: these exports have predict signatures only")
                if verb != "predict":
                    raise not_found(f"Malformed request: unknown verb :{verb}")
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as err:
                    raise invalid(f"request body is not JSON: {err}") from None
                if not isinstance(body, dict):
                    raise invalid("request JSON must be an object")
                servable = predictor.store.get(name, version)
                signature_name = body.get("signature_name") or "serving_default"
                signature = servable.signature(signature_name)
                inputs, rows = request_inputs(body, signature.inputs)
                _, _, outputs = predictor.predict(name, version, signature_name, inputs)
                if rows:
                    count = len(next(iter(outputs.values())))
                    self._send(200, {"predictions": [
                        {k: _json_value(k, v[i]) for k, v in outputs.items()} for i in range(count)]})
                else:
                    self._send(200, {"outputs": {k: _json_value(k, v) for k, v in outputs.items()}})
            except ServingError as err:
                self._send(err.http_status, {"error": err.message})
            except Exception as err:  # a bug must cost one request, not the connection
                self._send(500, {"error": f"internal error: {type(err).__name__}: {err}"})

    return Handler


def make_rest_server(predictor: Predictor, host: str, port: int, max_request_bytes: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(predictor, max_request_bytes))
    server.daemon_threads = True
    return server
