"""serving.server: gRPC and REST against the real tensorflow-serving-api protos and urllib."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from media.flow import FlowEstimator, compute_flows
from media.records import encode_record
from media.video import resize_short_side
from serving.batching import BatchingParameters
from serving.client import chunk_rows
from serving.decoding import DEFAULT_MAX_ROWS
from serving.server import EmbeddedServer, ServerOptions, parse_args
from tests.test_serving_fixtures import CLASSES, SIZE, moving_frames, preprocessing, stream_model
from tfx_models.export.saved_model import export_model

MAX_REQUEST_BYTES = 1 << 20
MAX_DECODED_BYTES = 256 << 10  # 16 rows of flow [32, 32, 4] float32
MAX_ROWS = 8
REST_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("serving"))
    model = stream_model("temporal")
    export_model(model, preprocessing(), base, "temporal")
    export_model(stream_model("spatial"), preprocessing(("spatial",)), base, "spatial")
    options = ServerOptions({"temporal": f"{base}/temporal", "spatial": f"{base}/spatial"}, grpc_port=0,
                            rest_port=0, poll_seconds=0, max_request_bytes=MAX_REQUEST_BYTES,
                            max_decoded_bytes=MAX_DECODED_BYTES, max_request_rows=MAX_ROWS,
                            max_concurrent_requests=4, max_queued_requests=2, rest_socket_timeout=REST_TIMEOUT,
                            batching=BatchingParameters(max_batch_size=4, batch_timeout_micros=10_000_000))
    with EmbeddedServer(options) as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        yield server, model, channel
        channel.close()


def flow(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 3, (rows, 32, 32, 4)).astype(np.float32)


def predict_request(inputs: dict, model: str = "temporal", signature: str = "", version: int | None = None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def declared(shape, dtype, **values):
    """A TensorProto declaring `shape` with only the given value fields: how a crafted request looks."""
    proto = tensor_pb2.TensorProto(dtype=tf.as_dtype(dtype).as_datatype_enum, **values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def crafted_request(model: str, **tensors):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    for key, proto in tensors.items():
        request.inputs[key].CopyFrom(proto)
    return request


def grpc_code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def rest(server, path: str, body: dict | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def run_together(call, count: int) -> None:
    """call(0) .. call(count - 1) on concurrent threads, so the batcher can merge them."""
    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# gRPC ------------------------------------------------------------------------

def test_grpc_predict_equals_in_process(served):
    server, model, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    x = flow(5)
    response = stub.Predict(predict_request({"flow": x}), timeout=60)
    probabilities = tf.make_ndarray(response.outputs["probabilities"])
    np.testing.assert_allclose(probabilities, model({"flow": x})["probabilities"], rtol=1e-5, atol=1e-6)
    classes = tf.make_ndarray(response.outputs["top_k_classes"])
    assert classes[0, 0].decode() == CLASSES[int(np.argmax(probabilities[0]))]
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"


def test_grpc_metadata_and_status(served):
    _, _, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "temporal"
    response = stub.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    assert {"serving_default", "predict_records", "metadata"} <= set(signatures.signature_def)
    flow_info = signatures.signature_def["serving_default"].inputs["flow"]
    assert [d.size for d in flow_info.tensor_shape.dim] == [-1, 32, 32, 4]

    status_stub = model_service_pb2_grpc.ModelServiceStub(channel)
    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = "temporal"
    [status] = status_stub.GetModelStatus(status_request, timeout=30).model_version_status
    assert status.version == 1
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE


def test_grpc_error_codes(served):
    server, _, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    cases = [
        (predict_request({"flow": flow(1)}, model="nope"), grpc.StatusCode.NOT_FOUND, "model 'nope' is not served"),
        (predict_request({"flow": flow(1)}, version=7), grpc.StatusCode.NOT_FOUND, "Specific(temporal, 7)"),
        (predict_request({"rgb": flow(1)}), grpc.StatusCode.INVALID_ARGUMENT, "missing: ['flow']"),
        (predict_request({"flow": flow(1).astype(np.float64)}), grpc.StatusCode.INVALID_ARGUMENT, "expects float32"),
        (predict_request({"flow": flow(1)[:, :, :, :2]}), grpc.StatusCode.INVALID_ARGUMENT, "expects shape"),
        (predict_request({"flow": flow(1)}, signature="classify"), grpc.StatusCode.INVALID_ARGUMENT, "classify"),
        (predict_request({"records": np.array([b"junk"] * 4, dtype=object)}, signature="predict_records"),
         grpc.StatusCode.INVALID_ARGUMENT, "rejected the input"),
        (predict_request({"flow": flow(300)}), grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max"),
    ]
    for request, code, text in cases:
        got, details = grpc_code(lambda: stub.Predict(request, timeout=60))
        assert got == code, (code, details)
        assert text in details, (text, details)
    got, details = grpc_code(lambda: stub.Classify(classification_pb2.ClassificationRequest(), timeout=30))
    assert got == grpc.StatusCode.UNIMPLEMENTED and "use Predict" in details


def test_grpc_decoded_size_value_count_and_range_are_checked_before_decoding(served):
    """The issue's crafted requests: each is refused with its code, none is broadcast or wrapped."""
    _, _, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    exhausted, invalid = grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT
    issue_request = crafted_request("spatial", rgb=declared([2000, 96, 96, 3], np.uint8, int_val=[7]),
                                    flow=declared([2000, 96, 96, 20], np.float32, float_val=[0.5]))
    assert issue_request.ByteSize() < 100  # the 84-byte request that decoded to 1.5 GB
    cases = [
        (issue_request, exhausted, "2000 rows (dim 0) exceed the limit of 8"),
        # within the row cap, 256 MB once a single value is broadcast
        (crafted_request("temporal", flow=declared([1, 4096, 4096, 4], np.float32, float_val=[1.0])),
         exhausted, "decode to 268435456 bytes, over the limit of 262144"),
        (crafted_request("temporal", flow=declared([3, 32, 32, 4], np.float32, float_val=[1.0])),
         invalid, "1 values in float_val for shape [3, 32, 32, 4] (12288 elements)"),
        (crafted_request("temporal", flow=declared([2, 32, 32, 4], np.float32)),
         invalid, "0 values in float_val"),
        (crafted_request("temporal", flow=declared([1, 32, 32, 4], np.float32, float_val=[1.0] * 5)),
         invalid, "5 values in float_val"),
        (crafted_request("temporal", flow=declared([1, 32, 32, 4], np.float32, tensor_content=b"\0" * 100)),
         invalid, "tensor_content holds 100 bytes but shape [1, 32, 32, 4] of DT_FLOAT needs 16384"),
        (crafted_request("temporal", flow=declared([1, 32, 32, 4], np.float32, int_val=[1] * 4096)),
         invalid, "values in ['int_val'] do not belong to DT_FLOAT"),
        (crafted_request("spatial", rgb=declared([1, 1, 1, 3], np.uint8, int_val=[300, 0, -1])),
         invalid, "values must lie in [0, 255] for DT_UINT8"),
        (predict_request({"flow": flow(MAX_ROWS + 1)}), exhausted, "9 rows (dim 0) exceed the limit of 8"),
    ]
    for request, code, text in cases:
        got, details = grpc_code(lambda: stub.Predict(request, timeout=60))
        assert (got, text in details) == (code, True), (text, got, details)
    stub.Predict(predict_request({"flow": flow(MAX_ROWS)}), timeout=60)  # the cap itself is allowed


