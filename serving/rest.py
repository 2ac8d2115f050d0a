"""TF Serving's REST API on the standard library's HTTP server, with bounded threads.

Routes: GET /v1/models/NAME[/versions/N] (status), GET .../metadata,
POST /v1/models/NAME[/versions/N]:predict with {"signature_name", "inputs"}
(columnar) or {"instances"} (row) JSON; binary strings as {"b64": "..."}.
Errors come back as {"error": "..."} with TF Serving's HTTP status codes.

A body is never read before it is known to fit (Content-Length against
--max_request_bytes: an oversized one is refused unread and its connection
closed) and a concurrency slot is free; every socket read has a timeout.
"""
from __future__ import annotations

import base64
import json
import re
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import grpc
import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from serving.decoding import parse_json_body, request_inputs
from serving.errors import ServingError, invalid, not_found
from serving.grpc_service import model_metadata_response, model_status_response
from serving.predictor import Predictor

LOG = logging.getLogger(__name__)
ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
                   r"(?:(?P<metadata>/metadata)|:(?P<verb>\w+))?/?$")


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


class _ClientGone(Exception):
    """The client stopped sending (timeout or closed socket): nobody to answer."""


def make_handler(predictor: Predictor, max_request_bytes: int, socket_timeout: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "twostream-serving"
        timeout = socket_timeout  # every read and write on the connection, headers included
        _unread_body = False

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if self._unread_body:  # the body is still on the socket: this connection is done
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client went away before its answer
                self.close_connection = True

        def _route(self):
            match = ROUTE.match(self.path.split("?", 1)[0])
            if not match:
                raise not_found(f"Malformed request: {self.command} {self.path} (expected /v1/models/NAME"
                                f"[/versions/N][/metadata|:predict])")
            version = match["version"]
            if version is not None and not version.isdigit():
                raise invalid(f"version must be a non-negative integer, got {version!r}")
            return match["name"], int(version) if version else None, match["metadata"], match["verb"]

        def handle_expect_100(self):
            length = self.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_request_bytes:
                return True  # no "100 Continue": do_POST answers 429 and the body is never sent
            return super().handle_expect_100()

        def _read_body(self, length: int) -> bytes:
            try:
                raw = self.rfile.read(length)
            except OSError:  # socket timeout or reset
                raise _ClientGone() from None
            if len(raw) != length:
                raise _ClientGone()
            self._unread_body = False
            return raw

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
            self._unread_body = True
            try:
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    raise invalid("POST needs a Content-Length header")
                if int(length) > max_request_bytes:  # refused unread: the connection closes after the answer
                    raise ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                       f"request body of {length} bytes exceeds the limit of "
                                       f"{max_request_bytes} bytes (--max_request_bytes)")
                name, version, metadata, verb = self._route()
                if metadata or verb is None:
                    raise invalid(f"{self.path}: POST goes to /v1/models/NAME[/versions/N]:predict")
                if verb in ("classify", "regress"):
                    raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                       f":{verb} is not supported: these exports have predict signatures only")
                if verb != "predict":
                    raise not_found(f"Malformed request: unknown verb :{verb}")
                with predictor.limiter.slot():  # before reading: a waiting request holds no body
                    body = parse_json_body(self._read_body(int(length)))
                    servable, signature = predictor.find(name, version, body.get("signature_name", ""))
                    inputs, rows = request_inputs(body, signature.inputs, predictor.limits)
                    outputs = predictor.run(servable, signature, inputs)
                if rows:
                    count = len(next(iter(outputs.values())))
                    self._send(200, {"predictions": [
                        {k: _json_value(k, v[i]) for k, v in outputs.items()} for i in range(count)]})
                else:
                    self._send(200, {"outputs": {k: _json_value(k, v) for k, v in outputs.items()}})
            except _ClientGone:
                self.close_connection = True
            except ServingError as err:
                self._send(err.http_status, {"error": err.message})
            except Exception as err:  # a bug must cost one request, not the connection
                self._send(500, {"error": f"internal error: {type(err).__name__}: {err}"})

    return Handler


_BUSY_BODY = json.dumps({"error": "too many open connections; retry later"}).encode()
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(_BUSY_BODY)) + _BUSY_BODY


class BoundedHTTPServer(HTTPServer):
    """Serves at most `max_connections` connections at once, on a fixed pool of threads.

    The standard ThreadingHTTPServer starts a thread per connection with no
    limit; here a connection beyond the limit gets 503 and is closed at once.
    """

    def __init__(self, address, handler, max_connections: int):
        super().__init__(address, handler)
        self._free = threading.BoundedSemaphore(max_connections)
        self._pool = ThreadPoolExecutor(max_connections, thread_name_prefix="rest")

    def process_request(self, request, client_address):
        if not self._free.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY_RESPONSE)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # the handler answers its own errors; this is a socket-level failure
            LOG.debug("REST connection from %s failed", client_address, exc_info=True)
        finally:
            self.shutdown_request(request)
            self._free.release()

    def server_close(self):
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_rest_server(predictor: Predictor, host: str, port: int, max_request_bytes: int, *,
                     max_connections: int, socket_timeout: float) -> BoundedHTTPServer:
    return BoundedHTTPServer((host, port), make_handler(predictor, max_request_bytes, socket_timeout),
                             max_connections)
