"""Classify a video file with a served two-stream export (TF Serving or serving.server).

Reads the export's preprocessing constants from its `metadata` signature,
builds the test batch locally (tfx_models.data.video_file: the ingest job's decode,
flow and storage loss, then media.stacking's 25-frame x 10-crop protocol),
sends it in chunks over gRPC Predict (or TF Serving's REST API) and prints the
top classes of the scores averaged over all inputs.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

from media.video import VideoDecodeError  # noqa: E402
from serving.decoding import DEFAULT_MAX_ROWS  # noqa: E402
from tfx_models.data.video_file import video_test_inputs  # noqa: E402
from tfx_models.export.contract import (DEFAULT_SIGNATURE, METADATA_PROBE, METADATA_SIGNATURE,  # noqa: E402
                                        Preprocessing)

DEFAULT_CHUNK_BYTES = 32 << 20


class ServerError(RuntimeError):
    """The server refused a request; carries its status (gRPC code name or HTTP status)."""

    def __init__(self, status: str, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status


class GrpcTransport:
    def __init__(self, server: str, model: str, version: int | None = None, timeout: float = 300.0):
        self.model, self.version, self.timeout = model, version, timeout
        limit = 1 << 30
        self.channel = grpc.insecure_channel(server, options=[("grpc.max_send_message_length", limit),
                                                              ("grpc.max_receive_message_length", limit)])
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def predict(self, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        try:
            response = self.stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise ServerError(err.code().name, err.details()) from None
        return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}

    def close(self):
        self.channel.close()


def _json_ready(value: np.ndarray):
    if value.dtype == object:
        return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode()}, otypes=[object])(value).tolist()
    return value.tolist()


class RestTransport:
    """TF Serving's JSON API, columnar format (`inputs` / `outputs`)."""

    def __init__(self, server: str, model: str, version: int | None = None, timeout: float = 300.0):
        base = server if "://" in server else f"http://{server}"
        path = f"/v1/models/{model}" + (f"/versions/{version}" if version is not None else "")
        self.url, self.timeout = base.rstrip("/") + path, timeout

    def predict(self, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        body = json.dumps({"signature_name": signature,
                           "inputs": {k: _json_ready(np.asarray(v)) for k, v in inputs.items()}}).encode()
        request = urllib.request.Request(self.url + ":predict", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                outputs = json.load(response)["outputs"]
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["error"]
            except (ValueError, KeyError):
                pass
            raise ServerError(f"HTTP {err.code}", detail) from None
        return {k: np.asarray(v) for k, v in outputs.items()}

    def close(self):
        pass


def fetch_preprocessing(transport) -> Preprocessing:
    outputs = transport.predict(METADATA_SIGNATURE, {METADATA_PROBE: np.int32(0)})
    raw = outputs["preprocessing_json"]
    text = raw.item() if isinstance(raw, np.ndarray) else raw
    return Preprocessing.from_json(text.decode() if isinstance(text, bytes) else str(text),
                                   "the export's metadata signature")


def chunk_rows(inputs: dict[str, np.ndarray], max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS) -> int:
    """Rows per request: within max_bytes of tensors and the server's default row cap."""
    row_bytes = sum(v[0].nbytes for v in inputs.values())
    return max(1, min(max_rows, max_bytes // max(row_bytes, 1)))


class NonFiniteScores(ValueError):
    """The model answered with NaN or infinite scores: a diverged or broken export, never a ranking."""


def predict_video_inputs(transport, inputs: dict[str, np.ndarray], max_request_bytes: int) -> np.ndarray:
    """Scores averaged over all N inputs, sent in requests of at most max_request_bytes.

    TF Serving returns whatever the model computes; NaN scores would sort as if
    they were scores, so they are refused here, naming the inputs that produced them.
    """
    count = len(next(iter(inputs.values())))
    step = chunk_rows(inputs, max_request_bytes)
    scores = np.concatenate([
        transport.predict(DEFAULT_SIGNATURE, {k: v[i:i + step] for k, v in inputs.items()})["probabilities"]
        for i in range(0, count, step)]).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=1))
    if bad.size:
        raise NonFiniteScores(f"the model returned non-finite scores for {bad.size} of {count} inputs "
                              f"(first: input {bad[0]}); the export is broken, e.g. trained until it diverged")
    return scores.mean(axis=0)


def top_classes(probabilities: np.ndarray, classes, k: int = 5) -> list[tuple[str, float]]:
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(classes[i], float(probabilities[i])) for i in order]


def classify(path: str, transport, *, num_frames: int = 25, crops: int = 10, top: int = 5,
             max_request_bytes: int = DEFAULT_CHUNK_BYTES) -> dict:
    prep = fetch_preprocessing(transport)
    inputs = video_test_inputs(path, prep, num_frames=num_frames, crops=crops)
    probabilities = predict_video_inputs(transport, inputs, max_request_bytes)
    return {"video": path, "inputs": int(len(next(iter(inputs.values())))),
            "top": [{"class": c, "score": s} for c, s in top_classes(probabilities, prep.classes, top)],
            "probabilities": probabilities.tolist()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m serving.client",
        description="Classify a video with a model served by TF Serving or serving.server.")
    parser.add_argument("video", help="video file (any format PyAV/OpenCV decode)")
    parser.add_argument("--server", default="127.0.0.1:8500",
                        help="HOST:PORT of the gRPC API (with --rest: of the REST API)")
    parser.add_argument("--model", required=True, help="model name")
    parser.add_argument("--version", type=int, default=None, help="model version (default: latest)")
    parser.add_argument("--rest", action="store_true", help="use TF Serving's REST JSON API")
    parser.add_argument("--num_frames", type=int, default=25, help="test frames sampled per video")
    parser.add_argument("--crops", type=int, default=10, choices=(1, 2, 5, 10),
                        help="crops per frame (10: corners, centre and their flips)")
    parser.add_argument("--top", type=int, default=5, help="classes to print")
    parser.add_argument("--max_request_mb", type=float, default=DEFAULT_CHUNK_BYTES / (1 << 20),
                        help="split the test batch into requests of at most this many MiB of tensors")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return cli.add_flags(parser).parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    transport_type = RestTransport if args.rest else GrpcTransport
    transport = transport_type(args.server, args.model, args.version, args.timeout)
    try:
        result = classify(args.video, transport, num_frames=args.num_frames, crops=args.crops, top=args.top,
                          max_request_bytes=int(args.max_request_mb * (1 << 20)))
    except VideoDecodeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ServerError, NonFiniteScores) as err:
        print(f"error: server {args.server} model {args.model}: {err}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as err:
        print(f"error: cannot reach {args.server}: {err}", file=sys.stderr)
        return 1
    finally:
        transport.close()
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "probabilities"}, indent=2))
    else:
        print(f"{result['video']}: scores averaged over {result['inputs']} inputs")
        for rank, entry in enumerate(result["top"], 1):
            print(f"{rank}. {entry['class']:<32s} {entry['score']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
