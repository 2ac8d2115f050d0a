"""serving.client end to end: a real video file, `python -m serving.server` as a subprocess, gRPC and REST."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from serving import client
from tfx_models.data.video_file import video_test_inputs
from tests.test_serving_fixtures import CLASSES, preprocessing, stream_model, write_test_video
from tfx_models.export.saved_model import export_model
from tfx_models.kinds.two_stream import two_stream_model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("client")
    model = two_stream_model(stream_model("spatial", seed=5), stream_model("temporal", seed=6))
    export_model(model, preprocessing(("spatial", "temporal")), str(base), "two_stream")
    rest_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.server", "--port", "0", "--rest_api_port", str(rest_port),
         "--model_config_file", str(base / "models.config"), "--enable_batching",
         "--batching_parameters_file", str(base / "batching_parameters.txt")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        line = process.stdout.readline()  # "serving [...]: gRPC on HOST:PORT, REST on HOST:PORT"
        assert "gRPC on 127.0.0.1:" in line, line
        grpc_address = line.split("gRPC on ")[1].split(",")[0].strip()
        yield grpc_address, f"127.0.0.1:{rest_port}", model, base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def expected_scores(model, video: str) -> np.ndarray:
    inputs = video_test_inputs(video, preprocessing(("spatial", "temporal")), num_frames=5, crops=10)
    scores = model({k: v.astype(np.float32) for k, v in inputs.items()})["probabilities"]
    return np.asarray(scores).mean(axis=0)


def run_client(args, capsys) -> tuple[int, str, str]:
    code = client.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_client_grpc_and_rest_on_a_real_video(server, tmp_path, capsys):
    grpc_address, rest_address, model, _ = server
    video = write_test_video(tmp_path / "clip.avi", count=12)
    expected = expected_scores(model, video)
    order = np.argsort(-expected)
    for transport in ([], ["--rest"]):
        address = rest_address if transport else grpc_address
        # 0.05 MiB per request: the 50 inputs go as several requests and are averaged together.
        code, out, err = run_client([video, "--server", address, "--model", "two_stream", "--num_frames", "5",
                                     "--crops", "10", "--max_request_mb", "0.05", "--json", *transport], capsys)
        assert code == 0, err
        result = json.loads(out)
        assert result["inputs"] == 50
        assert [e["class"] for e in result["top"]] == [CLASSES[i] for i in order]
        np.testing.assert_allclose([e["score"] for e in result["top"]], expected[order], rtol=1e-4, atol=1e-6)
    code, out, _ = run_client([video, "--server", grpc_address, "--model", "two_stream", "--num_frames", "2",
                               "--crops", "1"], capsys)
    assert code == 0 and "scores averaged over 2 inputs" in out and out.count("\n") == 1 + len(CLASSES)


def test_client_reports_bad_video_and_unknown_model(server, tmp_path, capsys):
    grpc_address, _, _, _ = server
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    code, _, err = run_client([str(broken), "--server", grpc_address, "--model", "two_stream"], capsys)
    assert code == 2 and str(broken) in err
    video = write_test_video(tmp_path / "ok.mp4")
    code, _, err = run_client([video, "--server", grpc_address, "--model", "missing"], capsys)
    assert code == 1 and "NOT_FOUND" in err and "missing" in err
