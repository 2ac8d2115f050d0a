"""The evaluator on in-memory models: video scores, fusion rows, PNG/JSON/markdown outputs."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.svm import LinearSVC

from beam_pipelines.synth.classes import classes_of, cue_table
from tests.test_input_pipeline import write_record_dir
from tfx_models.evaluation.protocol import (AVERAGE_ROW, SVM_ROW, eval_model, evaluate_models, score_videos,
                                            write_report)
from tfx_models.evaluation.late_fusion import svm_features
from tfx_models.data.test_clips import record_test_inputs

CROP = 16


def probe_model(input_name, channels, kernel, output_suffix=""):
    """Mean over the image of each channel -> fixed linear logits -> softmax (I/O contract)."""
    inputs = keras.Input((CROP, CROP, channels), name=input_name)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    logits = keras.layers.Dense(kernel.shape[1], kernel_initializer=keras.initializers.Constant(kernel),
                                name=f"logits{output_suffix}")(pooled)
    probabilities = keras.layers.Softmax(name=f"probabilities{output_suffix}")(logits)
    return keras.Model({input_name: inputs},
                       {f"logits{output_suffix}": logits, f"probabilities{output_suffix}": probabilities})


def spatial_model():
    # Class c videos have a bright channel c: reading the channel means is always right.
    return probe_model("rgb", 3, 0.05 * np.eye(3))


def temporal_model(length=2, suffix=""):
    # Mean y displacement is c-1: logits (-y, 0, y) find classes 0 and 2, never class 1.
    kernel = np.zeros([2 * length, 3])
    kernel[1::2, 0], kernel[1::2, 2] = -4.0, 4.0
    return probe_model("flow", 2 * length, kernel, suffix)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    # Disjoint subsets: the SVM is fit on the train videos' scores and scored on other videos.
    return write_record_dir(tmp_path_factory.mktemp("records"), [3, 3, 3], frames=6, disjoint=True)


def test_evaluate_writes_rows_metrics_pngs_and_markdown(records, tmp_path):
    out = str(tmp_path / "eval")
    result = evaluate_models(
        {"Spatial": spatial_model(), "Temporal": temporal_model()}, records, out, split="split 1",
        settings={"Temporal": {"mean_subtraction": False}}, num_frames=3, crops=10)
    rows = result["rows"]
    assert list(rows) == ["Spatial", "Temporal", AVERAGE_ROW, SVM_ROW]
    assert rows["Spatial"]["accuracy"] == 1.0 and rows["Spatial"]["videos"] == 9
    assert rows["Temporal"]["per_class_recall"] == {"class0": 1.0, "class1": 0.0, "class2": 1.0}
    assert rows["Temporal"]["accuracy"] == pytest.approx(2 / 3)
    assert rows[AVERAGE_ROW]["accuracy"] == 1.0 and rows[SVM_ROW]["accuracy"] == 1.0
    assert "ceiling" not in rows["Spatial"]  # toy classes: no ceiling is known

    split_dir = os.path.join(out, "split_1")
    for slug in ("spatial", "temporal", "two_stream_fusion_by_averaging", "two_stream_fusion_by_svm"):
        for suffix in ("_confusion.png", "_recall.png"):
            with open(os.path.join(split_dir, slug + suffix), "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    saved = json.load(open(os.path.join(split_dir, "temporal.json")))
    matrix = np.array(saved["confusion_matrix"])
    assert np.diag(matrix).tolist() == [3, 0, 3] and matrix[1].sum() == 3
    svm = json.load(open(os.path.join(split_dir, "two_stream_fusion_by_svm", "svm_fusion.json")))
    assert svm["info"]["train_videos"] == 9
    scores = np.load(os.path.join(split_dir, "video_scores.npz"))
    assert scores["spatial"].shape == (9, 3) and sorted(scores["labels"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(i.startswith("toy/test_") for i in scores["ids"].tolist())  # none of the SVM's training videos

    markdown = open(os.path.join(out, "results.md")).read()
    assert "| Temporal | 66.7% | 66.7% | 66.7% |" in markdown
    assert f"| {SVM_ROW} | 100.0% |" in markdown
    report = json.load(open(os.path.join(out, "results.json")))
    assert report["splits"] == ["split 1"]
    assert report["rows"]["Temporal"]["mean_class_accuracy"]["split 1"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("batch_size", [7, 45])   # a video's 20 inputs over three calls; three videos a call
def test_video_scores_are_the_mean_softmax_over_each_videos_inputs(records, tmp_path, batch_size):
    model = temporal_model()
    result = evaluate_models({"Temporal": model}, records, str(tmp_path), num_frames=4, crops=5,
                             batch_size=batch_size)
    assert list(result["rows"]) == ["Temporal"]
    saved = np.load(os.path.join(tmp_path, os.path.basename(records), "video_scores.npz"))  # no split: its folder
    videos = list(record_test_inputs(records, "test", ("temporal",), num_frames=4, crops=5,
                                    crop_size=CROP, length=2))
    assert saved["ids"].tolist() == [v.id for v in videos]
    expected = [model.predict({"flow": v.features["flow"]}, verbose=0)["probabilities"].mean(axis=0)
                for v in videos]
    np.testing.assert_allclose(saved["temporal"], expected, atol=1e-6)


def test_a_limit_scores_the_first_videos_only(records):
    entry = eval_model("Temporal", temporal_model(), {}, "toy", ["class0", "class1", "class2"])
    ids, labels, scores = score_videos([entry], records, "test", num_frames=4, crops=5, batch_size=45, limit=2)
    first = [v.id for v in record_test_inputs(records, "test", ("temporal",), num_frames=4, crops=5,
                                              crop_size=CROP, length=2)][:2]
    assert ids == first and scores["Temporal"].shape == (2, 3) and len(labels) == 2


def test_the_svm_is_fit_on_the_training_videos_scores_only(records, tmp_path):
    """The fusion findings rest on this: the SVM never sees a test video. Its file names the videos it
    was fit on, and its weights are those of an SVM fit here on the training subset's scores."""
    spatial, temporal = spatial_model(), temporal_model()
    evaluate_models({"Spatial": spatial, "Temporal": temporal}, records, str(tmp_path), split="s1",
                    num_frames=2, crops=1)
    saved = json.load(open(os.path.join(tmp_path, "s1", "two_stream_fusion_by_svm", "svm_fusion.json")))
    # write_record_dir(disjoint=True) names the training videos toy/train_c{class}_v{i}.avi
    assert sorted(saved["info"]["train_ids"]) == sorted(f"toy/train_c{c}_v{i}.avi" for c in range(3)
                                                        for i in range(3))

    def train_scores(model, stream, key):
        videos = list(record_test_inputs(records, "train", (stream,), num_frames=2, crops=1, crop_size=CROP,
                                         length=2))
        probabilities = [model.predict({key: v.features[key]}, verbose=0)["probabilities"].mean(axis=0)
                         for v in videos]
        return np.stack(probabilities), np.array([v.label for v in videos])

    spatial_scores, labels = train_scores(spatial, "spatial", "rgb")
    temporal_scores, _ = train_scores(temporal, "temporal", "flow")
    by_hand = LinearSVC(C=1.0, multi_class="ovr", random_state=0, max_iter=10_000).fit(
        svm_features(spatial_scores, temporal_scores), labels)
    np.testing.assert_allclose(saved["coef"], by_hand.coef_, rtol=1e-4, atol=1e-6)


