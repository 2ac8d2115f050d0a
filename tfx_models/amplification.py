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

Outputs per task suffix s ('' for one task, as tfx_models.models):
- amplified: `logits{s}`, `probabilities{s}`; with keep_temporal `logits{s}` and
  `amplified_probabilities{s}` of the amplified head, `temporal_logits{s}`,
  `temporal_probabilities{s}`, and `probabilities{s}` = their average.
- m_fusion: `logits{s}`, `probabilities{s}`; with combine `logits{s}` and
  `m_fusion_probabilities{s}` of the product head, `spatial_logits{s}`,
  `spatial_probabilities{s}`, `temporal_logits{s}`, `temporal_probabilities{s}`,
  and `probabilities{s}` = the average of the three softmax scores.
Sub-models are named as conv_fusion's ("spatial", "temporal" up to the gate or
fusion point, "spatial_top", "temporal_top" after it), so
conv_fusion.load_stream_weights fills them from single-stream runs. A combined
m-fusion at conv5 holds a copy of the spatial top for its product path
("m_fusion_top", layers "m_fusion_<name>"), which initialise_copies fills.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfx_models import fusion as fl
from tfx_models.conv_fusion import _architecture, _check_unique_paths, _cnn_m_layers_after, _top, _trunk
from tfx_models.layers import PACKAGE
from tfx_models.models import head_names

GATE_POINT = "conv5"
M_FUSION_POINTS = ("conv5", "fc7")


