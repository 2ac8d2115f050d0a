"""Load and fault test of the embedded server: good and hostile requests from concurrent clients.

Exports a tiny spatial model with tfx_models.export, starts `python -m serving.server`
on loopback in a subprocess (batching on) and runs N clients for a fixed time.
Each client cycles through good requests (gRPC, REST, predict_records) and every
bad kind the server must refuse: the 84-byte crafted request of issue 13, an
oversized decoded tensor, values that do not match the shape (one value to be
broadcast, too few), an out-of-range REST pixel, too many rows, an unknown model,
a wrong dtype, a junk record merged into a batch with good ones, a REST body over
the size limit, and clients that disconnect mid-request. A second model version
is exported mid-run. Asserts that every good request was answered correctly (by
the version that answered it), every bad one got its status code, none was
dropped while the versions swapped; reports the server's RSS before, at peak and
after (/proc/PID/status). Prints a JSON summary; exits 1 if anything was wrong.

    python benchmarks/serving_load.py --clients 8 --seconds 30 --output out/bench/serving_load.json
"""
from __future__ import annotations

import argparse
import base64
import collections
import ctypes
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import grpc
import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from media.records import encode_record
from tfx_models.export.contract import Preprocessing
from tfx_models.export.saved_model import export_model

MODEL = "load"
CLASSES = ("a", "b", "c", "d")
CROP = 32
MAX_ROWS = 16
MAX_DECODED_BYTES = 8 << 20
MAX_REQUEST_BYTES = 4 << 20
EXHAUSTED, INVALID = "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"
# bad request kind -> the status it must get
BAD_KINDS = {
    "crafted_84_byte": EXHAUSTED,        # the issue's [2000,96,96,3] + [2000,96,96,20] with one value each
    "oversized_decoded": EXHAUSTED,      # one row, 50 MB once broadcast
    "broadcast_one_value": INVALID,
    "shape_without_values": INVALID,
    "mismatched_values": INVALID,
    "rest_pixel_300": "HTTP 400",
    "rest_pixel_minus_1": "HTTP 400",
    "too_many_rows": EXHAUSTED,
    "unknown_model": "NOT_FOUND",
    "wrong_dtype": INVALID,
    "junk_record": INVALID,              # merged into batches with good records
    "rest_body_over_limit": "HTTP 429 closed",
}


def tiny_spatial_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((CROP, CROP, 3), name="rgb")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(len(CLASSES), name="logits")(x)
    return keras.Model({"rgb": inputs}, {"logits": logits, "probabilities": keras.layers.Softmax()(logits)})


def preprocessing() -> Preprocessing:
    return Preprocessing(streams=("spatial",), classes=CLASSES, crop_size=CROP, size=40, record_frames=3)


def video_record(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (4, 40, 48, 3), dtype=np.uint8)
    return encode_record(id=f"load/{seed}", path="v.mp4", dataset="load", label=0, label_name=CLASSES[0],
                         group="g", view=0, fps=25.0, frames=frames, flow=np.zeros((3, 40, 48, 2), np.float32),
                         flow_bound=20.0, flow_algorithm="dis_ultrafast")


