"""Copying weights between models layer by layer, by name: how trained runs initialise new models."""
from __future__ import annotations

import keras


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
