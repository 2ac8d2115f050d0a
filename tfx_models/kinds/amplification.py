"""Feature amplification and multiplicative fusion (Park, Han, Berg & Berg, WACV 2016) on two towers.

The streams are each over-tuned to their own input; here one stream's evidence
gates the other's features.

Kind `amplified`: the spatial tower's conv5 maps (after ReLU) are multiplied,
location by location and for every channel, by a gate g [N,h,w,1] that
averages 1 over the map, then the spatial tower goes on with its own layers
(pool5, fc6, fc7) and its own classifier. Two gates:
- "flow" (FlowGate), hand-crafted from the input flow stack [N,H,W,2L]: each of
  the L fields has its own mean over the crop subtracted (so a camera pan lights
  nothing, whatever data.mean_subtraction did to the full frame); the magnitude
  sqrt(x^2 + y^2) of each field, averaged over the L fields, gives m [N,H,W];
  m is average-pooled to conv5's h x w grid with adaptive bins (cell i covers
  input rows floor(i*H/h) .. ceil((i+1)*H/h) - 1, columns likewise), giving p;
  and g = (p + eps) / (mean over the h*w cells of p + eps), eps in pixels. So g
  averages exactly 1, and a video without motion gets g = 1 (the plain spatial
  net).
- "learned" (LearnedGate), from the temporal tower's conv5 maps: a 1x1 conv to
  one channel, then a sigmoid a per location with g = (a + eps) / (mean a + eps),
  or a softmax over the h*w locations times h*w. The conv starts at zero, so
  the gate starts at exactly 1 and training starts from the plain spatial net.
With fusion.keep_temporal the temporal tower is kept beside it with its own
head and loss, and the prediction averages the two (S(amp) + T).

Kind `m_fusion`: the element-wise product of the two towers' maps at conv5
(after ReLU; then the spatial tower's layers after conv5 and a classifier) or at
fc7 (after ReLU; then dropout and a classifier). With fusion.combine the
prediction averages the spatial stream's, the temporal stream's and the
m-fusion head's softmax; each stream keeps its own head and loss.

Outputs per task suffix s ('' for one task, as tfx_models.kinds.two_stream):
- amplified: `logits{s}`, `probabilities{s}`; with keep_temporal `logits{s}` and
  `amplified_probabilities{s}` of the amplified head, `temporal_logits{s}`,
  `temporal_probabilities{s}`, and `probabilities{s}` = their average.
- m_fusion: `logits{s}`, `probabilities{s}`; with combine `logits{s}` and
  `m_fusion_probabilities{s}` of the product head, `spatial_logits{s}`,
  `spatial_probabilities{s}`, `temporal_logits{s}`, `temporal_probabilities{s}`,
  and `probabilities{s}` = the average of the three softmax scores.
Sub-models are named as conv_fusion's ("spatial", "temporal" up to the gate or
fusion point, "spatial_top", "temporal_top" after it), so
kinds.conv_fusion.load_stream_weights fills them from single-stream runs. A combined
m-fusion at conv5 holds a copy of the spatial top for its product path
("m_fusion_top", layers "m_fusion_<name>"), which initialise_copies fills.
"""
from __future__ import annotations

import keras

from tfx_models.backbones.surgery import architecture_of, check_unique_paths, cnn_m_layers_after, top, trunk
from tfx_models.config import ExperimentConfig
from tfx_models.config.checks import choice, positive
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.kinds.conv_fusion import INITS, check_scales, initialise_streams, rms, tower_maps, two_towers
from tfx_models.layers.fusion import ProductFusion
from tfx_models.layers.gates import GATE_ACTIVATIONS, GATES, Amplify, FlowGate, LearnedGate
from tfx_models.losses import heads_loss
from tfx_models.registry import ModelKind, register

GATE_POINT = "conv5"
M_FUSION_POINTS = ("conv5", "fc7")


def _check_towers(spatial: keras.Model, temporal: keras.Model, num_classes: dict) -> None:
    if not num_classes:
        raise ValueError("num_classes: at least one task is needed")
    if (spatial.name, temporal.name) != ("spatial", "temporal"):
        raise ValueError(f"towers must be named 'spatial' and 'temporal', got {spatial.name!r}, {temporal.name!r}")


def _inputs(spatial: keras.Model, temporal: keras.Model):
    return (keras.Input(tuple(spatial.input.shape[1:]), name="rgb"),
            keras.Input(tuple(temporal.input.shape[1:]), name="flow"))


