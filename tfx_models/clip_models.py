"""Classifiers on clips [T,H,W,C] for 3D ConvNets (kinds `s3d` and `d3d`), and loading trained runs into them.

Architectures (model.architecture): "s3d_g" (tfx_models.s3d, from scratch) or
"i3d_cnn_m" (a 2D CNN-M tower inflated over time, tfx_models.inflation; its
2D weights come from distill.inflate_run, a trained single-frame stream run).
Output contract as tfx_models.models: {"logits", "probabilities"} for one
task, "_<task>" suffixed heads for several; the input is `rgb` [T,c,c,3] or
`flow` [T,c,c,2L] (the D3D teacher reads one flow field per frame, L=1).
"""
from __future__ import annotations

import keras

from tfx_models.config import CLIP_ARCHITECTURES, FLOW_SCALE
from tfx_models.models import copy_layer_weights, input_shape, softmax_heads, weighted_layers
from tfx_models.towers import build_tower


def clip_input_shape(stream: str, crop_size: int, length: int, frames: int) -> tuple[int, ...]:
    return (frames, *input_shape(stream, crop_size, length))


def build_clip_tower(architecture: str, shape, *, stream: str, width: float, dropout: float, flow_scale: float,
                     time_kernel: int = 3, name: str = "tower") -> keras.Model:
    if architecture == "s3d_g":
        from tfx_models.s3d import build_s3d_g

        return build_s3d_g(shape, stream=stream, width=width, dropout=dropout, flow_scale=flow_scale, name=name)
    if architecture == "i3d_cnn_m":
        from tfx_models.inflation import inflate_tower

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
    return keras.Model({inputs.name: inputs}, softmax_heads(tower(inputs)["features"], num_classes),
                       name=name or stream)


def copy_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copies every weighted layer of `target` (nested models included) from the layer of the same
    name in `source`; a missing layer or another shape is an error. Returns the names copied."""
    return copy_layer_weights(weighted_layers(source), target, what=repr(source.name), required=True)


def inflate_from_run(model: keras.Model, run_dir: str) -> list[str]:
    """Loads a trained single-frame stream run's tower, inflated, into an i3d_cnn_m clip model's tower."""
    from tfx_models.inflation import copy_inflated_weights
    from tfx_models.runs import load_model_from_run

    flat, info = load_model_from_run(run_dir)
    if info.get("kind", "stream") != "stream" or info.get("architecture") != "cnn_m_2048":
        raise ValueError(f"distill.inflate_run={run_dir}: needs a 2D cnn_m_2048 stream run, got kind "
                         f"{info.get('kind')!r} architecture {info.get('architecture')!r}")
    stream = "spatial" if "rgb" in model.input else "temporal"
    if (info.get("streams") or [info.get("stream")]) != [stream]:
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