def test_bad_request_batched_with_good_ones_fails_alone(served):
    """Three good predict_records requests and a junk one merge into one batch (max 4, 10 s timeout)."""
    server, _, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    record = temporal_record()
    payloads = [record, record, b"junk", record]
    results = [None] * 4
    before = (server.batcher.batches_run, server.batcher.requests_run)

    def call(i):
        request = predict_request({"records": np.array([payloads[i]], dtype=object)}, signature="predict_records")
        try:
            results[i] = stub.Predict(request, timeout=60)
        except grpc.RpcError as err:
            results[i] = err

    run_together(call, 4)
    assert (server.batcher.batches_run - before[0], server.batcher.requests_run - before[1]) == (1, 4)
    bad = results[2]
    assert isinstance(bad, grpc.RpcError) and bad.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
    good = [tf.make_ndarray(r.outputs["probabilities"]) for r in results[:2] + results[3:]]
    assert all(p.shape == (1, len(CLASSES)) for p in good)
    np.testing.assert_allclose(good[0].sum(), 1.0, atol=1e-5)
    np.testing.assert_array_equal(good[0], good[1])
    np.testing.assert_array_equal(good[0], good[2])


def test_full_queue_is_resource_exhausted(served):
    server, _, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    slots = [server.limiter.slot() for _ in range(server.limiter.capacity)]
    threads = [threading.Thread(target=s.__enter__) for s in slots]
    for t in threads:  # four run, two wait for a running slot: the server is full
        t.start()
    while server.limiter._admitted < server.limiter.capacity:
        time.sleep(0.01)
    code, details = grpc_code(lambda: stub.Predict(predict_request({"flow": flow(1)}), timeout=60))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "server busy" in details
    # the slot is taken before decoding: a malformed tensor meets the full server, not the decoder
    malformed = crafted_request("temporal", flow=declared([1, 32, 32, 4], np.float32, tensor_content=b"\0" * 100))
    code, details = grpc_code(lambda: stub.Predict(malformed, timeout=60))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "server busy" in details
    status, body = rest(server, "/v1/models/temporal:predict", {"inputs": {"flow": flow(1).tolist()}})
    assert status == 429 and "server busy" in body["error"]
    held = list(zip(slots, threads))
    while held:  # release the slots whose holder got in; that lets the waiting ones in
        for slot, thread in [h for h in held if not h[1].is_alive()]:
            slot.__exit__(None, None, None)
            held.remove((slot, thread))
        time.sleep(0.01)
    stub.Predict(predict_request({"flow": flow(4)}), timeout=60)  # admitted again once slots free up


