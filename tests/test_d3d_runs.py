"""D3D end to end at a tiny scale: train a flow teacher, distil it into an RGB student, evaluate, export the
student RGB-only, serve it, and classify video files with the client and the Beam job without optical flow."""
import json

import keras
import numpy as np
import pytest

from media.flow import FlowEstimator
from media.shards import iter_records
from tests.test_train_support import REPO, write_records
from tests.test_serving_fixtures import write_test_video
from tfx_models import config as config_lib, kinds, runs
from tfx_models.training.loop import train

# The inflated CNN-M keeps the traced graphs small (S3D-G's export is checked in test_export_conformance).
TINY = ["model.architecture=i3d_cnn_m", "distill.teacher_architecture=i3d_cnn_m", "data.crop_size=32", "model.width=0.125", "distill.teacher_width=0.125", "data.snippets=4",
        "data.snippet_stride=2,2", "train.batch_size=4", "train.steps=2", "train.checkpoint_every=2",
        "train.log_every=1"]


def experiment(name, *overrides):
    return config_lib.override(config_lib.load_experiment(f"{REPO}/tfx_models/experiments/{name}.py"),
                               [*TINY, *overrides])


@pytest.fixture(scope="module")
def d3d_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("d3d")
    records = write_records(str(root / "records"), "tiny", ["a", "b", "c"], frames=8)
    teacher = str(root / "teacher")
    train(experiment("demo_d3d_teacher", f"data.records={records}"), teacher)
    config = experiment("demo_d3d_kl", f"data.records={records}", f"distill.teacher_run={teacher}")
    d3d = str(root / "d3d")
    trained, _ = train(config, d3d)
    student, info = runs.load_model_from_run(d3d)
    return {"root": root, "records": records, "teacher": teacher, "d3d": d3d, "trained": trained, "config": config,
            "student": student, "info": info}


def test_the_d3d_run_trained_its_student_against_the_teacher_runs_frozen_weights(d3d_runs):
    trained, config = d3d_runs["trained"], d3d_runs["config"]
    teacher_model, teacher_info = runs.load_model_from_run(d3d_runs["teacher"])
    assert teacher_info["kind"] == "s3d" and teacher_info["streams"] == ["temporal"]
    by_name = {layer.name: layer for layer in teacher_model.get_layer("tower").layers if layer.weights}
    frozen = trained.get_layer("teacher").get_layer("tower")
    compared = 0
    for layer in (layer for layer in frozen.layers if layer.weights):  # BN statistics included
        for got, want in zip(layer.get_weights(), by_name[layer.name].get_weights(), strict=True):
            np.testing.assert_array_equal(got, want, err_msg=layer.name)
            compared += 1
    assert compared == len(frozen.weights) > 10
    keras.utils.set_random_seed(config.train.seed)  # what train() built before its first step
    initial = kinds.kind_of(config).build(config, {"tiny": 3}).get_layer("student")
    student = trained.get_layer("student")
    assert not np.array_equal(student.get_layer("logits").get_weights()[0], initial.get_layer("logits").get_weights()[0])

    model, info = d3d_runs["student"], d3d_runs["info"]
    assert list(model.input) == ["rgb"] and model.name == "student"
    assert info["streams"] == ["spatial"] and info["training_streams"] == ["spatial", "temporal"]
    assert info["distill"]["loss"] == "kl" and info["snippets"] == 4


def test_a_teacher_run_of_other_inputs_is_refused_naming_the_setting(d3d_runs, tmp_path):
    config = experiment("demo_d3d_mse", f"data.records={d3d_runs['records']}", "data.snippets=3",
                        f"distill.teacher_run={d3d_runs['teacher']}")
    with pytest.raises(ValueError, match="snippets is 4, needs 3"):
        train(config, str(tmp_path / "mismatch"))


def test_evaluate_scores_the_student_on_rgb_clips_and_its_late_fusion_with_the_teacher(d3d_runs, tmp_path):
    from tfx_models.evaluation.protocol import evaluate_runs

    result = evaluate_runs([d3d_runs["d3d"]], [d3d_runs["teacher"]], str(tmp_path / "eval"), subset="test",
                           num_frames=2, crops=1, batch_size=50, svm=False, svm_frames=2, svm_crops=1, svm_c=1.0)
    [split] = result["splits"].values()
    assert set(split) == {"d3d: RGB clips T=4, i3d_cnn_m, distilled (kl, lambda 1, tau 2)",
                          "s3d: flow clips T=4, i3d_cnn_m",
                          "Two-stream: fusion by averaging"}
    assert all(row["videos"] == 6 for row in split.values())


@pytest.fixture(scope="module")
def student_export(d3d_runs):
    from tfx_models.export import saved_model as export

    base = d3d_runs["root"] / "models"
    assert export.main(["--run_dir", d3d_runs["d3d"], "--base", str(base), "--name", "d3d"]) == 0
    return base


