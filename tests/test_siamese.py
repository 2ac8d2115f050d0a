"""The Siamese multi-view model: contrastive loss by hand, shared weights, the pair sampler on records
of known clips, views and frames, MirroredStrategy, and a real train -> evaluate -> export run."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from media.records import encode_record
from media.shards import write_dataset_info
from tests.test_train_support import python, write_shards
from tfx_models import config as config_lib, runs
from tfx_models.export import saved_model as export
from tfx_models.losses import contrastive, siamese_loss
from tfx_models.data.pairs import PairError, build_pair_index, pair_samples
from tfx_models.export.runner import SavedModelRunner
from tfx_models.kinds.siamese import build_branch, build_siamese

CLASSES = ["jump", "walk", "wave"]
SIDE = 32
FRAMES = 7
STEP = 3


def pixel_code(clip: int, frame: int, view: int) -> tuple[int, int, int]:
    """The flat colour of frame `frame` of clip `clip` seen from `view`: which moment an image shows."""
    return 10 * frame, 30 * clip + 20, 80 * view + 40


def write_multiview_records(record_dir: str, *, clips_per_class: int = 2, skip=()) -> dict[str, dict]:
    """Clip k (class k % 3, group 'clip<k>') seen from views 0 and 1, every frame one flat pixel_code colour.
    skip: (clip, view) pairs left out. Returns {record id: its clip, label, group and view}."""
    os.makedirs(record_dir, exist_ok=True)
    table, serialized = {}, []
    for clip in range(clips_per_class * len(CLASSES)):
        label = clip % len(CLASSES)
        for view in (0, 1):
            if (clip, view) in skip:
                continue
            frames = np.stack([np.broadcast_to(np.array(pixel_code(clip, t, view), np.uint8), (SIDE, SIDE, 3))
                               for t in range(FRAMES)])
            record_id = f"mv/clip{clip}_view{view}"
            table[record_id] = {"clip": clip, "label": label, "group": f"clip{clip}", "view": view}
            serialized.append(encode_record(
                id=record_id, path=f"/videos/clip{clip}_view{view}.mp4", dataset="mv", label=label,
                label_name=CLASSES[label], group=f"clip{clip}", view=view, fps=25.0, frames=frames,
                flow=np.zeros((FRAMES - 1, SIDE, SIDE, 2), np.float32), flow_bound=20.0, flow_algorithm="dis_fast"))
    for subset in ("train", "test"):
        write_shards(record_dir, subset, serialized, 2)
    write_dataset_info(record_dir, {
        "dataset": "mv", "classes": CLASSES, "counts": {"train": len(serialized), "test": len(serialized)},
        "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": False, "jpeg_quality": 90},
        "size": SIDE, "schema_version": 2})
    return table


# The loss --------------------------------------------------------------------

def test_contrastive_loss_against_hand_computed_values():
    margin = 1.0
    # similar at D=0.5: 0.5^2; similar at D=2: 2^2; dissimilar inside the margin at D=0.3: (1-0.3)^2;
    # dissimilar outside the margin at D=1.5: 0.
    distance = tf.constant([0.5, 2.0, 0.3, 1.5])
    similar = tf.constant([1, 1, 0, 0])
    np.testing.assert_allclose(contrastive(distance, similar, margin), [0.25, 4.0, 0.49, 0.0], rtol=1e-6)

    # Through the training loss: embeddings 0.5 apart (similar) and 0.3 apart (dissimilar), zero logits
    # over 3 classes (cross-entropy ln 3 per labelled image), the second pair's b image unlabelled.
    outputs = {"embedding_a": tf.constant([[0.0, 0.0], [1.0, 1.0]]),
               "embedding_b": tf.constant([[0.3, 0.4], [1.0, 1.3]]),
               "logits_a": tf.zeros([2, 3]), "logits_b": tf.zeros([2, 3])}
    targets = {"similar": tf.constant([1, 0]), "label_a": tf.constant([0, 1]), "label_b": tf.constant([0, 2]),
               "label_mask_a": tf.constant([1.0, 1.0]), "label_mask_b": tf.constant([1.0, 0.0])}
    weight, global_batch = 0.5, 4  # this replica holds 2 of a global batch of 4
    loss, logs = siamese_loss(margin, weight)(outputs, targets, global_batch)
    expected = (3 * np.log(3.0) + weight * (0.25 + 0.49)) / global_batch
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose([float(v) for v in logs["loss_contrastive"]], [0.74, 2.0], rtol=1e-5)
    np.testing.assert_allclose([float(v) for v in logs["loss_b"]], [np.log(3.0), 1.0], rtol=1e-5)


# Shared weights ----------------------------------------------------------------

def test_the_branches_share_every_weight_and_one_step_moves_both():
    keras.utils.set_random_seed(0)
    model = build_siamese(build_branch(num_classes=3, crop_size=SIDE, width=0.125, dropout=0.0))
    tower_and_head = [f"{layer}/{w}" for layer in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7",
                                                   "logits") for w in ("kernel", "bias")]
    assert sorted(v.path for v in model.weights) == sorted(tower_and_head)
    branch = model.get_layer("branch")
    assert [id(v) for v in model.trainable_variables] == [id(v) for v in branch.trainable_variables]

    rng = np.random.default_rng(0)
    x = {"rgb_a": rng.uniform(0, 255, (2, SIDE, SIDE, 3)).astype(np.float32),
         "rgb_b": rng.uniform(0, 255, (2, SIDE, SIDE, 3)).astype(np.float32)}
    # Only branch a's softmax loss: a model with two towers would move tower a only.
    targets = {"similar": tf.constant([0, 0]), "label_a": tf.constant([0, 1]), "label_b": tf.constant([0, 1]),
               "label_mask_a": tf.constant([1.0, 1.0]), "label_mask_b": tf.constant([0.0, 0.0])}
    same = {"rgb_a": x["rgb_a"], "rgb_b": x["rgb_a"]}
    before = model(same)
    with tf.GradientTape() as tape:
        loss, _ = siamese_loss(1.0, 0.0)(model(x, training=True), targets, 2)
    grads = tape.gradient(loss, model.trainable_variables)
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables))
    after = model(same)
    assert not np.allclose(after["logits_a"], before["logits_a"]), "the step did not move the weights"
    for key in ("logits", "embedding"):
        np.testing.assert_array_equal(after[f"{key}_a"], after[f"{key}_b"])


# The pair sampler --------------------------------------------------------------

def test_pairs_are_two_views_of_one_moment_or_two_classes(tmp_path):
    table = write_multiview_records(str(tmp_path / "mv"))
    index = build_pair_index(str(tmp_path / "mv"), frame_step=STEP)
    samples = pair_samples(index, crop_size=SIDE, ratio=3.0, labelled_views=(0,), flip=False,
                           color_jitter=False, seed=5)
    counts = {0: 0, 1: 0}
    for features, targets in samples.take(240).as_numpy_iterator():
        records = {side: table[index.ids[targets[f"record_{side}"]]] for side in "ab"}
        for side, record in records.items():
            frame = int(targets[f"frame_{side}"])
            assert frame % STEP == 0 and frame < FRAMES
            # The image shows what the sampler says it shows: that clip, view and frame.
            colour = features[f"rgb_{side}"].reshape(-1, 3).mean(axis=0)
            np.testing.assert_allclose(colour, pixel_code(record["clip"], frame, record["view"]), atol=4)
            assert targets[f"label_{side}"] == record["label"]
            assert targets[f"label_mask_{side}"] == (1.0 if record["view"] == 0 else 0.0)
        if targets["similar"]:
            assert records["a"]["group"] == records["b"]["group"]
            assert (records["a"]["view"], records["b"]["view"]) == (0, 1)
            assert targets["frame_a"] == targets["frame_b"]
        else:
            assert records["a"]["label"] != records["b"]["label"]
        counts[int(targets["similar"])] += 1
    # ratio 3: a quarter of the pairs are similar (240 draws: standard deviation 0.028).
    assert 0.15 < counts[1] / 240 < 0.35, counts


def test_a_record_without_its_partner_view_is_named(tmp_path):
    write_multiview_records(str(tmp_path / "mv"), skip={(4, 1)})
    with pytest.raises(PairError, match=r"record mv/clip4_view0 \(group 'clip4', view 0\) has no view-1 partner"):
        build_pair_index(str(tmp_path / "mv"), frame_step=STEP)


# Training under MirroredStrategy -----------------------------------------------

MIRRORED_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf

from tests.test_siamese import SIDE, write_multiview_records
from tfx_models import config as config_lib, kinds
from tfx_models.training.strategies import make_strategy, split_cpu
from tfx_models.training.loop import train

split_cpu(2)
strategy = make_strategy("mirrored")
tmp = sys.argv[1]
write_multiview_records(tmp + "/mv")
config = config_lib.override(config_lib.ExperimentConfig(name="siamese_mirrored"), [
    "model.kind=siamese", f"data.records={tmp}/mv", f"data.crop_size={SIDE}", "model.width=0.125",
    "model.dropout=0", "siamese.frame_step=3", "siamese.ratio=1", "siamese.margin=50", "train.batch_size=4",
    "train.steps=2", "train.log_every=1", "train.checkpoint_every=2"])
model, summary = train(config, tmp + "/run", strategy=strategy)

# The per-replica shares of the loss sum to the loss of the whole batch computed in one piece.
kind = kinds.kind_of(config)
loss_fn = kind.loss(config, ["mv"])
batch = next(iter(kind.dataset(config)(tf.distribute.InputContext(), seed=1).unbatch().batch(8)))
whole, _ = loss_fn(model(batch[0]), batch[1], 8)
dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))
per_replica = strategy.run(lambda f, t: loss_fn(model(f), t, 8)[0], args=next(iter(dist)))
shares = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "total_loss": summary["total_loss"],
                  "step": summary["step"], "whole": float(whole), "shares": float(shares)}))
"""


