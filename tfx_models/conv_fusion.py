"""Convolutional two-stream fusion (Feichtenhofer, Pinz & Zisserman, CVPR 2016) on two towers.

Inputs: `rgb` [T,H,W,3] and `flow` [T,H,W,2L] for T snippets; with T=1 the
inputs are today's rank-4 [H,W,3] / [H,W,2L] (no time axis).

Outputs, per task suffix s ('' for one task, '_<task>' for several, as in
tfx_models.models):
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

from tfx_models import fusion as fl
from tfx_models.config import FLOW_SCALE
from tfx_models.models import copy_layer_weights, head_names, input_shape, weighted_layers
from tfx_models.towers import APPLICATION_ENDPOINTS, build_tower

FUSION_POINTS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
MODES = ("2d_conv_2d_pool", "2d_conv_3d_pool", "3d_conv_3d_pool")


def build_towers(*, architecture: str = "cnn_m_2048", crop_size: int = 224, length: int = 10,
                 width: float = 1.0, dropout: float = 0.5, weights: str | None = None,
                 flow_scale: float = FLOW_SCALE) -> dict[str, keras.Model]:
    """The spatial and temporal towers, each built inside a Keras name scope of its name.

    Keras 3 does not prefix a nested model's variable paths with the model's
    name (both towers would hold 'conv1/kernel'); a name scope around the build
    does ('spatial/conv1/kernel', 'temporal/conv1/kernel'). Layer names stay
    'conv1'..., so saved single-stream weights still match layer by layer.
    """
    towers = {}
    for stream in ("spatial", "temporal"):
        with keras.name_scope(stream):
            towers[stream] = build_tower(architecture, input_shape(stream, crop_size, length), stream=stream,
                                         width=width, dropout=dropout,
                                         weights=weights if stream == "spatial" else None,
                                         flow_scale=flow_scale, name=stream)
    return towers


def _architecture(tower: keras.Model) -> str:
    names = {layer.name for layer in tower.layers}
    return next((a for a in APPLICATION_ENDPOINTS if a in names), "cnn_m_2048")


def _trunk(tower: keras.Model, point: str) -> keras.Model:
    """The tower from its input to the map at the fusion point (its own layers)."""
    architecture = _architecture(tower)
    if architecture == "cnn_m_2048":
        return keras.Model(tower.input, tower.output[point], name=tower.name)
    app = tower.get_layer(architecture)
    inner = app.get_layer(APPLICATION_ENDPOINTS[architecture][int(point[-1]) - 1]).output
    inputs = keras.Input(tower.input.shape[1:], name=tower.input.name)
    scaled = tower.get_layer("input_scaling")(inputs)
    mapped = keras.Model(app.input, inner, name=f"{architecture}_to_{point}")(scaled)
    return keras.Model(inputs, mapped, name=tower.name)


def _cnn_m_layers_after(tower: keras.Model, name: str) -> list:
    """CNN-M is a chain: the layers after `name` in build order."""
    names = [layer.name for layer in tower.layers]
    return tower.layers[names.index(name) + 1:]


def _top(tower: keras.Model, point: str, map_shape, *, after: str | None = None,
         widen: bool = False) -> keras.Model:
    """The tower's layers from the fusion point (or from layer `after`) to "features", as a sub-model.

    widen: the map has twice the channels (concat fusion); the first layer with
    weights is rebuilt for the wider input under the name '<name>_concat'.
    """
    inputs = keras.Input(tuple(map_shape), name=f"{tower.name}_{after or point}")
    x = inputs
    architecture = _architecture(tower)
    if architecture == "cnn_m_2048":
        rebuilt = not widen
        for layer in _cnn_m_layers_after(tower, after or point):
            if not rebuilt and layer.weights:
                layer = layer.__class__.from_config({**layer.get_config(), "name": f"{layer.name}_concat"})
                rebuilt = True
            x = layer(x)
    else:
        if widen:
            raise ValueError(f"concat fusion is built for cnn_m_2048 towers only, not {architecture}")
        app = tower.get_layer(architecture)
        endpoints = APPLICATION_ENDPOINTS[architecture]
        if point != "conv5" and after is None:
            inner = app.get_layer(endpoints[int(point[-1]) - 1]).output
            x = keras.Model(inner, app.get_layer(endpoints[-1]).output, name=f"{architecture}_from_{point}")(x)
        x = tower.get_layer("drop")(tower.get_layer("pool")(x))
    return keras.Model(inputs, x, name=f"{tower.name}_top")


def _pool_3d(tower: keras.Model, name: str) -> tuple[fl.SpatioTemporalMaxPooling, str | None]:
    """3D max pooling standing in for the tower's pool after conv5, and the layer it replaces."""
    if _architecture(tower) == "cnn_m_2048":
        pool = tower.get_layer("pool5")
        ceil = "pool5_pad" in {layer.name for layer in tower.layers}
        return fl.SpatioTemporalMaxPooling(pool.pool_size, pool.strides, ceil_mode=ceil, name=name), "pool5"
    # keras.applications towers average conv5 globally: pool over time only, then their own pooling.
    return fl.SpatioTemporalMaxPooling((1, 1), name=name), None