def test_multitask_head_is_picked_by_the_records_dataset(records, tmp_path):
    model = temporal_model(suffix="_toy")
    result = evaluate_models({"Temporal": model}, records, str(tmp_path), num_frames=2, crops=2,
                             settings={"Temporal": {"mean_subtraction": False}})
    assert result["rows"]["Temporal"]["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no output 'probabilities' or 'probabilities_toy'"):
        evaluate_models({"T": temporal_model(suffix="_hmdb51")}, records, str(tmp_path))
    with pytest.raises(ValueError, match="has 2 classes, the records of 'toy' have 3"):
        evaluate_models({"S": probe_model("rgb", 3, np.ones([3, 2]))}, records, str(tmp_path))
    with pytest.raises(ValueError, match="inputs \\['image'\\]"):
        evaluate_models({"S": probe_model("image", 3, np.eye(3))}, records, str(tmp_path))


def test_rows_on_the_embedded_benchmark_carry_ceiling_share_and_recall_by_cue(tmp_path):
    names = [name for name, _ in classes_of("ucf101")]
    records = write_record_dir(tmp_path / "records", [2] * len(names), dataset="ucf101", class_names=names,
                               disjoint=True, cue_table=cue_table("ucf101"))
    rng = np.random.default_rng(0)
    spatial = probe_model("rgb", 3, rng.normal(0, 0.05, (3, len(names))))
    temporal = probe_model("flow", 4, rng.normal(0, 1.0, (4, len(names))))
    out = str(tmp_path / "eval")
    rows = evaluate_models({"Spatial": spatial, "Temporal": temporal}, records, out, split="s1",
                           num_frames=2, crops=1, svm=False)["rows"]
    # Hand counts on the UCF-like table: appearance 6 of 10 classes, motion 7, both 10.
    for label, ceiling in [("Spatial", 0.6), ("Temporal", 0.7), (AVERAGE_ROW, 1.0)]:
        assert rows[label]["ceiling"] == pytest.approx(ceiling)
        assert rows[label]["share_of_ceiling"] == pytest.approx(rows[label]["accuracy"] / ceiling)
        assert set(rows[label]["recall_by_cue"]) == {"motion only", "appearance only", "both"}
    recall = rows["Spatial"]["per_class_recall"]
    motion_only = [recall[n] for n in ("ApproachBall", "BounceBall", "RecedeBall", "SpinBall", "SwingBall")]
    assert rows["Spatial"]["recall_by_cue"]["motion only"] == pytest.approx(np.mean(motion_only))
    report = json.load(open(os.path.join(out, "results.json")))
    assert report["rows"]["Temporal"]["mean_ceiling"] == pytest.approx(0.7)
    header = open(os.path.join(out, "results.md")).read().splitlines()[0]
    assert "| Ceiling | Share of ceiling | Recall, motion only |" in header


def test_report_means_over_splits(tmp_path):
    def row(accuracy, mca):
        return {"accuracy": accuracy, "mean_class_accuracy": mca, "videos": 10}

    markdown = write_report({"s1": {"Spatial": row(0.7, 0.6), "Temporal": row(0.8, 0.8)},
                             "s2": {"Spatial": row(0.5, 0.4)}}, str(tmp_path))
    assert markdown.splitlines()[0] == ("| Method | s1 accuracy | s2 accuracy | Mean accuracy "
                                        "| Mean class accuracy |")
    assert "| Spatial | 70.0% | 50.0% | 60.0% | 50.0% |" in markdown
    assert "| Temporal | 80.0% | – | 80.0% | 80.0% |" in markdown
    report = json.load(open(tmp_path / "results.json"))
    assert report["rows"]["Spatial"]["mean_accuracy"] == pytest.approx(0.6)


def test_cli_help_lists_the_run_options():
    result = subprocess.run([sys.executable, "-m", "tfx_models.evaluate", "--help"],
                            capture_output=True, text=True, check=True)
    for option in ("--spatial", "--temporal", "--records", "--out", "--num_frames", "--crops"):
        assert option in result.stdout
