"""Kind `s3d`: classifiers on clips [T,H,W,C] for 3D ConvNets (also the student and teacher of kind `d3d`).

On flow it is the D3D teacher; on RGB, the student trained without distillation.

Architectures (model.architecture): "s3d_g" (tfx_models.backbones.s3d, from scratch) or
"i3d_cnn_m" (a 2D CNN-M tower inflated over time, tfx_models.backbones.inflation; its
2D weights come from distill.inflate_run, a trained single-frame stream run).
Output contract as tfx_models.kinds.two_stream: {"logits", "probabilities"} for one
task, "_<task>" suffixed heads for several; the input is `rgb` [T,c,c,3] or
`flow` [T,c,c,2L] (the D3D teacher reads one flow field per frame, L=1).
"""
from __future__ import annotations

import keras

from tfx_models import runs
from tfx_models.backbones.inflation import copy_inflated_weights, inflate_tower
from tfx_models.backbones.s3d import build_s3d_g
from tfx_models.backbones.towers import build_tower, input_shape
from tfx_models.backbones.weights import copy_layer_weights, weighted_layers
from tfx_models.config import CLIP_ARCHITECTURES, FLOW_SCALE, ExperimentConfig
from tfx_models.config.checks import choice
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.losses import classification_loss
from tfx_models.registry import ModelKind, register


def clip_input_shape(stream: str, crop_size: int, length: int, frames: int) -> tuple[int, ...]:
    return (frames, *input_shape(stream, crop_size, length))


def build_clip_tower(architecture: str, shape, *, stream: str, width: float, dropout: float, flow_scale: float,
                     time_kernel: int = 3, name: str = "tower") -> keras.Model:
    if architecture == "s3d_g":
        return build_s3d_g(shape, stream=stream, width=width, dropout=dropout, flow_scale=flow_scale, name=name)
    if architecture == "i3d_cnn_m":
        flat = build_tower("cnn_m_2048", shape[1:], stream=stream, width=width, dropout=dropout,
                           flow_scale=flow_scale, name=f"{name}_2d")
        return inflate_tower(flat, shape[0], time_kernel, name=name)
    raise ValueError(f"model.architecture={architecture!r}: a clip model needs one of {CLIP_ARCHITECTURES}")


def build_clip_model(*, architecture: str, stream: str, num_classes: dict[str, int], crop_size: int, length: int,
                     frames: int, width: float = 1.0, dropout: float = 0.5, flow_scale: float = FLOW_SCALE,
                     time_kernel: int = 3, name: str | None = None) -> keras.Model:
    """A clip tower plus one softmax head per task."""
    if not num_classes:
        raise ValueError("num_classes: at least one task is needed")
    if frames < 2:
        raise ValueError(f"a clip model needs T >= 2 frames (data.snippets), got {frames}")
    tower = build_clip_tower(architecture, clip_input_shape(stream, crop_size, length, frames), stream=stream,
                             width=width, dropout=dropout, flow_scale=flow_scale, time_kernel=time_kernel)
    inputs = tower.input
    return keras.Model({inputs.name: inputs}, classifier_heads({"": tower(inputs)["features"]}, num_classes),
                       name=name or stream)


