"""Checks of the kind-independent sections (data, model, train); errors name the key.

Each model kind checks the sections only it reads (tfx_models/kinds/); the
helpers here are what those checks share.
"""
from __future__ import annotations

from media.stacking import STACKINGS, STREAMS
from tfx_models.config.sections import ARCHITECTURES, CLIP_ARCHITECTURES, INITS, PRECISIONS, STRATEGIES, ExperimentConfig


def choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"config {key}={value!r}: must be one of {list(allowed)}")


def positive(values: dict) -> None:
    """Every value of {key: value} > 0."""
    for key, value in values.items():
        if value <= 0:
            raise ValueError(f"config {key}={value!r}: must be > 0")


def validate(config: ExperimentConfig) -> ExperimentConfig:
    """Checks what types alone cannot in the sections every kind reads."""
    d, m, t = config.data, config.model, config.train
    choice("data.stream", d.stream, STREAMS)
    choice("data.stacking", d.stacking, STACKINGS)
    choice("model.architecture", m.architecture, ARCHITECTURES + CLIP_ARCHITECTURES)
    choice("model.init", m.init, INITS)
    choice("train.strategy", t.strategy, STRATEGIES)
    choice("train.precision", t.precision, PRECISIONS)
    if t.precision == "auto" and t.strategy == "multi_worker":
        raise ValueError("config train.precision='auto' with train.strategy='multi_worker': auto times the "
                         "model in one process, and the workers must agree; name the precision "
                         "(float32 or mixed_bfloat16)")
    positive({"data.crop_size": d.crop_size, "data.length": d.length, "model.width": m.width,
              "train.steps": t.steps, "train.batch_size": t.batch_size,
              "train.learning_rate": t.learning_rate, "train.checkpoint_every": t.checkpoint_every,
              "train.keep_checkpoints": t.keep_checkpoints, "train.log_every": t.log_every,
              "model.flow_scale": m.flow_scale, "data.snippets": d.snippets})
    if not 0.0 <= m.dropout < 1.0:
        raise ValueError(f"config model.dropout={m.dropout!r}: must be in [0, 1)")
    if not 0.0 <= d.max_corrupt_share < 1.0:
        raise ValueError(f"config data.max_corrupt_share={d.max_corrupt_share!r}: must be in [0, 1)")
    if t.weight_decay < 0:
        raise ValueError(f"config train.weight_decay={t.weight_decay!r}: must be >= 0")
    if any(not 0.0 < f < 1.0 for f in t.lr_drops) or list(t.lr_drops) != sorted(t.lr_drops):
        raise ValueError(f"config train.lr_drops={t.lr_drops!r}: increasing fractions in (0, 1)")
    if len(d.snippet_stride) != 2 or not 1 <= d.snippet_stride[0] <= d.snippet_stride[1]:
        raise ValueError(f"config data.snippet_stride={d.snippet_stride!r}: (min, max) frames, 1 <= min <= max")
    if d.folds == 1 or d.folds < 0 or (d.folds and not 0 <= d.holdout_fold < d.folds):
        raise ValueError(f"config data.folds={d.folds}, data.holdout_fold={d.holdout_fold}: folds is 0 (off) "
                         "or >= 2, and 0 <= holdout_fold < folds")
    if d.bidirectional and d.length % 2:
        raise ValueError(f"config data.length={d.length}: bidirectional stacking needs an even L")
    if not m.train_tower and m.weights is None:
        raise ValueError("config model.train_tower=False trains only the last layer: "
                         "it needs pre-trained model.weights")
    return config