def build_amplified(spatial: keras.Model, temporal: keras.Model, *, num_classes: dict[str, int],
                    gate: str = "flow", activation: str = "sigmoid", epsilon: float = 0.01,
                    keep_temporal: bool = False, train_from_fusion: bool = False,
                    name: str = "amplified") -> keras.Model:
    """The amplified spatial net (module docstring). train_from_fusion freezes the towers up to
    conv5: what trains is the spatial tower after conv5, its classifier and a learned gate."""
    _check_towers(spatial, temporal, num_classes)
    if gate not in GATES:
        raise ValueError(f"gate {gate!r}: expected one of {GATES}")
    rgb, flow = _inputs(spatial, temporal)
    spatial_trunk = trunk(spatial, GATE_POINT)
    xs = spatial_trunk(rgb)
    temporal_trunk = xt = None
    if gate == "learned" or keep_temporal:
        temporal_trunk = trunk(temporal, GATE_POINT)
        xt = temporal_trunk(flow)
    if train_from_fusion:
        for part in (spatial_trunk, temporal_trunk):
            if part is not None:
                part.trainable = False
    if gate == "flow":
        weights = FlowGate(xs.shape[1:3], epsilon=epsilon, name="gate")(flow)
    else:
        weights = LearnedGate(activation, epsilon=epsilon, name="gate")(xt)
    amplified = Amplify(name="amplify")([xs, weights])
    features = {"": top(spatial, GATE_POINT, xs.shape[1:])(amplified)}
    if keep_temporal:
        features["temporal_"] = top(temporal, GATE_POINT, xt.shape[1:])(xt)
    model = keras.Model({"rgb": rgb, "flow": flow}, classifier_heads(features, num_classes, average_as="amplified"), name=name)
    check_unique_paths(model)
    return model


def _copied_top(tower: keras.Model, point: str, map_shape, prefix: str) -> keras.Model:
    """A second, independent copy of the tower's layers after `point` (fresh weights, names prefixed)."""
    inputs = keras.Input(tuple(map_shape), name=f"{prefix}{point}")
    x = inputs
    if architecture_of(tower) == "cnn_m_2048":
        layers = cnn_m_layers_after(tower, point)
    else:
        layers = [tower.get_layer("pool"), tower.get_layer("drop")]
    for layer in layers:
        x = layer.__class__.from_config({**layer.get_config(), "name": f"{prefix}{layer.name}"})(x)
    return keras.Model(inputs, x, name=f"{prefix}top")


def build_m_fusion(spatial: keras.Model, temporal: keras.Model, *, num_classes: dict[str, int],
                   fusion_layer: str = "conv5", combine: bool = False, train_from_fusion: bool = False,
                   scaled: bool = False, name: str = "m_fusion") -> keras.Model:
    """Multiplicative fusion (module docstring). train_from_fusion freezes both towers up to the
    fusion point; scaled gives the product per-tower scales (ProductFusion, set by measure_m_fusion_init)."""
    _check_towers(spatial, temporal, num_classes)
    if fusion_layer not in M_FUSION_POINTS:
        raise ValueError(f"m-fusion layer {fusion_layer!r}: expected one of {M_FUSION_POINTS}")
    if fusion_layer == "fc7" and architecture_of(spatial) != "cnn_m_2048":
        raise ValueError(f"m-fusion at fc7: {architecture_of(spatial)} towers have no fully connected layers")
    rgb, flow = _inputs(spatial, temporal)
    spatial_trunk, temporal_trunk = trunk(spatial, fusion_layer), trunk(temporal, fusion_layer)
    if train_from_fusion:
        spatial_trunk.trainable = temporal_trunk.trainable = False
    xs, xt = spatial_trunk(rgb), temporal_trunk(flow)
    fused = ProductFusion(scaled=scaled, name="fusion")([xs, xt])
    if not combine:
        features = {"": top(spatial, fusion_layer, fused.shape[1:])(fused)}
    else:
        features = {"": _copied_top(spatial, fusion_layer, fused.shape[1:], "m_fusion_")(fused),
                    "spatial_": top(spatial, fusion_layer, xs.shape[1:])(xs),
                    "temporal_": top(temporal, fusion_layer, xt.shape[1:])(xt)}
    model = keras.Model({"rgb": rgb, "flow": flow}, classifier_heads(features, num_classes, average_as="m_fusion"), name=name)
    check_unique_paths(model)
    return model


def initialise_copies(model: keras.Model) -> list[str]:
    """After the towers are loaded: a combined m-fusion's product path at conv5 starts from the
    spatial stream's layers after conv5. Returns what it copied."""
    if "m_fusion_top" not in {layer.name for layer in model.layers}:
        return []
    source = model.get_layer("spatial_top")
    copied = []
    for layer in model.get_layer("m_fusion_top").layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name[len("m_fusion_"):]).get_weights())
            copied.append(f"m_fusion_top/{layer.name}")
    return copied