def test_batching_merges_concurrent_requests(served):
    """Four 1-row requests meet a max_batch_size of 4 and a 10 s timeout: one model call."""
    server, model, channel = served
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    before = (server.batcher.batches_run, server.batcher.requests_run)
    results, inputs = [None] * 4, [flow(1, seed=i) for i in range(4)]

    def call(i):
        results[i] = stub.Predict(predict_request({"flow": inputs[i]}), timeout=60)

    run_together(call, 4)
    assert (server.batcher.batches_run - before[0], server.batcher.requests_run - before[1]) == (1, 4)
    for x, response in zip(inputs, results):  # each caller got its own row back
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                                   model({"flow": x})["probabilities"], rtol=1e-5, atol=1e-6)


# REST ------------------------------------------------------------------------

def test_rest_status_metadata_predict(served):
    server, model, _ = served
    status, body = rest(server, "/v1/models/temporal")
    assert status == 200
    assert body["model_version_status"] == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    status, body = rest(server, "/v1/models/temporal/versions/1/metadata")
    assert status == 200 and body["model_spec"]["version"] == "1"
    assert {"serving_default", "predict_records", "metadata"} <= set(body["metadata"]["signature_def"]["signature_def"])
    x = flow(4)  # 4 rows = one full batch: runs at once
    status, body = rest(server, "/v1/models/temporal:predict",
                        {"signature_name": "serving_default", "inputs": {"flow": x.tolist()}})
    assert status == 200
    np.testing.assert_allclose(body["outputs"]["probabilities"], model({"flow": x})["probabilities"],
                               rtol=1e-4, atol=1e-6)
    assert body["outputs"]["top_k_classes"][0][0] in CLASSES
    status, body = rest(server, "/v1/models/temporal/versions/1:predict",
                        {"instances": [{"flow": row.tolist()} for row in x]})
    assert status == 200 and len(body["predictions"]) == 4
    np.testing.assert_allclose(body["predictions"][2]["probabilities"], model({"flow": x[2:3]})["probabilities"][0],
                               rtol=1e-4, atol=1e-6)
    status, body = rest(server, "/v1/models/temporal:predict", {"signature_name": "metadata", "inputs": {"probe": 0}})
    assert status == 200 and body["outputs"]["classes"] == list(CLASSES)


def temporal_record() -> bytes:
    prep = preprocessing()
    frames = resize_short_side(moving_frames(6), SIZE)
    return encode_record(id="t/v", path="v.mp4", dataset="t", label=0, label_name=CLASSES[0], group="g",
                         view=0, fps=25.0, frames=frames,
                         flow=compute_flows(frames, FlowEstimator(prep.flow_algorithm)),
                         flow_bound=prep.flow_bound, flow_algorithm=prep.flow_algorithm)


def test_rest_predict_records_with_b64(served):
    server, model, _ = served
    record = temporal_record()
    status, body = rest(server, "/v1/models/temporal:predict", {
        "signature_name": "predict_records", "inputs": {"records": [{"b64": base64.b64encode(record).decode()}] * 4}})
    assert status == 200, body
    assert np.isclose(sum(body["outputs"]["probabilities"][0]), 1.0, atol=1e-5)
    np.testing.assert_allclose(body["outputs"]["probabilities"][3], body["outputs"]["probabilities"][0])


