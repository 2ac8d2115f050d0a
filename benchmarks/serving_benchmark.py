"""Serving overhead: the embedded gRPC server against calling the export in-process.

Exports a freshly built tower (random weights: speed does not depend on them),
then measures batch-1 latency (p50, p99) and throughput at batch 8 and 32,
plus 8 concurrent batch-1 clients (where server-side batching helps), for:
in-process signature calls, and `python -m serving.server` in a subprocess
with batching off and on. Prints a markdown table and writes JSON.

    python benchmarks/serving_benchmark.py --output out/serving_benchmark.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tfx_models.export.contract import Preprocessing
from tfx_models.export.saved_model import export_model
from tfx_models.kinds.two_stream import build_model
from tfx_models.export.runner import SavedModelRunner

MODEL = "bench"


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, q))


def measure(call, batch_inputs: dict[int, dict], iterations: int, warmup: int, clients: int) -> dict:
    """call(inputs) runs one request; returns latency and throughput figures."""
    one = batch_inputs[1]
    for _ in range(warmup):
        call(one)
    latencies = []
    for _ in range(iterations):
        start = time.perf_counter()
        call(one)
        latencies.append(time.perf_counter() - start)
    result = {"p50_ms_b1": percentile_ms(latencies, 50), "p99_ms_b1": percentile_ms(latencies, 99)}
    for batch in (8, 32):
        inputs = batch_inputs[batch]
        call(inputs)
        count = max(2, iterations // batch * 2)
        start = time.perf_counter()
        for _ in range(count):
            call(inputs)
        result[f"throughput_b{batch}"] = count * batch / (time.perf_counter() - start)
    per_client = max(4, iterations // 2)

    def client():
        for _ in range(per_client):
            call(one)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result[f"throughput_{clients}clients_b1"] = clients * per_client / (time.perf_counter() - start)
    return result


def start_server(base: str, batching: bool) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "serving.server", "--port", "0", "--rest_api_port", "0",
            "--model_name", MODEL, "--model_base_path", os.path.join(base, MODEL),
            "--max_concurrent_requests", "32", "--file_system_poll_wait_seconds", "0"]
    if batching:
        args += ["--enable_batching", "--batching_parameters_file", os.path.join(base, "batching_parameters.txt")]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "gRPC on" not in line:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, line.split("gRPC on ")[1].split(",")[0].strip()


def grpc_caller(address: str):
    channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 1 << 30),
                                                      ("grpc.max_receive_message_length", 1 << 30)])
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def call(inputs):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        return stub.Predict(request, timeout=300)

    return call, channel


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", choices=("spatial", "temporal"), default="spatial")
    parser.add_argument("--architecture", default="cnn_m_2048")
    parser.add_argument("--crop_size", type=int, default=224)
    parser.add_argument("--width", type=float, default=1.0, help="tower channel multiplier")
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--iterations", type=int, default=40, help="batch-1 requests timed per mode")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8, help="concurrent batch-1 clients")
    parser.add_argument("--max_batch_size", type=int, default=32)
    parser.add_argument("--batch_timeout_micros", type=int, default=2000)
    parser.add_argument("--output", default="out/serving_benchmark.json")
    args = cli.add_flags(parser).parse_args(argv)

    model = build_model(stream=args.stream, num_classes={"ucf101": args.classes}, architecture=args.architecture,
                        crop_size=args.crop_size, length=10, width=args.width)
    prep = Preprocessing(streams=(args.stream,), classes=tuple(f"class_{i}" for i in range(args.classes)),
                         crop_size=args.crop_size)
    base = tempfile.mkdtemp(prefix="serving_benchmark_")
    export_model(model, prep, base, MODEL)
    with open(os.path.join(base, "batching_parameters.txt"), "w") as f:
        f.write(f"max_batch_size {{ value: {args.max_batch_size} }}\n"
                f"batch_timeout_micros {{ value: {args.batch_timeout_micros} }}\n"
                f"num_batch_threads {{ value: 2 }}\n")
    rng = np.random.default_rng(0)
    name, channels = ("rgb", 3) if args.stream == "spatial" else ("flow", 20)
    dtype = np.uint8 if name == "rgb" else np.float32
    batch_inputs = {b: {name: (rng.integers(0, 256, (b, args.crop_size, args.crop_size, channels))
                               .astype(dtype))} for b in (1, 8, 32)}

    # In-process baseline: the same C++ loader and session the server uses, without gRPC.
    runner = SavedModelRunner(os.path.join(base, MODEL, "1"))
    results = {"in-process": measure(lambda x: runner.run("serving_default", x, ["probabilities"]),
                                     batch_inputs, args.iterations, args.warmup, args.clients)}
    # Control: the same export through the Python object graph (what TF Serving never uses),
    # to tell the loader path's own cost from the host's speed on the day.
    function = tf.saved_model.load(os.path.join(base, MODEL, "1")).signatures["serving_default"]
    results["in-process, tf.saved_model.load (control)"] = measure(
        lambda x: function(**{k: tf.constant(v) for k, v in x.items()}), batch_inputs, args.iterations,
        args.warmup, args.clients)
    for batching in (False, True):
        process, address = start_server(base, batching)
        call, channel = grpc_caller(address)
        try:
            results[f"gRPC, batching {'on' if batching else 'off'}"] = measure(
                call, batch_inputs, args.iterations, args.warmup, args.clients)
        finally:
            channel.close()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

    base_p50 = results["in-process"]["p50_ms_b1"]
    clients_key = f"throughput_{args.clients}clients_b1"
    lines = [f"| mode | p50 b1 (ms) | p99 b1 (ms) | p50 / in-process | b8 (inputs/s) | b32 (inputs/s) | "
             f"{args.clients} clients x b1 (req/s) |", "|---|---|---|---|---|---|---|"]
    for mode, r in results.items():
        lines.append(f"| {mode} | {r['p50_ms_b1']:.2f} | {r['p99_ms_b1']:.2f} | {r['p50_ms_b1'] / base_p50:.2f}x | "
                     f"{r['throughput_b8']:.1f} | {r['throughput_b32']:.1f} | {r[clients_key]:.1f} |")
    print(f"{args.architecture} width {args.width}, {args.stream}, crop {args.crop_size}, "
          f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}\n")
    print("\n".join(lines))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"config": vars(args), "cpu_count": os.cpu_count(), "results": results,
                   "p50_overhead_ratio": {m: r["p50_ms_b1"] / base_p50 for m, r in results.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
