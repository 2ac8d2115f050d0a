"""The model-kind registry: one ModelKind per model family, looked up by `model.kind`.

A leaf: it imports no model. Each kind registers itself at the bottom of its
own module in tfx_models/kinds/, and tfx_models.kinds (the factory) imports
every kind module, so nothing here knows which kinds exist (docs/adding_a_model_family.md).

Train, evaluate and export never branch on stream names or model families;
they ask the kind what to build, what a training sample holds, which loss to
use, how a test video is sampled and which pre-trained parts to load.

- `streams(config)`: the input spec: which tensors a sample holds, in the input pipeline's and
  the test-time sampler's terms: ("spatial",) -> `rgb`, ("temporal",) -> `flow`,
  both -> `rgb` and `flow` drawn jointly (one time, crop and flip for both).
- `build(config, num_classes)`: the Keras model (named inputs `rgb`/`flow`,
  dict outputs with `logits*`/`probabilities*`).
- `loss(config, tasks)`: a tfx_models.losses LossFn over the output dict.
- `test_sampler`: the test-time sampler evaluation draws a video's inputs with
  (tfx_models.data.test_clips.record_test_inputs's signature).
- `validate(config)`: checks the config sections the kind reads (the
  kind-independent ones are checked by tfx_models.config); errors name the key.
- `initialise(model, config)`: loads pre-trained parts (e.g. single-stream runs
  into the towers of a fused model) before training starts.
- `measure_init(model, config, batch)`: after `initialise`, on a fresh start, sets
  initialisations that depend on the loaded parts' activations; `batch()` draws one training
  batch of features. Returns what it measured and set, recorded as run_info's `initialisation`
  ({} when the config asks for nothing to measure).
- `inference(model, config)`: the part of the trained model that is evaluated,
  exported and served, when it is not the whole of it (a distilled student
  without its teacher, one branch of a Siamese pair); default: the model.
- `serving_streams(config)`: the streams that inference model reads; run_info's
  `streams` records them for evaluate, export and the client. Default: `streams`.
- `dataset(config)`: the kind's own training sampler, a
  (input_context, seed) -> tf.data.Dataset function, when the joint sampler of
  `streams` is not what it trains on (e.g. pairs of views); default: the joint sampler.
- `describe(run_info)`: what a run of the kind is, for evaluation's row labels
  (None: evaluate describes it from run_info's fusion section).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

from tfx_models.config import ExperimentConfig
from tfx_models.losses import LossFn


@dataclass(frozen=True)
class ModelKind:
    name: str
    streams: Callable[[ExperimentConfig], tuple[str, ...]]
    build: Callable[[ExperimentConfig, dict[str, int]], keras.Model]
    loss: Callable[[ExperimentConfig, list[str]], LossFn]
    test_sampler: Callable
    validate: Callable[[ExperimentConfig], None] | None = None
    initialise: Callable[[keras.Model, ExperimentConfig], list[str]] | None = None
    measure_init: Callable[[keras.Model, ExperimentConfig, Callable[[], dict]], dict] | None = None
    inference: Callable[[keras.Model, ExperimentConfig], keras.Model] | None = None
    serving_streams: Callable[[ExperimentConfig], tuple[str, ...]] | None = None
    dataset: Callable[[ExperimentConfig], Callable] | None = None
    describe: Callable[[dict], str] | None = None

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
    """The config's kind, after it has checked the sections it reads."""
    kind = get(config.model.kind)
    if kind.validate:
        kind.validate(config)
    return kind