def test_rest_error_codes(served):
    server, _, _ = served
    x = flow(1).tolist()
    cases = [
        ("/v1/models/nope:predict", {"inputs": {"flow": x}}, 404, "model 'nope' is not served"),
        ("/v1/models/temporal/versions/3:predict", {"inputs": {"flow": x}}, 404, "Specific(temporal, 3)"),
        ("/v1/models/temporal/versions/-1:predict", {"inputs": {"flow": x}}, 400,
         "version must be a non-negative integer, got '-1'"),
        ("/v1/models/temporal/versions/one:predict", {"inputs": {"flow": x}}, 400,
         "version must be a non-negative integer, got 'one'"),
        ("/v1/models/temporal:predict", {"inputs": {"rgb": x}}, 400, "unknown inputs ['rgb']"),
        ("/v1/models/temporal:predict", {"inputs": {}}, 400, "missing: ['flow']"),
        ("/v1/models/temporal:predict", {"inputs": {"flow": [[["a"]]]}}, 400, "expected numbers"),
        ("/v1/models/temporal:predict", {"inputs": {"flow": np.zeros((1, 32, 32, 2)).tolist()}}, 400,
         "expects shape"),
        ("/v1/models/temporal:predict", {"signature_name": "nope", "inputs": {"flow": x}}, 400, "nope"),
        ("/v1/models/temporal:predict", {"instances": [], "inputs": {}}, 400, "exactly one"),
        ("/v1/models/temporal:classify", {"examples": []}, 501, "predict signatures only"),
        ("/v2/whatever", {}, 404, "Malformed request"),
    ]
    for path, body, code, text in cases:
        status, reply = rest(server, path, body)
        assert status == code, (path, reply)
        assert text in reply["error"], (text, reply)
    status, reply = rest(server, "/v1/models/temporal:predict", raw=b"{not json")
    assert status == 400 and "not JSON" in reply["error"]
    status, reply = rest(server, "/v1/models/nope")
    assert status == 404
    status, reply = rest(server, "/v1/models/temporal/versions/-1")  # GET (model status) too
    assert status == 400 and "version must be a non-negative integer, got '-1'" in reply["error"]


def test_rest_range_rows_and_decoded_size(served):
    server, _, _ = served
    pixel = np.zeros((1, 32, 32, 3), dtype=np.int64)
    for value in (300, -1):
        pixel[0, 0, 0, 0] = value
        status, reply = rest(server, "/v1/models/spatial:predict", {"inputs": {"rgb": pixel.tolist()}})
        assert status == 400 and "values must lie in [0, 255] for uint8" in reply["error"], (value, reply)
    pixel[0, 0, 0, 0] = 255
    status, reply = rest(server, "/v1/models/spatial:predict", {"inputs": {"rgb": pixel.tolist()}})
    assert status == 200, reply
    status, reply = rest(server, "/v1/models/spatial:predict", {"inputs": {"rgb": [[[[1.5, 0, 0]]]]}})
    assert status == 400 and "non-integral" in reply["error"]
    status, reply = rest(server, "/v1/models/temporal:predict", {"inputs": {"flow": [[[[1e39] * 4] * 32] * 32]}})
    assert status == 400 and "out of range for float32" in reply["error"]
    status, reply = rest(server, "/v1/models/temporal:predict", {"inputs": {"flow": flow(MAX_ROWS + 1).tolist()}})
    assert status == 429 and "9 rows (dim 0) exceed the limit of 8" in reply["error"]
    # 8 rows, but wide ones: 8 x 32 x 32 x 9 float32 = 295 KB decoded from a body under 1 MiB
    status, reply = rest(server, "/v1/models/temporal:predict",
                         {"inputs": {"flow": np.zeros((8, 32, 32, 9), dtype=int).tolist()}})
    assert status == 429 and "over the limit of 262144 bytes" in reply["error"]


def http_exchange(server, head: bytes, wait: float = 30.0) -> bytes:
    """Sends raw bytes, returns all the server sent until it closed the connection."""
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=wait) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_rest_oversized_body_is_refused_unread_and_closed(served):
    """Content-Length says 1 TB and no body follows: a 429 and a closed connection, without waiting."""
    server, _, _ = served
    reply = http_exchange(server, b"POST /v1/models/temporal:predict HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 1000000000000\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 429 ") and b"exceeds the limit of 1048576 bytes" in reply
    assert b"Connection: close" in reply
    # a client that asks before sending (curl does, past 1 KB) is told no instead of "100 Continue"
    reply = http_exchange(server, b"POST /v1/models/temporal:predict HTTP/1.1\r\nHost: x\r\n"
                                  b"Expect: 100-continue\r\nContent-Length: 1000000000000\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 429 ") and b"exceeds the limit" in reply, reply[:200]
    assert rest(server, "/v1/models/temporal")[0] == 200  # and the server carries on


def test_rest_stalled_client_is_disconnected(served):
    """Half a request, then silence: the socket timeout closes the connection (no thread held forever)."""
    server, _, _ = served
    assert http_exchange(server, b"POST /v1/models/temporal:predict HTTP/1.1\r\n", wait=10 * REST_TIMEOUT) == b""
    body_promised = b"POST /v1/models/temporal:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"
    assert http_exchange(server, body_promised, wait=10 * REST_TIMEOUT) == b""


