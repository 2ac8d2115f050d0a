"""Tower surgery: cutting a tower at a layer into the trunk before it and the top after it.

Two-tower kinds (conv fusion, amplification, m-fusion) join the towers' maps at
a point and run the rest of a tower on the joined map; trunk and top share the
tower's layer objects, so a single-stream run's weights load into both.
"""
from __future__ import annotations

import keras

from tfx_models.backbones.towers import APPLICATION_ENDPOINTS


def architecture_of(tower: keras.Model) -> str:
    names = {layer.name for layer in tower.layers}
    return next((a for a in APPLICATION_ENDPOINTS if a in names), "cnn_m_2048")


def trunk(tower: keras.Model, point: str) -> keras.Model:
    """The tower from its input to the map at the fusion point (its own layers)."""
    architecture = architecture_of(tower)
    if architecture == "cnn_m_2048":
        return keras.Model(tower.input, tower.output[point], name=tower.name)
    app = tower.get_layer(architecture)
    inner = app.get_layer(APPLICATION_ENDPOINTS[architecture][int(point[-1]) - 1]).output
    inputs = keras.Input(tower.input.shape[1:], name=tower.input.name)
    scaled = tower.get_layer("input_scaling")(inputs)
    mapped = keras.Model(app.input, inner, name=f"{architecture}_to_{point}")(scaled)
    return keras.Model(inputs, mapped, name=tower.name)


def cnn_m_layers_after(tower: keras.Model, name: str) -> list:
    """CNN-M is a chain: the layers after `name` in build order."""
    names = [layer.name for layer in tower.layers]
    return tower.layers[names.index(name) + 1:]


def top(tower: keras.Model, point: str, map_shape, *, after: str | None = None,
         widen: bool = False) -> keras.Model:
    """The tower's layers from the fusion point (or from layer `after`) to "features", as a sub-model.

    widen: the map has twice the channels (concat fusion); the first layer with
    weights is rebuilt for the wider input under the name '<name>_concat'.
    """
    inputs = keras.Input(tuple(map_shape), name=f"{tower.name}_{after or point}")
    x = inputs
    architecture = architecture_of(tower)
    if architecture == "cnn_m_2048":
        rebuilt = not widen
        for layer in cnn_m_layers_after(tower, after or point):
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


def check_unique_paths(model: keras.Model) -> None:
    seen = set()
    for v in model.weights:
        if v.path in seen:
            raise ValueError(f"model {model.name!r}: two variables share the path {v.path!r}: build the towers "
                             "with backbones.towers.build_towers (one Keras name scope per tower)")
        seen.add(v.path)