def _check_options(fusion, point, mode, num_snippets, architecture):
    if fusion not in fl.FUSION_LAYERS:
        raise ValueError(f"fusion type {fusion!r}: expected one of {sorted(fl.FUSION_LAYERS)}")
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

    spatial, temporal: towers from towers.build_tower named "spatial" and
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
    architecture = _architecture(spatial)
    _check_options(fusion, fusion_layer, mode, num_snippets, architecture)
    t = int(num_snippets)

    def snippet_input(tower):
        shape = tuple(tower.input.shape[1:])
        return keras.Input(shape if t == 1 else (t, *shape), name=tower.input.name)

    def per_snippet(x, layer_name):  # [N,T,...] -> [N*T,...]
        return x if t == 1 else fl.TimeToBatch(name=layer_name)(x)

    def per_clip(x, layer_name):  # [N*T,...] -> [N,T,...]
        return x if t == 1 else fl.BatchToTime(t, name=layer_name)(x)

    rgb, flow = snippet_input(spatial), snippet_input(temporal)
    spatial_trunk, temporal_trunk = _trunk(spatial, fusion_layer), _trunk(temporal, fusion_layer)
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
        fused_features = _top(spatial, fusion_layer, pooled.shape[1:], after=replaced)(pooled)
        fused_per_snippet = False
    else:
        layer = (fl.ConvFusion(init=conv_init, name="fusion") if fusion == "conv"
                 else fl.FUSION_LAYERS[fusion](name="fusion"))
        fused = layer([xs, xt])
        if pooled_3d:
            pool, replaced = _pool_3d(spatial, "fusion_pool3d")
            pooled = pool(per_clip(fused, "fused_clip"))
            fused_features = _top(spatial, fusion_layer, pooled.shape[1:], after=replaced,
                                  widen=fusion == "concat")(pooled)
            fused_per_snippet = False
        else:
            fused_features = _top(spatial, fusion_layer, fused.shape[1:], widen=fusion == "concat")(fused)
            fused_per_snippet = True

    if keep_temporal:
        if pooled_3d:
            pool, replaced = _pool_3d(temporal, "temporal_pool3d")
            pooled = pool(per_clip(xt, "temporal_map_clip"))
            temporal_features = _top(temporal, fusion_layer, pooled.shape[1:], after=replaced)(pooled)
            temporal_per_snippet = False
        else:
            temporal_features = _top(temporal, fusion_layer, map_shape)(xt)
            temporal_per_snippet = True

    def head(features, per_snippet_features, layer_name, classes):
        logits = keras.layers.Dense(classes, dtype="float32", name=layer_name)(features)
        if per_snippet_features and t > 1:
            logits = fl.TimeAverage(dtype="float32", name=f"{layer_name}_snippet_mean")(
                per_clip(logits, f"{layer_name}_clip"))
        return logits

    outputs = {}
    for suffix, classes in zip(head_names(list(num_classes)), num_classes.values()):
        logits = outputs[f"logits{suffix}"] = head(fused_features, fused_per_snippet, f"logits{suffix}", classes)
        if not keep_temporal:
            outputs[f"probabilities{suffix}"] = keras.layers.Softmax(dtype="float32",
                                                                     name=f"probabilities{suffix}")(logits)
            continue
        fused_p = keras.layers.Softmax(dtype="float32", name=f"fused_probabilities{suffix}")(logits)
        t_logits = outputs[f"temporal_logits{suffix}"] = head(temporal_features, temporal_per_snippet,
                                                              f"temporal_logits{suffix}", classes)
        t_p = keras.layers.Softmax(dtype="float32", name=f"temporal_probabilities{suffix}")(t_logits)
        outputs[f"fused_probabilities{suffix}"] = fused_p
        outputs[f"temporal_probabilities{suffix}"] = t_p
        outputs[f"probabilities{suffix}"] = keras.layers.Average(dtype="float32", name=f"probabilities{suffix}")(
            [fused_p, t_p])
    model = keras.Model({"rgb": rgb, "flow": flow}, outputs, name=name)
    _check_unique_paths(model)
    return model


def _check_unique_paths(model: keras.Model) -> None:
    seen = set()
    for v in model.weights:
        if v.path in seen:
            raise ValueError(f"model {model.name!r}: two variables share the path {v.path!r}: build the towers "
                             "with conv_fusion.build_towers (one Keras name scope per tower)")
        seen.add(v.path)


def load_stream_weights(fused: keras.Model, stream_model: keras.Model, stream: str) -> list[str]:
    """Copies a single-stream model's weights (models.build_model: tower nested as "tower")
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