def _die_with_parent() -> None:
    """The server gets SIGTERM if this script dies (Linux PR_SET_PDEATHSIG): no orphan left serving."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    """A loopback port free now (--rest_api_port 0 means "no REST", as in tensorflow_model_server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> dict[str, float]:
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def declared(shape, dtype, **values) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=tf.as_dtype(dtype).as_datatype_enum, **values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def predict_request(model: str = MODEL, signature: str = "", **tensors) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = model, signature
    for key, value in tensors.items():
        request.inputs[key].CopyFrom(value if isinstance(value, tensor_pb2.TensorProto)
                                     else tf.make_tensor_proto(value))
    return request


class Expectations:
    """What a correct server answers: per model version, the Keras model's (and the export's) outputs."""

    def __init__(self, inputs: list[np.ndarray], records: list[bytes]):
        self.inputs, self.records = inputs, records
        self.images: dict[int, list[np.ndarray]] = {}
        self.record_scores: dict[int, list[np.ndarray]] = {}

    def add_version(self, version: int, model: keras.Model, export_path: str) -> None:
        self.images[version] = [np.asarray(model({"rgb": x})["probabilities"]) for x in self.inputs]
        records = tf.saved_model.load(export_path).signatures["predict_records"]
        self.record_scores[version] = [
            records(records=tf.constant([r]))["probabilities"].numpy() for r in self.records]


class Client:
    """One client thread's connections and the request kinds it cycles through."""

    def __init__(self, grpc_address: str, rest_port: int, expect: Expectations, tally, index: int):
        self.channel = grpc.insecure_channel(grpc_address)
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.rest_port, self.expect, self.tally, self.index = rest_port, expect, tally, index
        self.rng = np.random.default_rng(index)

    # good requests: answered correctly by the version that answered ------------------------

    def grpc_good(self):
        i = int(self.rng.integers(len(self.expect.inputs)))
        response = self.stub.Predict(predict_request(rgb=self.expect.inputs[i]), timeout=60)
        version = response.model_spec.version.value
        got = tf.make_ndarray(response.outputs["probabilities"])
        return version, np.allclose(got, self.expect.images[version][i], rtol=1e-4, atol=1e-5)

    def rest_good(self):
        i = int(self.rng.integers(len(self.expect.inputs)))
        status, body = self.rest("/v1/models/load:predict", {"inputs": {"rgb": self.expect.inputs[i].tolist()}})
        if status != 200:
            return None, False
        # REST answers carry no version: correct if it matches one of the versions served
        got = np.asarray(body["outputs"]["probabilities"])
        matches = [v for v, outs in self.expect.images.items() if np.allclose(got, outs[i], rtol=1e-4, atol=1e-5)]
        return (matches[-1] if matches else None), bool(matches)

    def records_good(self):
        i = int(self.rng.integers(len(self.expect.records)))
        request = predict_request(signature="predict_records",
                                  records=np.array([self.expect.records[i]], dtype=object))
        response = self.stub.Predict(request, timeout=60)
        version = response.model_spec.version.value
        got = tf.make_ndarray(response.outputs["probabilities"])
        return version, np.allclose(got, self.expect.record_scores[version][i], rtol=1e-4, atol=1e-5)

    # bad requests: (expected code, call) ----------------------------------------------------

    def bad_kinds(self):
        """name -> call returning the status it got; BAD_KINDS holds the status each must get."""
        zeros = np.zeros((2, CROP, CROP, 3), np.uint8)
        return {
            "crafted_84_byte": lambda: self.grpc(predict_request(
                rgb=declared([2000, 96, 96, 3], np.uint8, int_val=[7]),
                flow=declared([2000, 96, 96, 20], np.float32, float_val=[0.5]))),
            "oversized_decoded": lambda: self.grpc(predict_request(
                rgb=declared([1, 4096, 4096, 3], np.uint8, int_val=[1]))),
            "broadcast_one_value": lambda: self.grpc(predict_request(
                rgb=declared([2, CROP, CROP, 3], np.uint8, int_val=[1]))),
            "shape_without_values": lambda: self.grpc(predict_request(rgb=declared([2, CROP, CROP, 3], np.uint8))),
            "mismatched_values": lambda: self.grpc(predict_request(
                rgb=declared([2, CROP, CROP, 3], np.uint8, int_val=[1] * 5))),
            "rest_pixel_300": lambda: self.rest_code(
                "/v1/models/load:predict", {"inputs": {"rgb": np.full((1, CROP, CROP, 3), 300).tolist()}}),
            "rest_pixel_minus_1": lambda: self.rest_code(
                "/v1/models/load:predict", {"inputs": {"rgb": np.full((1, CROP, CROP, 3), -1).tolist()}}),
            "too_many_rows": lambda: self.grpc(predict_request(rgb=np.zeros((MAX_ROWS + 1, CROP, CROP, 3), np.uint8))),
            "unknown_model": lambda: self.grpc(predict_request(model="nope", rgb=zeros)),
            "wrong_dtype": lambda: self.grpc(predict_request(rgb=zeros.astype(np.float32))),
            "junk_record": lambda: self.grpc(predict_request(
                signature="predict_records", records=np.array([b"junk"], dtype=object))),
            "rest_body_over_limit": self.rest_oversized,
        }

    def grpc(self, request) -> str:
        try:
            self.stub.Predict(request, timeout=60)
            return "OK"
        except grpc.RpcError as err:
            return err.code().name

    def rest(self, path: str, body: dict):
        request = urllib.request.Request(f"http://127.0.0.1:{self.rest_port}{path}", data=json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    def rest_code(self, path: str, body: dict) -> str:
        return f"HTTP {self.rest(path, body)[0]}"

    def rest_oversized(self) -> str:
        with socket.create_connection(("127.0.0.1", self.rest_port), timeout=30) as sock:
            sock.sendall(b"POST /v1/models/load:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        status = reply.split(b" ", 2)[1].decode() if reply.startswith(b"HTTP/1.1 ") else "?"
        return f"HTTP {status}" + (" closed" if b"Connection: close" in reply else "")

    # clients that go away ---------------------------------------------------------------------

    def grpc_cancelled(self) -> str:
        future = self.stub.Predict.future(predict_request(rgb=self.expect.inputs[-1]), timeout=60)
        time.sleep(0.001)
        future.cancel()
        return "cancelled"

    def rest_half_body(self) -> str:
        with socket.create_connection(("127.0.0.1", self.rest_port), timeout=30) as sock:
            sock.sendall(b"POST /v1/models/load:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
                         b'{"inputs": {"rgb": [[[[1, 2, 3]')
        return "disconnected"

    def run(self, stop: threading.Event) -> None:
        good = {"grpc_good": self.grpc_good, "rest_good": self.rest_good, "records_good": self.records_good}
        bad = self.bad_kinds()
        gone = {"grpc_cancelled": self.grpc_cancelled, "rest_half_body": self.rest_half_body}
        # two good requests for every bad or vanishing one
        good_names, schedule = list(good), []
        for i, name in enumerate(list(bad) + list(gone)):
            schedule += [("good", good_names[2 * i % 3]), ("good", good_names[(2 * i + 1) % 3]), ("bad", name)]
        offset = self.index * 5 % len(schedule)
        for kind, name in itertools.cycle(schedule[offset:] + schedule[:offset]):
            if stop.is_set():
                return
            try:
                if kind == "good":
                    try:
                        version, correct = good[name]()
                        self.tally(name, "OK" if correct else "WRONG ANSWER", correct, version)
                    except grpc.RpcError as err:
                        self.tally(name, err.code().name, False, None)
                elif name in gone:
                    self.tally(name, gone[name](), True, None)
                else:
                    got = bad[name]()
                    self.tally(name, got, got == BAD_KINDS[name], None)
            except Exception as err:  # a broken connection or a bug: counted, and the client goes on
                self.tally(name, f"{type(err).__name__}: {err}"[:120], False, None)

    def close(self):
        self.channel.close()


def swap_figures(answered: list[tuple[float, int]], export_started: float, exported: float) -> dict:
    """When version 2 arrived, and the good requests answered while it was being exported and loaded."""
    first_v2 = min((t for t, v in answered if v == 2), default=None)
    last_v1 = max((t for t, v in answered if v == 1), default=None)
    window_end = first_v2 if first_v2 is not None else float("inf")
    return {"export_started_s": round(export_started, 2), "export_done_s": round(exported, 2),
            "first_answer_by_v2_s": None if first_v2 is None else round(first_v2, 2),
            "last_answer_by_v1_s": None if last_v1 is None else round(last_v1, 2),
            "good_answers_during_swap": sum(1 for t, _ in answered if export_started <= t <= window_end)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients run")
    parser.add_argument("--swap_at", type=float, default=0.3, help="fraction of the run when version 2 is exported")
    parser.add_argument("--output", default="out/bench/serving_load.json")
    args = cli.add_flags(parser).parse_args(argv)

    base = tempfile.mkdtemp(prefix="serving_load_")
    first, second = tiny_spatial_model(1), tiny_spatial_model(2)
    path_1 = export_model(first, preprocessing(), base, MODEL)
    with open(os.path.join(base, "batching.txt"), "w") as f:
        f.write("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 2000 }\nnum_batch_threads { value: 2 }\n")
    rng = np.random.default_rng(0)
    expect = Expectations([rng.integers(0, 256, (rows, CROP, CROP, 3), dtype=np.uint8) for rows in (1, 2, 4, 8)],
                          [video_record(s) for s in range(3)])
    expect.add_version(1, first, path_1)
    # version 2's expectations come from a copy exported elsewhere first, so they exist before the server has it
    expect.add_version(2, second, export_model(second, preprocessing(), tempfile.mkdtemp(prefix="serving_load_v2_"),
                                               MODEL))

    command = [sys.executable, "-m", "serving.server", "--port", "0", "--rest_api_port", str(free_port()),
               "--model_name", MODEL, "--model_base_path", os.path.join(base, MODEL),
               "--enable_batching", "--batching_parameters_file", os.path.join(base, "batching.txt"),
               "--file_system_poll_wait_seconds", "0.5", "--max_request_bytes", str(MAX_REQUEST_BYTES),
               "--max_decoded_bytes", str(MAX_DECODED_BYTES), "--max_request_rows", str(MAX_ROWS),
               "--max_concurrent_requests", "8", "--max_queued_requests", str(2 * args.clients),
               "--rest_socket_timeout", "5"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              preexec_fn=_die_with_parent)
    try:
        line = server.stdout.readline()
        if "gRPC on" not in line or "REST on" not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        grpc_address = line.split("gRPC on ")[1].split(",")[0].strip()
        rest_port = int(line.rsplit(":", 1)[1])
        counts = collections.defaultdict(collections.Counter)
        versions = collections.Counter()
        answered = []  # (seconds since start, version) of every correct good answer that names its version
        failures = []
        lock = threading.Lock()

        def tally(kind, outcome, correct, version):
            with lock:
                counts[kind][outcome] += 1
                if version is not None and correct:
                    versions[version] += 1
                    answered.append((time.monotonic() - start, version))
                if not correct and len(failures) < 20:
                    failures.append(f"{kind}: {outcome}")

        warm = Client(grpc_address, rest_port, expect, lambda *a: None, 99)
        for call in (warm.grpc_good, warm.rest_good, warm.records_good):
            call()
        warm.close()
        rss = {"before": rss_mb(server.pid)["VmRSS"]}
        peak, stop = [rss["before"]], threading.Event()

        def sample():
            while not stop.wait(0.2):
                peak.append(rss_mb(server.pid)["VmRSS"])

        start = time.monotonic()
        clients = [Client(grpc_address, rest_port, expect, tally, i) for i in range(args.clients)]
        threads = [threading.Thread(target=c.run, args=(stop,)) for c in clients]
        sampler = threading.Thread(target=sample)
        for t in threads + [sampler]:
            t.start()
        time.sleep(args.seconds * args.swap_at)
        export_started = time.monotonic() - start
        export_model(second, preprocessing(), base, MODEL)
        exported = time.monotonic() - start
        time.sleep(max(0.0, args.seconds - (time.monotonic() - start)))
        stop.set()
        for t in threads + [sampler]:
            t.join()
        elapsed = time.monotonic() - start
        for c in clients:
            c.close()
        time.sleep(2)
        status = rss_mb(server.pid)
        rss.update(peak_sampled=max(peak), after=status["VmRSS"], high_water_mark=status["VmHWM"])
        alive = server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()

    expected_codes = BAD_KINDS
    by_kind = {k: dict(v) for k, v in sorted(counts.items())}
    good = sum(sum(counts[k].values()) for k in ("grpc_good", "rest_good", "records_good"))
    good_ok = sum(counts[k]["OK"] for k in ("grpc_good", "rest_good", "records_good"))
    bad = sum(sum(counts[k].values()) for k in expected_codes)
    bad_ok = sum(counts[k][code] for k, code in expected_codes.items())
    missing = [k for k in list(expected_codes) + ["grpc_cancelled", "rest_half_body"] if not counts[k]]
    passed = (alive and good == good_ok and bad == bad_ok and not missing and set(versions) == {1, 2})
    summary = {
        "command": " ".join(["python benchmarks/serving_load.py"] + (argv if argv is not None else sys.argv[1:])),
        "clients": args.clients, "seconds": round(elapsed, 1),
        "version_swap": swap_figures(answered, export_started, exported),
        "requests": sum(sum(v.values()) for v in counts.values()),
        "good": {"sent": good, "answered_correctly": good_ok, "by_version": dict(sorted(versions.items()))},
        "bad": {"sent": bad, "refused_with_expected_code": bad_ok, "expected_codes": expected_codes},
        "disconnects": {k: sum(counts[k].values()) for k in ("grpc_cancelled", "rest_half_body")},
        "by_kind": by_kind, "kinds_never_sent": missing, "server_alive_at_end": alive,
        "server_rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "failures": failures, "passed": passed,
    }
    print(json.dumps(summary, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(summary, f, indent=2)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(cli.run(main))
