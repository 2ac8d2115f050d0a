"""Model kinds: one registry entry per model family, looked up by `model.kind`.

Train, evaluate and export never branch on stream names or model families;
they ask the kind what to build, what a training sample holds, which loss to
use and which pre-trained parts to load. A new family is one builder module,
one `register(ModelKind(...))` here and one experiment file.

- `streams(config)`: which tensors a sample holds, in the input pipeline's and
  the test-time sampler's terms: ("spatial",) -> `rgb`, ("temporal",) -> `flow`,
  both -> `rgb` and `flow` drawn jointly (one time, crop and flip for both).
- `build(config, num_classes)`: the Keras model (named inputs `rgb`/`flow`,
  dict outputs with `logits*`/`probabilities*`).
- `loss(config, tasks)`: a tfx_models.losses LossFn over the output dict.
- `initialise(model, config)`: loads pre-trained parts (e.g. single-stream runs
  into the towers of a fused model) before training starts.
- `inference(model, config)`: the part of the trained model that is evaluated,
  exported and served, when it is not the whole of it (a distilled student
  without its teacher, one branch of a Siamese pair); default: the model.
- `serving_streams(config)`: the streams that inference model reads; run_info's
  `streams` records them for evaluate, export and the client. Default: `streams`.
- `dataset(config)`: the kind's own training sampler, a
  (input_context, seed) -> tf.data.Dataset function, when the joint sampler of
  `streams` is not what it trains on (e.g. pairs of views); default: the joint sampler.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

from tfx_models.config import ExperimentConfig
from tfx_models.losses import LossFn, classification_loss, cross_entropy_heads


@dataclass(frozen=True)
class ModelKind:
    name: str
    streams: Callable[[ExperimentConfig], tuple[str, ...]]
    build: Callable[[ExperimentConfig, dict[str, int]], keras.Model]
    loss: Callable[[ExperimentConfig, list[str]], LossFn]
    initialise: Callable[[keras.Model, ExperimentConfig], list[str]] | None = None
    inference: Callable[[keras.Model, ExperimentConfig], keras.Model] | None = None
    serving_streams: Callable[[ExperimentConfig], tuple[str, ...]] | None = None
    dataset: Callable[[ExperimentConfig], Callable] | None = None

    def inference_model(self, model: keras.Model, config: ExperimentConfig) -> keras.Model:
        return self.inference(model, config) if self.inference else model

    def inference_streams(self, config: ExperimentConfig) -> tuple[str, ...]:
        return (self.serving_streams or self.streams)(config)


KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    if kind.name in KINDS:
        raise ValueError(f"model kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def get(name: str) -> ModelKind:
    if name not in KINDS:
        raise ValueError(f"model.kind={name!r}: unknown; registered kinds: {sorted(KINDS)}")
    return KINDS[name]


def kind_of(config: ExperimentConfig) -> ModelKind:
    return get(config.model.kind)


# stream: one tower on one input (Simonyan & Zisserman 2014) -------------------

def _stream_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.models import build_model_from_config

    return build_model_from_config(config, num_classes)


register(ModelKind(
    name="stream",
    streams=lambda config: (config.data.stream,),
    build=_stream_build,
    loss=lambda config, tasks: classification_loss(tasks),
))


# conv_fusion: two towers fused at a conv layer (Feichtenhofer et al. 2016) -----

def _fusion_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.conv_fusion import build_conv_fusion, build_towers

    d, m, f = config.data, config.model, config.fusion
    towers = build_towers(architecture=m.architecture, crop_size=d.crop_size, length=d.length, width=m.width,
                          dropout=m.dropout, weights=m.weights, flow_scale=m.flow_scale)
    return build_conv_fusion(towers["spatial"], towers["temporal"], num_classes=num_classes, fusion=f.type,
                             fusion_layer=f.layer, mode=f.mode, num_snippets=d.snippets,
                             keep_temporal=f.keep_temporal, train_from_fusion=f.train_from_fusion)


def _fusion_loss(config: ExperimentConfig, tasks: list[str]) -> LossFn:
    """The fused head's loss, plus the temporal tower's own when it is kept (the paper's final model)."""
    prefixes = ["logits"] + (["temporal_logits"] if config.fusion.keep_temporal else [])
    if len(tasks) == 1:
        return cross_entropy_heads({p: None for p in prefixes})
    return cross_entropy_heads({f"{p}_{t}": i for p in prefixes for i, t in enumerate(tasks)})


def _fusion_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """Loads the trained single-stream runs named by fusion.spatial_run / temporal_run into the towers."""
    from tfx_models.conv_fusion import load_stream_weights
    from tfx_models.runs import load_model_from_run

    loaded = []
    for stream, run_dir in (("spatial", config.fusion.spatial_run), ("temporal", config.fusion.temporal_run)):
        if run_dir:
            stream_model, info = load_model_from_run(run_dir)
            if info.get("stream") != stream:
                raise ValueError(f"fusion.{stream}_run={run_dir}: that run trained a {info.get('stream')} "
                                 f"stream, not a {stream} one")
            loaded += [f"{stream}:{name}" for name in load_stream_weights(model, stream_model, stream)]
    return loaded


register(ModelKind(
    name="conv_fusion",
    streams=lambda config: ("spatial", "temporal"),
    build=_fusion_build,
    loss=_fusion_loss,
    initialise=_fusion_initialise,
))
