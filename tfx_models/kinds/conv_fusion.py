"""Convolutional two-stream fusion (Feichtenhofer, Pinz & Zisserman, CVPR 2016) on two towers.

Inputs: `rgb` [T,H,W,3] and `flow` [T,H,W,2L] for T snippets; with T=1 the
inputs are today's rank-4 [H,W,3] / [H,W,2L] (no time axis).

Outputs, per task suffix s ('' for one task, '_<task>' for several, as in
tfx_models.kinds.two_stream):
- temporal tower cut (Tables 1-3): `logits{s}`, `probabilities{s}` of the fused head.
- temporal tower kept (the paper's final architecture, its ReLU5 + FC8 row):
  `logits{s}` and `fused_probabilities{s}` of the fused head,
  `temporal_logits{s}` and `temporal_probabilities{s}` of the temporal tower's
  own head (it gets its own loss), and `probabilities{s}`, the average of the
  two softmax scores: the prediction.
The fused model holds sub-models named "spatial" / "temporal" (each tower up to
the fusion point) and "spatial_top" / "temporal_top" (its layers after it,
the same layer objects, so a single-stream run's weights load into both).

Spatio-temporal modes over the T snippets (Table 3):
- "2d_conv_2d_pool": fuse each snippet, run the rest of the spatial tower per
  snippet with its own 2D pooling, average the per-snippet logits over T.
- "2d_conv_3d_pool": fuse each snippet, then 3D max pooling over all T snippets
  in place of the tower's pool after conv5 (same spatial window and stride).
- "3d_conv_3d_pool": 3x3x3 conv fusion over (T, H, W), then 3D max pooling.
The 3D modes fuse at conv5 (the pooling they replace follows conv5); a kept
temporal tower then pools its own conv5 maps in 3D too, as the authors' code
does. Bilinear fusion is itself a pooling: per snippet in "2d_conv_2d_pool"
(logits averaged over T), over all T snippets' locations in "2d_conv_3d_pool".
"""
from __future__ import annotations

import keras
import numpy as np

from tfx_models import runs
from tfx_models.backbones.surgery import architecture_of, check_unique_paths, top, trunk
from tfx_models.backbones.towers import build_towers
from tfx_models.backbones.weights import copy_layer_weights, weighted_layers
from tfx_models.config import ExperimentConfig
from tfx_models.config.checks import choice
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.layers import fusion as fl
from tfx_models.layers.time import BatchToTime, TimeToBatch
from tfx_models.losses import LossFn, heads_loss
from tfx_models.registry import ModelKind, register

# fusion.init: the fusion layer's fixed start, or one set from the towers' measured scales.
INITS = ("fixed", "measured")
# Where the towers may be fused (fusion.layer): their maps after ReLU.
FUSION_POINTS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
# Spatio-temporal modes over T snippets (fusion.mode; Table 3).
MODES = ("2d_conv_2d_pool", "2d_conv_3d_pool", "3d_conv_3d_pool")


def _pool_3d(tower: keras.Model, name: str) -> tuple[fl.SpatioTemporalMaxPooling, str | None]:
    """3D max pooling standing in for the tower's pool after conv5, and the layer it replaces."""
    if architecture_of(tower) == "cnn_m_2048":
        pool = tower.get_layer("pool5")
        ceil = "pool5_pad" in {layer.name for layer in tower.layers}
        return fl.SpatioTemporalMaxPooling(pool.pool_size, pool.strides, ceil_mode=ceil, name=name), "pool5"
    # keras.applications towers average conv5 globally: pool over time only, then their own pooling.
    return fl.SpatioTemporalMaxPooling((1, 1), name=name), None