def test_siamese_trains_under_mirrored_strategy_on_two_cpus(tmp_path):
    result = python(["-c", MIRRORED_SCRIPT, str(tmp_path)])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["step"] == 2 and np.isfinite(out["total_loss"])
    np.testing.assert_allclose(out["shares"], out["whole"], rtol=1e-5)


# A real run: train -> evaluate -> export -----------------------------------------

def test_a_siamese_run_trains_evaluates_and_exports_one_branch_with_embed(tmp_path):
    from tfx_models.evaluation.protocol import evaluate_runs
    from tfx_models.training.loop import train

    records = str(tmp_path / "mv")
    write_multiview_records(records)
    config = config_lib.override(config_lib.ExperimentConfig(name="siamese_tiny"), [
        "model.kind=siamese", f"data.records={records}", f"data.crop_size={SIDE}", "model.width=0.125",
        "siamese.frame_step=3", "siamese.labelled_views=0", "siamese.projection=8", "train.batch_size=4",
        "train.steps=2", "train.log_every=1", "train.checkpoint_every=2"])
    run_dir = str(tmp_path / "run")
    _, summary = train(config, run_dir)
    assert {"loss_a", "loss_contrastive", "distance_similar"} <= set(summary)

    report = evaluate_runs([], [], str(tmp_path / "eval"), others=[run_dir], subset="test", num_frames=2, crops=1,
                           batch_size=50, svm=False, svm_frames=2, svm_crops=1, svm_c=1.0)
    (rows,) = report["splits"].values()
    assert list(rows) == ["Spatial"] and rows["Spatial"]["videos"] == 12

    assert export.main(["--run_dir", run_dir, "--base", str(tmp_path / "models"), "--name", "siamese"]) == 0
    runner = SavedModelRunner(str(tmp_path / "models" / "siamese" / "1"))
    assert set(runner.signature_defs) == {"serving_default", "predict_records", "metadata", "embed"}
    assert runner.warmup_count == 4
    assert runner.run("metadata", {"probe": np.int32(0)})["kind"].item() == b"siamese"
    branch, info = runs.load_model_from_run(run_dir)
    assert info["streams"] == ["spatial"]
    frames = np.random.default_rng(1).integers(0, 256, (3, SIDE, SIDE, 3), dtype=np.uint8)
    embedding = np.asarray(branch({"rgb": frames.astype(np.float32)})["embedding"])
    assert embedding.shape == (3, 8)
    np.testing.assert_allclose(runner.run("embed", {"rgb": frames})["embedding"], embedding, rtol=1e-5,
                               atol=1e-5 * np.abs(embedding).max())
    runner.close()