def test_rest_connections_are_bounded(served):
    """max_concurrent 1 + max_queued 0 + 4 spare = 5 connections; the sixth is answered 503 and closed."""
    options = ServerOptions(dict(served[0].options.models), grpc_port=0, rest_port=0, poll_seconds=0,
                            max_concurrent_requests=1, max_queued_requests=0)
    with EmbeddedServer(options) as server:
        idle = [socket.create_connection(("127.0.0.1", server.rest_port), timeout=30) for _ in range(5)]
        try:
            reply = http_exchange(server, b"GET /v1/models/temporal HTTP/1.1\r\nHost: x\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 503 ") and b"too many open connections" in reply
        finally:
            for sock in idle:
                sock.close()
        for _ in range(100):  # the pool threads notice the closed sockets and free their slots
            if rest(server, "/v1/models/temporal")[0] == 200:
                break
            time.sleep(0.1)
        assert rest(server, "/v1/models/temporal")[0] == 200


def test_client_splits_its_batch_within_the_row_cap():
    """25 x 10 small crops fit one 32 MiB request by bytes, but not the server's default 256 rows."""
    inputs = {"rgb": np.zeros((250 * 2, 32, 32, 3), np.uint8)}
    assert chunk_rows(inputs, 32 << 20) == DEFAULT_MAX_ROWS == 256
    assert chunk_rows(inputs, 10 * 32 * 32 * 3) == 10


# Versions --------------------------------------------------------------------

def test_new_version_is_picked_up_without_dropping_requests(tmp_path):
    base = str(tmp_path)
    first, second = stream_model("temporal", seed=3), stream_model("temporal", seed=4)
    export_model(first, preprocessing(), base, "m")
    options = ServerOptions({"m": f"{base}/m"}, grpc_port=0, rest_port=None, poll_seconds=0.1)
    x = flow(2)
    with EmbeddedServer(options) as server, grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        status_stub = model_service_pb2_grpc.ModelServiceStub(channel)
        seen, failures, stop = [], [], threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    seen.append(stub.Predict(predict_request({"flow": x}, model="m"), timeout=60)
                                .model_spec.version.value)
                except grpc.RpcError as err:
                    failures.append(err)

        thread = threading.Thread(target=hammer)
        thread.start()
        export_model(second, preprocessing(), base, "m")
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "m"
        for _ in range(600):  # wait for the poll thread to load version 2
            states = {s.version: s.state for s in status_stub.GetModelStatus(request).model_version_status}
            if states.get(2) == get_model_status_pb2.ModelVersionStatus.AVAILABLE:
                break
            time.sleep(0.1)
        while not seen or seen[-1] != 2:  # at least one request served by the new version
            time.sleep(0.05)
        stop.set()
        thread.join()
        assert not failures
        assert seen[0] == 1 and set(seen) == {1, 2}
        assert states == {1: get_model_status_pb2.ModelVersionStatus.END,
                          2: get_model_status_pb2.ModelVersionStatus.AVAILABLE}
        response = stub.Predict(predict_request({"flow": x}, model="m"), timeout=60)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                                   second({"flow": x})["probabilities"], rtol=1e-5, atol=1e-6)
        code, _ = grpc_code(lambda: stub.Predict(predict_request({"flow": x}, model="m", version=1), timeout=60))
        assert code == grpc.StatusCode.NOT_FOUND


# Configuration ---------------------------------------------------------------

def test_batching_parameters_parse_and_errors():
    params = BatchingParameters.parse("max_batch_size { value: 8 }\n# comment\nbatch_timeout_micros { value: 0 }\n"
                                      "pad_variable_length_inputs { value: true }\n")
    assert (params.max_batch_size, params.batch_timeout_micros) == (8, 0)
    with pytest.raises(ValueError, match="b.txt: unknown field 'max_batch'"):
        BatchingParameters.parse("max_batch { value: 8 }", "b.txt")
    with pytest.raises(ValueError, match="b.txt: cannot parse"):
        BatchingParameters.parse("max_batch_size: 8", "b.txt")


def test_server_cli_flags():
    with pytest.raises(SystemExit):
        parse_args(["--port", "9000"])  # neither a model nor a config
    args = parse_args(["--model_name", "m", "--model_base_path", "/x/m", "--enable_batching",
                       "--rest_api_port", "0"])
    assert (args.model_name, args.enable_batching, args.rest_api_port, args.host) == ("m", True, 0, "127.0.0.1")