def _check_options(fusion, point, mode, num_snippets, architecture):
    if fusion not in fl.FUSION_CLASSES:
        raise ValueError(f"fusion type {fusion!r}: expected one of {sorted(fl.FUSION_CLASSES)}")
    if point not in FUSION_POINTS:
        raise ValueError(f"fusion layer {point!r}: expected one of {FUSION_POINTS}")
    if architecture != "cnn_m_2048" and point in ("fc6", "fc7"):
        raise ValueError(f"fusion layer {point!r}: {architecture} towers have no fully connected layers")
    if mode not in MODES:
        raise ValueError(f"spatio-temporal mode {mode!r}: expected one of {MODES}")
    if mode != "2d_conv_2d_pool" and point != "conv5":
        raise ValueError(f"mode {mode!r} replaces the pooling after conv5: fuse at conv5, not {point!r}")
    if mode == "3d_conv_3d_pool" and fusion != "conv":
        raise ValueError(f"mode '3d_conv_3d_pool' is a conv fusion, got fusion type {fusion!r}")
    if int(num_snippets) < 1:
        raise ValueError(f"num_snippets must be >= 1, got {num_snippets}")


def build_conv_fusion(spatial: keras.Model, temporal: keras.Model, *, num_classes: dict[str, int],
                      fusion: str = "conv", fusion_layer: str = "conv5", mode: str = "2d_conv_2d_pool",
                      num_snippets: int = 1, keep_temporal: bool = False, train_from_fusion: bool = False,
                      conv_init: str = "identity", name: str = "conv_fusion") -> keras.Model:
    """The fused two-tower model (output contract in the module docstring).

    spatial, temporal: towers from backbones.towers.build_tower named "spatial" and
    "temporal", best from build_towers (unique variable paths). Their layers are
    shared with the returned model, not copied. train_from_fusion freezes both
    towers up to the fusion point (the paper trains the fusion layers and what
    follows). conv_init: "identity" ([I | I], or the 0.25/0.75 Gaussian for 3D)
    or "random".
    """
    if not num_classes:
        raise ValueError("num_classes: at least one task is needed")
    if (spatial.name, temporal.name) != ("spatial", "temporal"):
        raise ValueError(f"towers must be named 'spatial' and 'temporal', got {spatial.name!r}, {temporal.name!r}")
    architecture = architecture_of(spatial)
    _check_options(fusion, fusion_layer, mode, num_snippets, architecture)
    t = int(num_snippets)

    def snippet_input(tower):
        shape = tuple(tower.input.shape[1:])
        return keras.Input(shape if t == 1 else (t, *shape), name=tower.input.name)

    def per_snippet(x, layer_name):  # [N,T,...] -> [N*T,...]
        return x if t == 1 else TimeToBatch(name=layer_name)(x)

    def per_clip(x, layer_name):  # [N*T,...] -> [N,T,...]
        return x if t == 1 else BatchToTime(t, name=layer_name)(x)

    rgb, flow = snippet_input(spatial), snippet_input(temporal)
    spatial_trunk, temporal_trunk = trunk(spatial, fusion_layer), trunk(temporal, fusion_layer)
    if train_from_fusion:
        spatial_trunk.trainable = temporal_trunk.trainable = False
    xs = spatial_trunk(per_snippet(rgb, "rgb_snippets"))
    xt = temporal_trunk(per_snippet(flow, "flow_snippets"))
    map_shape = tuple(xs.shape[1:])
    pooled_3d = mode != "2d_conv_2d_pool"

    # The fused stream's features, per snippet ([N*T, F]) or per clip ([N, F]).
    if fusion == "bilinear":
        pair = [per_clip(xs, "spatial_clip"), per_clip(xt, "temporal_clip")] if pooled_3d else [xs, xt]
        fused_features, fused_per_snippet = fl.BilinearFusion(name="fusion")(pair), not pooled_3d
    elif mode == "3d_conv_3d_pool":
        fused = fl.Conv3DFusion(init="gaussian_identity" if conv_init == "identity" else "random",
                                name="fusion")([per_clip(xs, "spatial_clip"), per_clip(xt, "temporal_clip")])
        pool, replaced = _pool_3d(spatial, "fusion_pool3d")
        pooled = pool(fused)
        fused_features = top(spatial, fusion_layer, pooled.shape[1:], after=replaced)(pooled)
        fused_per_snippet = False
    else:
        layer = (fl.ConvFusion(init=conv_init, name="fusion") if fusion == "conv"
                 else fl.FUSION_CLASSES[fusion](name="fusion"))
        fused = layer([xs, xt])
        if pooled_3d:
            pool, replaced = _pool_3d(spatial, "fusion_pool3d")
            pooled = pool(per_clip(fused, "fused_clip"))
            fused_features = top(spatial, fusion_layer, pooled.shape[1:], after=replaced,
                                  widen=fusion == "concat")(pooled)
            fused_per_snippet = False
        else:
            fused_features = top(spatial, fusion_layer, fused.shape[1:], widen=fusion == "concat")(fused)
            fused_per_snippet = True

    if keep_temporal:
        if pooled_3d:
            pool, replaced = _pool_3d(temporal, "temporal_pool3d")
            pooled = pool(per_clip(xt, "temporal_map_clip"))
            temporal_features = top(temporal, fusion_layer, pooled.shape[1:], after=replaced)(pooled)
            temporal_per_snippet = False
        else:
            temporal_features = top(temporal, fusion_layer, map_shape)(xt)
            temporal_per_snippet = True

    features, snippets = {"": fused_features}, {"": t if fused_per_snippet else 1}
    if keep_temporal:
        features["temporal_"], snippets["temporal_"] = temporal_features, t if temporal_per_snippet else 1
    outputs = classifier_heads(features, num_classes, average_as="fused", snippets=snippets)
    model = keras.Model({"rgb": rgb, "flow": flow}, outputs, name=name)
    check_unique_paths(model)
    return model


