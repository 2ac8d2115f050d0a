"""Kind `stream`: one tower on one input (Simonyan & Zisserman 2014), single- or multi-task (Sect. 4),
and the two-stream late-fusion model of two such streams (Sect. 6).

Output contract: single task {"logits", "probabilities"}; several tasks
{"logits_<task>", "probabilities_<task>"} per task (tfx_models.heads); the
two-stream model {"probabilities", "spatial_probabilities", "temporal_probabilities"}.
"""
from __future__ import annotations

import keras

from tfx_models import runs
from tfx_models.backbones.towers import build_tower, input_shape
from tfx_models.backbones.weights import load_tower_weights
from tfx_models.config import ARCHITECTURES, FLOW_SCALE, ExperimentConfig
from tfx_models.config.checks import choice
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.losses import classification_loss
from tfx_models.registry import ModelKind, register


def build_model(*, stream: str, num_classes: dict[str, int], architecture: str = "cnn_m_2048",
                crop_size: int = 224, length: int = 10, width: float = 1.0, dropout: float = 0.5,
                weights: str | None = None, train_tower: bool = True, flow_scale: float = FLOW_SCALE,
                init: str = "glorot_uniform", name: str | None = None) -> keras.Model:
    """A tower plus one softmax head per task (num_classes: task name -> classes, in task order)."""
    if not num_classes:
        raise ValueError("num_classes: at least one task is needed")
    tower = build_tower(architecture, input_shape(stream, crop_size, length), stream=stream, width=width,
                        dropout=dropout, weights=weights, flow_scale=flow_scale, init=init)
    tower.trainable = train_tower
    inputs = tower.input
    return keras.Model({inputs.name: inputs}, classifier_heads({"": tower(inputs)["features"]}, num_classes),
                       name=name or stream)


def build_model_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    d, m = config.data, config.model
    return build_model(stream=d.stream, num_classes=num_classes, architecture=m.architecture,
                       crop_size=d.crop_size, length=d.length, width=m.width, dropout=m.dropout,
                       weights=m.weights, train_tower=m.train_tower, flow_scale=m.flow_scale, init=m.init)


def _probabilities_key(model: keras.Model, stream: str, task: str | None) -> str:
    """A single-task model's "probabilities", else the head of `task`."""
    if "probabilities" in model.output:
        return "probabilities"
    key = f"probabilities_{task}"
    if task is None or key not in model.output:
        raise ValueError(f"{stream} model is multi-task ({sorted(model.output)}): "
                         f"pass task= one of its task names, got {task!r}")
    return key


def two_stream_model(spatial: keras.Model, temporal: keras.Model, *, task: str | None = None) -> keras.Model:
    """Late fusion by averaging the two streams' softmax scores (Sect. 6).

    task picks the head of a multi-task stream (e.g. "ucf101"); single-task
    streams use their only head.
    """
    rgb = keras.Input(spatial.input["rgb"].shape[1:], name="rgb")
    flow = keras.Input(temporal.input["flow"].shape[1:], name="flow")
    p_spatial = spatial({"rgb": rgb})[_probabilities_key(spatial, "spatial", task)]
    p_temporal = temporal({"flow": flow})[_probabilities_key(temporal, "temporal", task)]
    return keras.Model(
        {"rgb": rgb, "flow": flow},
        {"probabilities": keras.layers.Average(name="probabilities")([p_spatial, p_temporal]),
         "spatial_probabilities": keras.layers.Identity(name="spatial_probabilities")(p_spatial),
         "temporal_probabilities": keras.layers.Identity(name="temporal_probabilities")(p_temporal)},
        name="two_stream")


def initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """The tower of model.init_run (a trained run of the same stream), under fresh heads."""
    if not config.model.init_run:
        return []
    source, info = runs.load_model_from_run(config.model.init_run)
    if info.get("kind", "stream") != "stream" or info.get("stream") != config.data.stream:
        raise ValueError(f"model.init_run={config.model.init_run}: that run is a {info.get('kind', 'stream')} "
                         f"model of {info.get('stream')}, not a {config.data.stream} stream")
    if config.data.stream == "temporal":
        runs.check_flow_scale("model.init_run", config.model.init_run, config)
    return load_tower_weights(model, source, source_name=config.model.init_run)


def validate(config: ExperimentConfig) -> None:
    choice("model.architecture", config.model.architecture, ARCHITECTURES)


register(ModelKind(
    name="stream",
    streams=lambda config: (config.data.stream,),
    build=build_model_from_config,
    loss=lambda config, tasks: classification_loss(tasks),
    test_sampler=record_test_inputs,
    validate=validate,
    initialise=initialise,
))