def copy_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copies every weighted layer of `target` (nested models included) from the layer of the same
    name in `source`; a missing layer or another shape is an error. Returns the names copied."""
    return copy_layer_weights(weighted_layers(source), target, what=repr(source.name), required=True)


def inflate_from_run(model: keras.Model, run_dir: str) -> list[str]:
    """Loads a trained single-frame stream run's tower, inflated, into an i3d_cnn_m clip model's tower."""
    flat, info = runs.load_model_from_run(run_dir)
    if info.get("kind", "stream") != "stream" or info.get("architecture") != "cnn_m_2048":
        raise ValueError(f"distill.inflate_run={run_dir}: needs a 2D cnn_m_2048 stream run, got kind "
                         f"{info.get('kind')!r} architecture {info.get('architecture')!r}")
    stream = "spatial" if "rgb" in model.input else "temporal"
    if runs.streams_of(info) != [stream]:
        raise ValueError(f"distill.inflate_run={run_dir}: a {info.get('stream')} run cannot initialise a {stream} "
                         "clip model")
    tower = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    copied = copy_inflated_weights(flat.get_layer("tower"), tower)
    for layer in flat.layers:  # the classifier too, where the classes agree (I3D inflates the whole net)
        if layer.name.startswith("logits") and layer.name in {l.name for l in model.layers}:
            target = model.get_layer(layer.name)
            if [tuple(w.shape) for w in target.weights] == [tuple(w.shape) for w in layer.weights]:
                target.set_weights(layer.get_weights())
                copied.append(layer.name)
    return copied


def build_from_config(config: ExperimentConfig, num_classes: dict[str, int], *, stream: str | None = None,
                      name: str | None = None, architecture: str | None = None, width: float | None = None,
                      dropout: float | None = None) -> keras.Model:
    d, m = config.data, config.model
    return build_clip_model(architecture=architecture or m.architecture, stream=stream or d.stream,
                            num_classes=num_classes, crop_size=d.crop_size, length=d.length, frames=d.snippets,
                            width=m.width if width is None else width, dropout=m.dropout if dropout is None else dropout,
                            flow_scale=m.flow_scale, time_kernel=config.distill.time_kernel, name=name)


def initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """A clip model starts from model.init_run (a trained clip run of the same stream and
    architecture: every layer, heads included), or an i3d_cnn_m one from the 2D run named by
    distill.inflate_run, inflated."""
    if config.model.init_run:
        return [f"init_run:{name}" for name in continue_from_run(model, config.model.init_run)]
    run_dir = config.distill.inflate_run
    return [f"inflated:{name}" for name in inflate_from_run(model, run_dir)] if run_dir else []


def continue_from_run(model: keras.Model, run_dir: str) -> list[str]:
    """Copies a trained s3d run of the same stream into `model`, so distillation (or a control
    run without a teacher) starts from a trained student instead of a random one."""
    source, info = runs.load_model_from_run(run_dir)
    stream = "spatial" if "rgb" in model.input else "temporal"
    if info.get("kind") != "s3d" or runs.streams_of(info) != [stream]:
        raise ValueError(f"model.init_run={run_dir}: needs a kind s3d run on the {stream} stream, got kind "
                         f"{info.get('kind')!r} on {runs.streams_of(info)}")
    return copy_weights(source, model)


def describe(run_info: dict) -> str:
    """e.g. 'RGB clips T=8, s3d_g, distilled (kl, lambda 1, tau 2)' or 'flow clips T=8, s3d_g'."""
    streams = runs.streams_of(run_info)
    label = f"{'RGB' if streams == ['spatial'] else 'flow'} clips T={run_info.get('snippets')}, " \
            f"{run_info.get('architecture')}"
    distill = run_info.get("distill") or {}
    if run_info.get("kind") == "d3d" and distill:
        soft = f", tau {distill['temperature']:g}" if distill.get("loss") == "kl" else ""
        label += f", distilled ({distill['loss']}, lambda {distill['weight']:g}{soft})"
    return label


def validate(config: ExperimentConfig) -> None:
    """The clip architecture and its frames; distill.time_kernel when a 2D tower is inflated."""
    d, m, k = config.data, config.model, config.distill
    choice("model.architecture", m.architecture, CLIP_ARCHITECTURES)
    if d.snippets < 2:
        raise ValueError(f"config data.snippets={d.snippets}: model.architecture={m.architecture!r} reads clips "
                         "of T >= 2 frames")
    if k.time_kernel < 1 or k.time_kernel % 2 == 0:
        raise ValueError(f"config distill.time_kernel={k.time_kernel!r}: an odd number of frames >= 1")


register(ModelKind(
    name="s3d",
    streams=lambda config: (config.data.stream,),
    build=build_from_config,
    loss=lambda config, tasks: classification_loss(tasks),
    test_sampler=record_test_inputs,
    validate=validate,
    initialise=initialise,
    describe=describe,
))