def load_stream_weights(fused: keras.Model, stream_model: keras.Model, stream: str) -> list[str]:
    """Copies a single-stream model's weights (kinds.two_stream.build_model: tower nested as "tower")
    into the matching tower of a fused model, layer by layer by name. Returns what it copied.

    The tower's layers go into the sub-models "<stream>" and "<stream>_top"; the
    stream's classifier "logits<s>" goes into the stream's own head
    "<stream>_logits<s>" and, for the spatial stream, into the fused head
    "logits<s>", where those exist and the shapes fit (they do
    not after bilinear fusion or concat at fc7). A rebuilt '<name>_concat' layer
    keeps its initialisation. A tower layer of another shape is an error.
    """
    if stream not in ("spatial", "temporal"):
        raise ValueError(f"stream must be 'spatial' or 'temporal', got {stream!r}")
    source = weighted_layers(stream_model.get_layer("tower"))
    targets = [fused.get_layer(stream)]
    if any(layer.name == f"{stream}_top" for layer in fused.layers):
        targets.append(fused.get_layer(f"{stream}_top"))
    copied = [f"{target.name}/{name}" for target in targets
              for name in copy_layer_weights(source, target, what=f"the {stream} stream model")]
    if not copied:
        raise ValueError(f"no layer of {stream_model.name!r} matches the {stream} tower of {fused.name!r}")
    fused_names = {layer.name for layer in fused.layers}
    for layer in stream_model.layers:
        if not layer.name.startswith("logits"):
            continue
        for target_name in [f"{stream}_{layer.name}"] + ([layer.name] if stream == "spatial" else []):
            if target_name in fused_names:
                target = fused.get_layer(target_name)
                if [tuple(w.shape) for w in target.weights] == [tuple(w.shape) for w in layer.weights]:
                    target.set_weights(layer.get_weights())
                    copied.append(target_name)
    return copied


def two_towers(config: ExperimentConfig) -> tuple[keras.Model, keras.Model]:
    """The spatial and the temporal tower of a two-tower kind, as the config sizes them."""
    d, m = config.data, config.model
    towers = build_towers(architecture=m.architecture, crop_size=d.crop_size, length=d.length, width=m.width,
                          dropout=m.dropout, weights=m.weights, flow_scale=m.flow_scale)
    return towers["spatial"], towers["temporal"]


def build_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    d, f = config.data, config.fusion
    return build_conv_fusion(*two_towers(config), num_classes=num_classes, fusion=f.type,
                             fusion_layer=f.layer, mode=f.mode, num_snippets=d.snippets,
                             keep_temporal=f.keep_temporal, train_from_fusion=f.train_from_fusion)