def _one_snippet(config: ExperimentConfig) -> None:
    if config.data.snippets != 1:
        raise ValueError(f"model.kind={config.model.kind!r} takes one snippet per input: "
                         f"data.snippets={config.data.snippets}, expected 1")


# amplified ---------------------------------------------------------------------

def build_amplified_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    a, f = config.amplification, config.fusion
    return build_amplified(*two_towers(config), num_classes=num_classes, gate=a.gate, activation=a.activation,
                           epsilon=a.epsilon, keep_temporal=f.keep_temporal, train_from_fusion=f.train_from_fusion)


def initialise_amplified(model: keras.Model, config: ExperimentConfig) -> list[str]:
    if config.fusion.temporal_run and not any(layer.name == "temporal" for layer in model.layers):
        raise ValueError(f"fusion.temporal_run={config.fusion.temporal_run}: the flow gate without "
                         "fusion.keep_temporal has no temporal tower to load it into")
    return initialise_streams(model, config)


def describe_amplified(run_info: dict) -> str:
    gate = (run_info.get("amplification") or {})
    text = "flow gate" if gate.get("gate") == "flow" else f"learned gate ({gate.get('activation', '?')})"
    text += " on spatial conv5"
    return text + (", temporal tower kept" if (run_info.get("fusion") or {}).get("keep_temporal") else "")


def validate_amplified(config: ExperimentConfig) -> None:
    a = config.amplification
    _one_snippet(config)
    choice("amplification.gate", a.gate, GATES)
    choice("amplification.activation", a.activation, GATE_ACTIVATIONS)
    positive({"amplification.epsilon": a.epsilon})
    if config.fusion.init != "fixed":
        raise ValueError(f"fusion.init={config.fusion.init!r}: a gate has no fusion layer to initialise from "
                         "measured scales; use fusion.init=fixed")


register(ModelKind(
    name="amplified",
    streams=lambda config: ("spatial", "temporal"),
    build=build_amplified_from_config,
    loss=lambda config, tasks: heads_loss(
        ["logits"] + (["temporal_logits"] if config.fusion.keep_temporal else []), tasks),
    test_sampler=record_test_inputs,
    validate=validate_amplified,
    initialise=initialise_amplified,
    describe=describe_amplified,
))


# m_fusion ----------------------------------------------------------------------

def build_m_fusion_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    f = config.fusion
    return build_m_fusion(*two_towers(config), num_classes=num_classes, fusion_layer=f.layer, combine=f.combine,
                          train_from_fusion=f.train_from_fusion, scaled=f.init == "measured")


def measured_product_scales(xs, xt) -> dict:
    """(a_s, a_t) for the product (a_s xs)(a_t xt): a_s = 1 and a_t = r_s / RMS(xs xt), so the
    product starts at RMS r_s, the scale the spatial layers (and classifier) after it were trained
    on, and the temporal factor acts as a gate of about unit size on the spatial map."""
    r_s, r_t, r_product = rms(xs), rms(xt), rms(xs * xt)
    check_scales(r_s, r_t)
    check_scales(r_s, r_product)
    return {"spatial_rms": r_s, "temporal_rms": r_t, "product_rms": r_product, "scales": [1.0, r_s / r_product]}


def measure_m_fusion_init(model: keras.Model, config: ExperimentConfig, batch) -> dict:
    """fusion.init="measured": the product's per-tower scales from the loaded towers' maps on one
    training batch (measured_product_scales)."""
    if config.fusion.init != "measured":
        return {}
    record = measured_product_scales(*tower_maps(model, batch()))
    model.get_layer("fusion").set_scales(*record["scales"])
    return record


def describe_m_fusion(run_info: dict) -> str:
    fusion = run_info.get("fusion") or {}
    text = f"product at {fusion.get('layer', '?')}"
    return text + (", averaged with both streams" if fusion.get("combine") else "")


def validate_m_fusion(config: ExperimentConfig) -> None:
    _one_snippet(config)
    if config.fusion.layer not in M_FUSION_POINTS:
        raise ValueError(f"fusion.layer={config.fusion.layer!r}: m_fusion fuses at one of {M_FUSION_POINTS}")
    choice("fusion.init", config.fusion.init, INITS)


register(ModelKind(
    name="m_fusion",
    streams=lambda config: ("spatial", "temporal"),
    build=build_m_fusion_from_config,
    loss=lambda config, tasks: heads_loss(
        ["logits"] + (["spatial_logits", "temporal_logits"] if config.fusion.combine else []), tasks),
    test_sampler=record_test_inputs,
    validate=validate_m_fusion,
    initialise=lambda model, config: initialise_streams(model, config) + initialise_copies(model),
    measure_init=measure_m_fusion_init,
    describe=describe_m_fusion,
))
