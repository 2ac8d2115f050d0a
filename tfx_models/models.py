"""Classifier models on a tower: single-task, multi-task (Sect. 4) and two-stream late fusion.

Output contract: single task {"logits", "probabilities"}; several tasks
{"logits_<task>", "probabilities_<task>"} per task; the two-stream model
{"probabilities", "spatial_probabilities", "temporal_probabilities"}.
Heads compute in float32 so mixed precision never changes the outputs' dtype.
"""
from __future__ import annotations

import keras

from tfx_models.config import FLOW_SCALE, ExperimentConfig
from tfx_models.towers import build_tower


def input_shape(stream: str, crop_size: int, length: int) -> tuple[int, int, int]:
    """RGB: one frame; flow: 2L channels [x_1, y_1, ..., x_L, y_L] (also when bidirectional)."""
    return (crop_size, crop_size, 3 if stream == "spatial" else 2 * length)


def head_names(tasks: list[str]) -> list[str]:
    """Output suffixes: '' for a single task, '_<task>' for each of several."""
    return [""] if len(tasks) == 1 else [f"_{t}" for t in tasks]


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
    return keras.Model({inputs.name: inputs}, softmax_heads(tower(inputs)["features"], num_classes),
                       name=name or stream)


def nested_layers(layer):
    """A layer and, for a model, every layer nested in it."""
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from nested_layers(inner)


def weighted_layers(model: keras.Model) -> dict:
    """Name -> every leaf layer with weights in a model, nested models included."""
    return {layer.name: layer for layer in nested_layers(model)
            if layer.weights and not isinstance(layer, keras.Model)}


def copy_layer_weights(source: dict, target: keras.Model, *, what: str, required: bool = False) -> list[str]:
    """Sets every weighted leaf layer of `target` to the weights of the same-named layer of
    `source` (weighted_layers). A layer of another shape is an error, and so is a missing one
    when `required`; errors name `what` the source is. Returns the names copied."""
    copied = []
    for name, layer in weighted_layers(target).items():
        if name not in source:
            if required:
                raise ValueError(f"layer {name!r} of {target.name!r} has no counterpart in {what}")
            continue
        values = source[name].get_weights()
        if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
            raise ValueError(f"{what}: layer {name!r} has weights {[v.shape for v in values]}, "
                             f"{target.name!r} needs {[tuple(w.shape) for w in layer.weights]}")
        layer.set_weights(values)
        copied.append(name)
    return copied


def load_tower_weights(target: keras.Model, source: keras.Model, *, source_name: str) -> list[str]:
    """Copies the tower of `source` (a build_model model) into the tower of `target`; the heads
    are left alone."""
    copied = copy_layer_weights(weighted_layers(source.get_layer("tower")), target.get_layer("tower"),
                                what=source_name)
    if not copied:
        raise ValueError(f"{source_name}: no tower layer matches this model's tower")
    return copied


def softmax_heads(features, num_classes: dict[str, int]) -> dict:
    """{"logits<s>", "probabilities<s>"} of one linear softmax classifier per task on the features."""
    outputs = {}
    for suffix, classes in zip(head_names(list(num_classes)), num_classes.values()):
        logits = keras.layers.Dense(classes, dtype="float32", name=f"logits{suffix}")(features)
        outputs[f"logits{suffix}"] = logits
        outputs[f"probabilities{suffix}"] = keras.layers.Softmax(
            dtype="float32", name=f"probabilities{suffix}")(logits)
    return outputs


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
