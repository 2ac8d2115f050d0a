"""The model-kind hooks a distilled or Siamese family relies on: a kind whose training model
reads more than it serves (a teacher's flow) trains on its own sampler, and its runs load,
evaluate and export as the inference part only."""
import keras
import numpy as np
import pytest

from tests.test_train_support import write_records
from tfx_models import config as config_lib, kinds, runs
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.losses import cross_entropy_heads
from tfx_models.training.loop import pipeline_dataset_fn, train


def _probe_build(config, num_classes):
    """A student head on RGB and a 'teacher' head on flow, one model."""
    classes = num_classes[next(iter(num_classes))]
    rgb = keras.Input((config.data.crop_size, config.data.crop_size, 3), name="rgb")
    flow = keras.Input((config.data.crop_size, config.data.crop_size, 2 * config.data.length), name="flow")
    logits = keras.layers.Dense(classes, name="logits")(keras.layers.GlobalAveragePooling2D()(rgb))
    teacher = keras.layers.Dense(classes, name="teacher_logits")(keras.layers.GlobalAveragePooling2D()(flow))
    return keras.Model({"rgb": rgb, "flow": flow},
                       {"logits": logits, "probabilities": keras.layers.Softmax(name="probabilities")(logits),
                        "teacher_logits": teacher})


def _probe_inference(model, config):
    return keras.Model({"rgb": model.input["rgb"]},
                       {k: model.output[k] for k in ("logits", "probabilities")}, name="student")


@pytest.fixture
def probe_kind(monkeypatch):
    sampled = []

    def dataset(config):
        joint = pipeline_dataset_fn(config)

        def dataset_fn(input_context, seed):
            sampled.append(seed)
            return joint(input_context, seed)
        return dataset_fn

    kind = kinds.ModelKind(
        name="probe_student", streams=lambda c: ("spatial", "temporal"), build=_probe_build,
        loss=lambda c, tasks: cross_entropy_heads({"logits": None, "teacher_logits": None}),
        test_sampler=record_test_inputs, inference=_probe_inference, serving_streams=lambda c: ("spatial",), dataset=dataset)
    monkeypatch.setitem(kinds.KINDS, kind.name, kind)
    return sampled


def test_a_kind_trains_on_its_sampler_and_its_runs_load_as_the_inference_model(probe_kind, tmp_path):
    records = write_records(str(tmp_path / "records"), "tiny", ["a", "b"], frames=6)
    config = config_lib.override(config_lib.ExperimentConfig(name="probe"), [
        "model.kind=probe_student", f"data.records={records}", "data.crop_size=16", "data.length=2",
        "train.batch_size=2", "train.steps=2", "train.checkpoint_every=2", "train.log_every=1"])
    run_dir = str(tmp_path / "run")
    trained, _ = train(config, run_dir)
    assert probe_kind, "training did not draw from the kind's own sampler"
    assert set(trained.input) == {"rgb", "flow"}

    model, info = runs.load_model_from_run(run_dir)
    assert list(model.input) == ["rgb"] and set(model.output) == {"logits", "probabilities"}
    assert info["streams"] == ["spatial"] and info["training_streams"] == ["spatial", "temporal"]
    np.testing.assert_allclose(model.get_layer("logits").get_weights()[0],
                               trained.get_layer("logits").get_weights()[0])