def adaptive_pool_matrix(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] averaging weights: row i averages inputs floor(i*I/O) .. ceil((i+1)*I/O) - 1."""
    if size_in < 1 or size_out < 1:
        raise ValueError(f"adaptive pooling from {size_in} to {size_out}: sizes must be >= 1")
    matrix = np.zeros((size_out, size_in), np.float32)
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def _mean_one(values: tf.Tensor, epsilon: float) -> tf.Tensor:
    """(v + eps) / (mean of v over the locations + eps), per example: the map averages exactly 1."""
    mean = tf.reduce_mean(values, axis=[1, 2], keepdims=True)
    return (values + epsilon) / (mean + epsilon)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FlowGate(keras.layers.Layer):
    """The hand-crafted gate: flow stack [N,H,W,2L] -> [N,h,w,1] on conv5's grid (module docstring)."""

    def __init__(self, grid, epsilon: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.grid = tuple(int(g) for g in grid)
        if len(self.grid) != 2 or min(self.grid) < 1:
            raise ValueError(f"{self.name}: grid must be (height, width) >= 1, got {grid!r}")
        if epsilon <= 0:
            raise ValueError(f"{self.name}: epsilon must be > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        height, width, channels = input_shape[-3:]
        if len(input_shape) != 4 or channels is None or channels % 2:
            raise ValueError(f"{self.name}: expected a flow stack [N,H,W,2L], got {tuple(input_shape)}")
        self._rows = adaptive_pool_matrix(int(height), self.grid[0])
        self._cols = adaptive_pool_matrix(int(width), self.grid[1])

    def call(self, flow):
        flow = tf.cast(flow, tf.float32)
        fields = tf.reshape(flow, [-1, *flow.shape[1:3], flow.shape[-1] // 2, 2])  # [N,H,W,L,(x,y)]
        fields -= tf.reduce_mean(fields, axis=[1, 2], keepdims=True)
        magnitude = tf.reduce_mean(tf.norm(fields, axis=-1), axis=-1)  # [N,H,W]
        pooled = tf.einsum("hH,nHW,wW->nhw", tf.constant(self._rows), magnitude, tf.constant(self._cols))
        return tf.cast(_mean_one(pooled[..., None], self.epsilon), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.grid, 1)

    def get_config(self):
        return {**super().get_config(), "grid": list(self.grid), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LearnedGate(keras.layers.Layer):
    """The learned gate: a map [N,h,w,C] -> 1x1 conv -> sigmoid or softmax over locations -> mean 1.

    Kernel and bias start at zero, so the gate starts at exactly 1 everywhere.
    """

    def __init__(self, activation: str = "sigmoid", epsilon: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        if activation not in ("sigmoid", "softmax"):
            raise ValueError(f"{self.name}: activation must be 'sigmoid' or 'softmax', got {activation!r}")
        if epsilon <= 0:
            raise ValueError(f"{self.name}: epsilon must be > 0, got {epsilon!r}")
        self.activation = activation
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expected a map [N,h,w,C], got {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 1), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        scores = tf.tensordot(x, tf.cast(self.kernel, tf.float32), axes=[[3], [0]]) + tf.cast(self.bias, tf.float32)
        if self.activation == "sigmoid":
            gate = _mean_one(tf.sigmoid(scores), self.epsilon)
        else:
            locations = scores.shape[1] * scores.shape[2]
            flat = tf.nn.softmax(tf.reshape(scores, [-1, locations]), axis=-1) * float(locations)
            gate = tf.reshape(flat, tf.shape(scores))
        return tf.cast(gate, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Amplify(keras.layers.Layer):
    """[map [N,h,w,C], gate [N,h,w,1]] -> map * gate: every channel scaled by its location's gate."""

    def build(self, input_shape):
        features, gate = (tuple(s) for s in input_shape)
        if len(features) != 4 or gate[1:] != (*features[1:3], 1):
            raise ValueError(f"{self.name}: expected a map [N,h,w,C] and a gate [N,h,w,1], got {features}, {gate}")

    def call(self, inputs):
        return inputs[0] * tf.cast(inputs[1], inputs[0].dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


def _check_towers(spatial: keras.Model, temporal: keras.Model, num_classes: dict) -> None:
    if not num_classes:
        raise ValueError("num_classes: at least one task is needed")
    if (spatial.name, temporal.name) != ("spatial", "temporal"):
        raise ValueError(f"towers must be named 'spatial' and 'temporal', got {spatial.name!r}, {temporal.name!r}")


def _inputs(spatial: keras.Model, temporal: keras.Model):
    return (keras.Input(tuple(spatial.input.shape[1:]), name="rgb"),
            keras.Input(tuple(temporal.input.shape[1:]), name="flow"))


def _heads(features: dict, num_classes: dict, average_as: str) -> dict:
    """features: output prefix -> feature tensor, the model's own head ('') first.

    One entry: `logits`, `probabilities`. Several: each prefix's logits and
    probabilities (the own head's named `<average_as>_probabilities`) and
    `probabilities` = the average of their softmax scores.
    """
    outputs = {}
    for suffix, classes in zip(head_names(list(num_classes)), num_classes.values()):
        logits = {prefix: keras.layers.Dense(classes, dtype="float32", name=f"{prefix}logits{suffix}")(x)
                  for prefix, x in features.items()}
        outputs.update({f"{prefix}logits{suffix}": value for prefix, value in logits.items()})
        key = f"probabilities{suffix}"
        if len(features) == 1:
            outputs[key] = keras.layers.Softmax(dtype="float32", name=key)(logits[""])
            continue
        for prefix, value in logits.items():
            name = f"{prefix or average_as + '_'}probabilities{suffix}"
            outputs[name] = keras.layers.Softmax(dtype="float32", name=name)(value)
        outputs[key] = keras.layers.Average(dtype="float32", name=key)(
            [outputs[f"{prefix or average_as + '_'}probabilities{suffix}"] for prefix in logits])
    return outputs


def build_amplified(spatial: keras.Model, temporal: keras.Model, *, num_classes: dict[str, int],
                    gate: str = "flow", activation: str = "sigmoid", epsilon: float = 0.01,
                    keep_temporal: bool = False, train_from_fusion: bool = False,
                    name: str = "amplified") -> keras.Model:
    """The amplified spatial net (module docstring). train_from_fusion freezes the towers up to
    conv5: what trains is the spatial tower after conv5, its classifier and a learned gate."""
    _check_towers(spatial, temporal, num_classes)
    if gate not in ("flow", "learned"):
        raise ValueError(f"gate {gate!r}: expected 'flow' or 'learned'")
    rgb, flow = _inputs(spatial, temporal)
    spatial_trunk = _trunk(spatial, GATE_POINT)
    xs = spatial_trunk(rgb)
    temporal_trunk = xt = None
    if gate == "learned" or keep_temporal:
        temporal_trunk = _trunk(temporal, GATE_POINT)
        xt = temporal_trunk(flow)
    if train_from_fusion:
        for trunk in (spatial_trunk, temporal_trunk):
            if trunk is not None:
                trunk.trainable = False
    if gate == "flow":
        weights = FlowGate(xs.shape[1:3], epsilon=epsilon, name="gate")(flow)
    else:
        weights = LearnedGate(activation, epsilon=epsilon, name="gate")(xt)
    amplified = Amplify(name="amplify")([xs, weights])
    features = {"": _top(spatial, GATE_POINT, xs.shape[1:])(amplified)}
    if keep_temporal:
        features["temporal_"] = _top(temporal, GATE_POINT, xt.shape[1:])(xt)
    model = keras.Model({"rgb": rgb, "flow": flow}, _heads(features, num_classes, "amplified"), name=name)
    _check_unique_paths(model)
    return model


def _copied_top(tower: keras.Model, point: str, map_shape, prefix: str) -> keras.Model:
    """A second, independent copy of the tower's layers after `point` (fresh weights, names prefixed)."""
    inputs = keras.Input(tuple(map_shape), name=f"{prefix}{point}")
    x = inputs
    if _architecture(tower) == "cnn_m_2048":
        layers = _cnn_m_layers_after(tower, point)
    else:
        layers = [tower.get_layer("pool"), tower.get_layer("drop")]
    for layer in layers:
        x = layer.__class__.from_config({**layer.get_config(), "name": f"{prefix}{layer.name}"})(x)
    return keras.Model(inputs, x, name=f"{prefix}top")


def build_m_fusion(spatial: keras.Model, temporal: keras.Model, *, num_classes: dict[str, int],
                   fusion_layer: str = "conv5", combine: bool = False, train_from_fusion: bool = False,
                   name: str = "m_fusion") -> keras.Model:
    """Multiplicative fusion (module docstring). train_from_fusion freezes both towers up to the
    fusion point."""
    _check_towers(spatial, temporal, num_classes)
    if fusion_layer not in M_FUSION_POINTS:
        raise ValueError(f"m-fusion layer {fusion_layer!r}: expected one of {M_FUSION_POINTS}")
    if fusion_layer == "fc7" and _architecture(spatial) != "cnn_m_2048":
        raise ValueError(f"m-fusion at fc7: {_architecture(spatial)} towers have no fully connected layers")
    rgb, flow = _inputs(spatial, temporal)
    spatial_trunk, temporal_trunk = _trunk(spatial, fusion_layer), _trunk(temporal, fusion_layer)
    if train_from_fusion:
        spatial_trunk.trainable = temporal_trunk.trainable = False
    xs, xt = spatial_trunk(rgb), temporal_trunk(flow)
    fused = fl.ProductFusion(name="fusion")([xs, xt])
    if not combine:
        features = {"": _top(spatial, fusion_layer, fused.shape[1:])(fused)}
    else:
        features = {"": _copied_top(spatial, fusion_layer, fused.shape[1:], "m_fusion_")(fused),
                    "spatial_": _top(spatial, fusion_layer, xs.shape[1:])(xs),
                    "temporal_": _top(temporal, fusion_layer, xt.shape[1:])(xt)}
    model = keras.Model({"rgb": rgb, "flow": flow}, _heads(features, num_classes, "m_fusion"), name=name)
    _check_unique_paths(model)
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
