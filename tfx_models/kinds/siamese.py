"""The Siamese multi-view model: one tower applied to both images of a pair, with the same weights.

The `branch` (a nested keras.Model: tower, embedding, softmax head) is built
once and called on `rgb_a` and `rgb_b`, so the pair model holds exactly one set
of variables and a gradient step moves both branches identically. Outputs per
side x in {a, b}: `logits_x`, `probabilities_x`, `embedding_x`. The embedding
is the tower's fc7 after ReLU and before dropout (for keras.applications towers,
which have no fc7, the pooled conv5), optionally followed by a linear
projection; it is what the contrastive loss (tfx_models.losses.siamese_loss)
measures distances on. At test time the branch alone is the model (input `rgb`,
outputs `logits`, `probabilities`, `embedding`): evaluated, exported and served
as an ordinary RGB model, with an `embed` signature for retrieval.
"""
from __future__ import annotations

import keras

from tfx_models.backbones.towers import build_tower, input_shape
from tfx_models.config import ExperimentConfig
from tfx_models.config.checks import positive
from tfx_models.data.pairs import train_pair_dataset
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.losses import siamese_loss
from tfx_models.registry import ModelKind, register

BRANCH = "branch"
SIDES = ("a", "b")


def build_branch(*, num_classes: int, architecture: str = "cnn_m_2048", crop_size: int = 224, width: float = 1.0,
                 dropout: float = 0.5, weights: str | None = None, train_tower: bool = True,
                 projection: int = 0) -> keras.Model:
    """rgb -> {logits, probabilities, embedding}; heads and embedding compute in float32."""
    tower = build_tower(architecture, input_shape("spatial", crop_size, 1), stream="spatial", width=width,
                        dropout=dropout, weights=weights)
    tower.trainable = train_tower
    rgb = keras.Input(tower.input.shape[1:], name="rgb")
    ends = tower(rgb)
    embedding = ends["fc7"] if "fc7" in ends else keras.layers.GlobalAveragePooling2D(name="embed_pool")(ends["conv5"])
    if projection:
        embedding = keras.layers.Dense(projection, dtype="float32", name="projection")(embedding)
    embedding = keras.layers.Activation("linear", dtype="float32", name="embedding")(embedding)
    heads = classifier_heads({"": ends["features"]}, {"views": num_classes})
    return keras.Model({"rgb": rgb}, {**heads, "embedding": embedding}, name=BRANCH)


def build_siamese(branch: keras.Model) -> keras.Model:
    """{rgb_a, rgb_b} -> the branch's outputs for each, suffixed _a and _b; one set of weights."""
    shape = branch.input["rgb"].shape[1:]
    inputs = {f"rgb_{side}": keras.Input(shape, name=f"rgb_{side}") for side in SIDES}
    outputs = {}
    for side in SIDES:
        for key, value in branch({"rgb": inputs[f"rgb_{side}"]}).items():
            outputs[f"{key}_{side}"] = value
    return keras.Model(inputs, outputs, name="siamese")


def build_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    if len(num_classes) != 1:
        raise ValueError(f"kind siamese trains on one record dir (one task), got tasks {sorted(num_classes)}")
    d, m = config.data, config.model
    branch = build_branch(num_classes=next(iter(num_classes.values())), architecture=m.architecture,
                          crop_size=d.crop_size, width=m.width, dropout=m.dropout, weights=m.weights,
                          train_tower=m.train_tower, projection=config.siamese.projection)
    return build_siamese(branch)


def branch_of(model: keras.Model, config: ExperimentConfig | None = None) -> keras.Model:
    """The inference model: one branch (input `rgb`; outputs logits, probabilities, embedding)."""
    return model.get_layer(BRANCH)


def pair_dataset_fn(config: ExperimentConfig):
    """(input_context, seed) -> batches of pairs from the run's record dir (tfx_models.data.pairs)."""
    if len(config.data.records) != 1:
        raise ValueError(f"kind siamese trains on one record dir, got data.records={config.data.records}")
    d, s = config.data, config.siamese
    if d.folds:
        raise ValueError(f"config data.folds={d.folds}: kind siamese draws pairs from every train record; "
                         "cross-fitting folds are not supported for it")

    def dataset_fn(input_context, seed):
        return train_pair_dataset(d.records[0], batch_size=config.train.batch_size, crop_size=d.crop_size,
                                  ratio=s.ratio, frame_step=s.frame_step, labelled_views=s.labelled_views,
                                  flip=d.flip, color_jitter=d.color_jitter, seed=seed, input_context=input_context)
    return dataset_fn


def validate(config: ExperimentConfig) -> None:
    s = config.siamese
    positive({"siamese.margin": s.margin, "siamese.ratio": s.ratio, "siamese.frame_step": s.frame_step})
    for key, value in {"siamese.weight": s.weight, "siamese.projection": s.projection,
                       "siamese.labelled_views": min(s.labelled_views, default=0)}.items():
        if value < 0:
            raise ValueError(f"config {key}={getattr(s, key.split('.')[1])!r}: must be >= 0")


register(ModelKind(
    name="siamese",
    streams=lambda config: ("spatial",),
    build=build_from_config,
    loss=lambda config, tasks: siamese_loss(config.siamese.margin, config.siamese.weight),
    test_sampler=record_test_inputs,
    validate=validate,
    inference=branch_of,
    serving_streams=lambda config: ("spatial",),
    dataset=pair_dataset_fn,
))