def test_the_export_is_rgb_only_and_reloads_to_the_in_memory_scores(d3d_runs, student_export):
    from tfx_models.export.contract import read_preprocessing
    from tfx_models.export.runner import SavedModelRunner

    path = str(student_export / "d3d" / "1")
    runner = SavedModelRunner(path)
    assert set(runner.signature("serving_default").inputs) == {"rgb"}
    prep = read_preprocessing(path)
    assert prep.streams == ("spatial",) and prep.joint and (prep.snippets, prep.snippet_stride) == (4, 2)
    model = d3d_runs["student"]
    clips = np.random.default_rng(0).integers(0, 256, (3, 4, 32, 32, 3), dtype=np.uint8)
    got = runner.run("serving_default", {"rgb": clips})["probabilities"]
    np.testing.assert_allclose(got, model({"rgb": clips.astype(np.float32)})["probabilities"], rtol=1e-5, atol=1e-6)
    records = np.array(list(iter_records(d3d_runs["records"], "test"))[:2], dtype=object)
    assert runner.run("predict_records", {"records": records})["probabilities"].shape == (2, 3)
    runner.close()


@pytest.fixture
def no_optical_flow(monkeypatch):
    """Any optical flow computed from here on fails the test."""
    def refuse(self, prev_gray, next_gray):
        raise AssertionError("optical flow was computed for an RGB-only model")
    monkeypatch.setattr(FlowEstimator, "__call__", refuse)


def test_client_and_beam_predict_classify_videos_without_optical_flow(d3d_runs, student_export, tmp_path,
                                                                      no_optical_flow):
    from beam_pipelines import predict
    from serving.client import GrpcTransport, classify
    from serving.server import EmbeddedServer, ServerOptions
    from tfx_models.export.contract import read_preprocessing
    from tfx_models.data.video_file import video_test_inputs

    videos = tmp_path / "videos"
    videos.mkdir()
    paths = [write_test_video(videos / "a.avi", count=12, seed=1), write_test_video(videos / "b.avi", count=9, seed=2)]
    model = d3d_runs["student"]
    prep = read_preprocessing(str(student_export / "d3d" / "1"))
    expected = {}
    for path in paths:
        inputs = video_test_inputs(path, prep, num_frames=3, crops=2)
        assert set(inputs) == {"rgb"} and inputs["rgb"].shape == (6, 4, 32, 32, 3)
        expected[path] = np.asarray(model({"rgb": inputs["rgb"].astype(np.float32)})["probabilities"]).mean(axis=0)

    options = ServerOptions(models={"d3d": str(student_export / "d3d")}, grpc_port=0, rest_port=None)
    with EmbeddedServer(options) as server:
        transport = GrpcTransport(f"127.0.0.1:{server.grpc_port}", "d3d")
        result = classify(paths[0], transport, num_frames=3, crops=2)
        transport.close()
    assert result["inputs"] == 6
    np.testing.assert_allclose(result["probabilities"], expected[paths[0]], rtol=1e-4, atol=1e-6)

    output = str(tmp_path / "out" / "run")
    counts = predict.run(["--model_dir", str(student_export / "d3d"), "--videos", str(videos), "--output", output,
                          "--num_frames", "3", "--crops", "2", "--direct_running_mode", "in_memory",
                          "--direct_num_workers", "1"])
    assert (counts["predictions"], counts["dead_letter"]) == (2, 0)
    rows = [json.loads(line) for line in open(next((tmp_path / "out").glob("run-predictions-*.jsonl")))]
    for row in rows:
        np.testing.assert_allclose(row["probabilities"], expected[row["path"]], rtol=1e-4, atol=1e-6)


def test_distillation_can_start_from_a_trained_student(d3d_runs, tmp_path):
    """model.init_run copies a trained s3d RGB run (heads included) into the d3d student; the
    same key starts the control run (kind s3d, no teacher) from the same weights."""
    records = d3d_runs["records"]
    student_run = str(tmp_path / "student")
    train(experiment("demo_d3d_student", f"data.records={records}"), student_run)
    trained, _ = runs.load_model_from_run(student_run)
    for name, overrides in (("demo_d3d_mse", [f"distill.teacher_run={d3d_runs['teacher']}"]), ("demo_d3d_student", [])):
        config = experiment(name, f"data.records={records}", f"model.init_run={student_run}", *overrides)
        kind = kinds.kind_of(config)
        model = kind.build(config, {"tiny": 3})
        loaded = kind.initialise(model, config)
        student = model.get_layer("student") if name == "demo_d3d_mse" else model
        assert any("init_run:" in n for n in loaded)
        for layer in ("logits", "tower"):
            for got, want in zip(student.get_layer(layer).get_weights(), trained.get_layer(layer).get_weights(),
                                 strict=True):
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {layer}")
    config = experiment("demo_d3d_student", f"data.records={records}", f"model.init_run={d3d_runs['teacher']}")
    with pytest.raises(ValueError, match="needs a kind s3d run on the spatial stream"):
        kinds.kind_of(config).initialise(kinds.kind_of(config).build(config, {"tiny": 3}), config)
