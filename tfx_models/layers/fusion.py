"""Fusion layers: Feichtenhofer, Pinz & Zisserman's (CVPR 2016) and Park et al.'s (WACV 2016) product.

"Fusion" here always means a layer joining two towers' maps; the model kind
built from them is tfx_models.kinds.conv_fusion, and late fusion of two
streams' scores (averaging, the SVM) is tfx_models.evaluation.late_fusion.

Every fusion layer takes [spatial, temporal]: two maps of the same spatial size
taken after ReLU, with the channel axis last. Maps are rank 4 [N,H,W,C] (one
snippet, today's shapes) or rank 5 [N,T,H,W,C] (T snippets); sum, max, concat,
1x1 conv and bilinear work on either, the 3D conv treats a rank-4 map as T=1.
The spatial map comes first wherever the order matters (concat, conv kernels).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfx_models.layers.common import PACKAGE


def _check_pair(inputs, name):
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        raise ValueError(f"{name}: expected [spatial, temporal] maps, got {inputs!r}")
    a, b = (tuple(s) for s in inputs)
    if len(a) != len(b) or a[1:-1] != b[1:-1]:
        raise ValueError(f"{name}: the two maps must have the same rank and spatial (and time) size, "
                         f"got {a} and {b}")
    return a, b


class _PairFusion(keras.layers.Layer):
    """Two maps in, one out; subclasses say how."""

    def build(self, input_shape):
        _check_pair(input_shape, self.name)

    def compute_output_shape(self, input_shape):
        a, _ = _check_pair(input_shape, self.name)
        return a


@keras.saving.register_keras_serializable(package=PACKAGE)
class SumFusion(_PairFusion):
    """y = x_spatial + x_temporal (channel d of one tower meets channel d of the other)."""

    def call(self, inputs):
        return inputs[0] + inputs[1]


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaxFusion(_PairFusion):
    """y = max(x_spatial, x_temporal), element-wise."""

    def call(self, inputs):
        return tf.maximum(inputs[0], inputs[1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProductFusion(_PairFusion):
    """y = (a_s x_spatial) * (a_t x_temporal), element-wise (Park et al. 2016, multiplicative fusion):
    on post-ReLU maps, activations both streams share are amplified and the rest suppressed.

    scaled=True holds (a_s, a_t) as a non-trainable weight `scales` (ones until set_scales), so
    the product can start at the scale the layers after it were trained on, whatever the towers'
    own scales (fusion.init="measured"); scaled=False is the plain product (a_s = a_t = 1) and
    has no weight, as runs from before the option.
    """

    def __init__(self, scaled: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.scaled = bool(scaled)

    def build(self, input_shape):
        a, b = _check_pair(input_shape, self.name)
        if a[-1] != b[-1]:
            raise ValueError(f"{self.name}: a product needs the same channels in both maps, got {a} and {b}")
        if self.scaled:
            self.scales = self.add_weight(name="scales", shape=(2,), initializer="ones", trainable=False)

    def set_scales(self, spatial: float, temporal: float) -> None:
        if not self.scaled:
            raise ValueError(f"{self.name}: built with scaled=False, it has no scales to set")
        self.scales.assign([spatial, temporal])

    def call(self, inputs):
        if not self.scaled:
            return inputs[0] * inputs[1]
        scales = tf.cast(self.scales, inputs[0].dtype)
        return (scales[0] * inputs[0]) * (scales[1] * inputs[1])

    def get_config(self):
        return {**super().get_config(), "scaled": self.scaled}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConcatFusion(_PairFusion):
    """y = [x_spatial, x_temporal] stacked on the channel axis (2D channels): the next
    layer learns the correspondence."""

    def call(self, inputs):
        return tf.concat([inputs[0], inputs[1]], axis=-1)

    def compute_output_shape(self, input_shape):
        a, b = _check_pair(input_shape, self.name)
        return (*a[:-1], None if a[-1] is None or b[-1] is None else a[-1] + b[-1])


def _stacked_identities(channels_a: int, channels_b: int, filters: int, weights) -> np.ndarray:
    """[w_a * I ; w_b * I] of shape [C_a + C_b, filters]: channel d of each tower goes to output d."""
    return np.concatenate([weights[0] * np.eye(channels_a, filters), weights[1] * np.eye(channels_b, filters)],
                          axis=0).astype(np.float32)


def gaussian_3x3x3(sigma: float = 1.0) -> np.ndarray:
    """A 3x3x3 Gaussian over (t, h, w) offsets -1..1, normalised to sum 1."""
    offsets = np.arange(-1, 2, dtype=np.float64)
    t, h, w = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    g = np.exp(-(t ** 2 + h ** 2 + w ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConvFusion(_PairFusion):
    """1x1 conv over the stacked 2D channels to D (Sect. 3.1, "conv fusion"), then ReLU.

    init="identity" starts it as the weighted sum w_s*x_s + w_t*x_t (kernel
    [w_s I ; w_t I], bias 0; the paper's [I | I] is identity_weights=(1, 1)); on
    post-ReLU inputs the ReLU then changes nothing, so step 0 equals sum fusion.
    init="random" is the paper's Glorot-style comparison. A 1x1 conv is a matmul
    on the channel axis, so any rank works.
    """

    def __init__(self, filters: int | None = None, init: str = "identity", identity_weights=(1.0, 1.0),
                 activation: str | None = "relu", **kwargs):
        super().__init__(**kwargs)
        if init not in ("identity", "random"):
            raise ValueError(f"{self.name}: init must be 'identity' or 'random', got {init!r}")
        self.filters = filters
        self.init = init
        self.identity_weights = tuple(float(w) for w in identity_weights)
        self.activation = keras.activations.get(activation)
        self._activation_name = activation

    def build(self, input_shape):
        a, b = _check_pair(input_shape, self.name)
        self.filters = self.filters or a[-1]
        self._channels = (a[-1], b[-1])
        if self.init == "identity":
            initializer = keras.initializers.Constant(_stacked_identities(a[-1], b[-1], self.filters,
                                                                          self.identity_weights))
        else:
            initializer = keras.initializers.GlorotUniform()
        self.kernel = self.add_weight(name="kernel", shape=(a[-1] + b[-1], self.filters), initializer=initializer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def set_identity_weights(self, spatial: float, temporal: float) -> None:
        """Restarts the kernel as [spatial I ; temporal I], bias 0 (fusion.init="measured" sets the
        weights from the towers' measured scales after they are loaded)."""
        if self.init != "identity":
            raise ValueError(f"{self.name}: identity weights need init='identity', not {self.init!r}")
        self.kernel.assign(_stacked_identities(*self._channels, self.filters, (spatial, temporal)))
        self.bias.assign(np.zeros(self.bias.shape, np.float32))
        self.identity_weights = (float(spatial), float(temporal))

    def call(self, inputs):
        x = tf.concat([inputs[0], inputs[1]], axis=-1)
        y = tf.tensordot(x, tf.cast(self.kernel, x.dtype), axes=[[x.shape.rank - 1], [0]])
        y = tf.nn.bias_add(y, tf.cast(self.bias, x.dtype))
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        a, _ = _check_pair(input_shape, self.name)
        return (*a[:-1], self.filters or a[-1])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "init": self.init,
                "identity_weights": list(self.identity_weights), "activation": self._activation_name}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Conv3DFusion(_PairFusion):
    """3x3x3 conv over (T, H, W) of the stacked 2D channels to D, 'same' padding, then ReLU (Sect. 3.2).

    init="gaussian_identity" (the authors' code): kernel[t,h,w] = G[t,h,w] *
    [w_s I ; w_t I] with G a normalised 3x3x3 Gaussian and (w_s, w_t) = (0.25,
    0.75) as flow activations are smaller; bias 0. At step 0 it is a
    Gaussian-smoothed weighted sum. Rank-4 inputs are one snippet (T=1): only the
    kernel's middle time slice meets data and the output is rank 4 again.
    """

    def __init__(self, filters: int | None = None, init: str = "gaussian_identity",
                 identity_weights=(0.25, 0.75), sigma: float = 1.0, activation: str | None = "relu", **kwargs):
        super().__init__(**kwargs)
        if init not in ("gaussian_identity", "random"):
            raise ValueError(f"{self.name}: init must be 'gaussian_identity' or 'random', got {init!r}")
        self.filters = filters
        self.init = init
        self.identity_weights = tuple(float(w) for w in identity_weights)
        self.sigma = float(sigma)
        self.activation = keras.activations.get(activation)
        self._activation_name = activation

    def build(self, input_shape):
        a, b = _check_pair(input_shape, self.name)
        if len(a) not in (4, 5):
            raise ValueError(f"{self.name}: expected [N,T,H,W,C] or [N,H,W,C] maps, got {a}")
        self.filters = self.filters or a[-1]
        self._channels = (a[-1], b[-1])
        shape = (3, 3, 3, a[-1] + b[-1], self.filters)
        if self.init == "gaussian_identity":
            identities = _stacked_identities(a[-1], b[-1], self.filters, self.identity_weights)
            initializer = keras.initializers.Constant(gaussian_3x3x3(self.sigma)[..., None, None] * identities)
        else:
            initializer = keras.initializers.GlorotUniform()
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=initializer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def set_identity_weights(self, spatial: float, temporal: float) -> None:
        """Restarts the kernel as G * [spatial I ; temporal I], bias 0 (fusion.init="measured")."""
        if self.init != "gaussian_identity":
            raise ValueError(f"{self.name}: identity weights need init='gaussian_identity', not {self.init!r}")
        identities = _stacked_identities(*self._channels, self.filters, (spatial, temporal))
        self.kernel.assign(gaussian_3x3x3(self.sigma)[..., None, None] * identities)
        self.bias.assign(np.zeros(self.bias.shape, np.float32))
        self.identity_weights = (float(spatial), float(temporal))

    def call(self, inputs):
        x = tf.concat([inputs[0], inputs[1]], axis=-1)
        single = x.shape.rank == 4
        if single:
            x = x[:, None]
        y = tf.nn.conv3d(x, tf.cast(self.kernel, x.dtype), strides=[1, 1, 1, 1, 1], padding="SAME")
        y = tf.nn.bias_add(y, tf.cast(self.bias, x.dtype))
        if self.activation is not None:
            y = self.activation(y)
        return y[:, 0] if single else y

    def compute_output_shape(self, input_shape):
        a, _ = _check_pair(input_shape, self.name)
        return (*a[:-1], self.filters or a[-1])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "init": self.init,
                "identity_weights": list(self.identity_weights), "sigma": self.sigma,
                "activation": self._activation_name}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BilinearFusion(_PairFusion):
    """Sum over locations of the outer product x_s(l) x_t(l)^T, signed square root, L2 norm (Sect. 3.1).

    Locations are every axis between batch and channels (H, W, and T when
    present). Output [N, C_s * C_t], row-major (spatial channel major). No
    division by the number of locations: the L2 normalisation removes any scale.
    """

    def __init__(self, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        a = tf.cast(inputs[0], tf.float32)
        b = tf.cast(inputs[1], tf.float32)
        ca, cb = a.shape[-1], b.shape[-1]
        a = tf.reshape(a, [tf.shape(a)[0], -1, ca])
        b = tf.reshape(b, [tf.shape(b)[0], -1, cb])
        outer = tf.reshape(tf.einsum("nla,nlb->nab", a, b), [-1, ca * cb])
        # sign(0) = 0 keeps zeros at zero; epsilon keeps the gradient finite there.
        signed_root = tf.sign(outer) * tf.sqrt(tf.abs(outer) + self.epsilon)
        return tf.cast(tf.math.l2_normalize(signed_root, axis=-1, epsilon=self.epsilon), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        a, b = _check_pair(input_shape, self.name)
        return (a[0], a[-1] * b[-1])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpatioTemporalMaxPooling(keras.layers.Layer):
    """3D max pooling over all T snippets and a pool_size window in space: [N,T,H,W,C] -> [N,H',W',C].

    The time window is the whole clip (the paper's pool of W' x H' x T), so the
    time axis collapses. ceil_mode zero-pads bottom/right like
    tfx_models.layers.common.CeilModePadding (Caffe's rounding; inputs are post-ReLU, so
    the zeros never win). pool_size (1, 1) pools over time only. A rank-4 input
    is one snippet and gets plain 2D pooling.
    """

    def __init__(self, pool_size=(2, 2), strides=None, ceil_mode: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(int(p) for p in pool_size)
        self.strides = tuple(int(s) for s in (strides or pool_size))
        self.ceil_mode = bool(ceil_mode)

    def _pad(self, size, window, stride):
        if not self.ceil_mode:
            return 0
        if size < window:
            return window - size
        remainder = (size - window) % stride
        return 0 if remainder == 0 else stride - remainder

    def _out(self, size, window, stride):
        return None if size is None else (size + self._pad(size, window, stride) - window) // stride + 1

    def call(self, inputs):
        x = inputs if inputs.shape.rank == 5 else inputs[:, None]
        x = tf.reduce_max(x, axis=1)  # max over the whole time window, then over space: a 3D max
        h, w = x.shape[1], x.shape[2]
        ph = self._pad(h, self.pool_size[0], self.strides[0])
        pw = self._pad(w, self.pool_size[1], self.strides[1])
        if ph or pw:
            x = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]])
        return tf.nn.max_pool2d(x, self.pool_size, self.strides, padding="VALID")

    def compute_output_shape(self, input_shape):
        n, h, w, c = (input_shape[0], *input_shape[-3:])
        return (n, self._out(h, self.pool_size[0], self.strides[0]),
                self._out(w, self.pool_size[1], self.strides[1]), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "ceil_mode": self.ceil_mode}


# fusion.type -> the layer that fuses two maps that way (the conv kind's 1x1 conv takes an init).
FUSION_CLASSES = {"sum": SumFusion, "max": MaxFusion, "concat": ConcatFusion, "conv": ConvFusion,
                 "bilinear": BilinearFusion}