def loss(config: ExperimentConfig, tasks: list[str]) -> LossFn:
    """The fused head's loss, plus the temporal tower's own when it is kept (the paper's final model)."""
    return heads_loss(["logits"] + (["temporal_logits"] if config.fusion.keep_temporal else []), tasks)


def initialise_streams(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """Loads the trained single-stream runs named by fusion.spatial_run / temporal_run into the towers."""
    loaded = []
    for stream, run_dir in (("spatial", config.fusion.spatial_run), ("temporal", config.fusion.temporal_run)):
        if run_dir:
            stream_model, info = runs.load_model_from_run(run_dir)
            if info.get("stream") != stream:
                raise ValueError(f"fusion.{stream}_run={run_dir}: that run trained a {info.get('stream')} "
                                 f"stream, not a {stream} one")
            if stream == "temporal":
                runs.check_flow_scale("fusion.temporal_run", run_dir, config)
            loaded += [f"{stream}:{name}" for name in load_stream_weights(model, stream_model, stream)]
    return loaded


def rms(x: np.ndarray) -> float:
    """Root mean square over every element: a map's scale, blind to where its activations are."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def tower_maps(model: keras.Model, features: dict) -> tuple[np.ndarray, np.ndarray]:
    """Both towers' maps at the fusion point (sub-models "spatial", "temporal") on a batch of
    features {rgb, flow}, with any snippet axis folded into the batch."""
    maps = []
    for stream, key in (("spatial", "rgb"), ("temporal", "flow")):
        part = model.get_layer(stream)
        x = np.asarray(features[key]).reshape((-1, *part.input.shape[1:]))
        maps.append(np.asarray(part(x, training=False), np.float64))
    return maps[0], maps[1]


def check_scales(spatial_rms: float, temporal_rms: float) -> None:
    if not (spatial_rms > 0 and temporal_rms > 0):
        raise ValueError(f"fusion.init='measured': a tower's map is all zero on the batch (RMS spatial "
                         f"{spatial_rms}, temporal {temporal_rms}); nothing to scale by")


def measured_identity_weights(xs: np.ndarray, xt: np.ndarray) -> dict:
    """(w_s, w_t) for the kernel [w_s I ; w_t I] from the towers' maps: w_s r_s = w_t r_t (each
    tower contributes the same RMS) and RMS(w_s xs + w_t xt) = r_s (the layers after the fusion are
    the spatial tower's, trained on maps of RMS r_s). r = RMS over the batch's maps."""
    r_s, r_t = rms(xs), rms(xt)
    check_scales(r_s, r_t)
    c = r_s / rms(xs / r_s + xt / r_t)
    return {"spatial_rms": r_s, "temporal_rms": r_t, "identity_weights": [c / r_s, c / r_t]}


def measure_init(model: keras.Model, config: ExperimentConfig, batch) -> dict:
    """fusion.init="measured": the conv fusion kernel's identity weights from the loaded towers'
    scales on one training batch (measured_identity_weights)."""
    if config.fusion.init != "measured":
        return {}
    record = measured_identity_weights(*tower_maps(model, batch()))
    model.get_layer("fusion").set_identity_weights(*record["identity_weights"])
    return record


def validate(config: ExperimentConfig) -> None:
    f = config.fusion
    choice("fusion.type", f.type, tuple(fl.FUSION_CLASSES))
    choice("fusion.layer", f.layer, FUSION_POINTS)
    choice("fusion.mode", f.mode, MODES)
    choice("fusion.init", f.init, INITS)
    if f.init == "measured" and f.type != "conv":
        raise ValueError(f"fusion.init='measured' sets a conv fusion's identity weights; fusion.type={f.type!r} "
                         "has none: use fusion.init=fixed")


register(ModelKind(
    name="conv_fusion",
    streams=lambda config: ("spatial", "temporal"),
    build=build_from_config,
    loss=loss,
    test_sampler=record_test_inputs,
    validate=validate,
    initialise=initialise_streams,
    measure_init=measure_init,
))
