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
- `describe(run_info)`: what a run of the kind is, for evaluation's row labels
  (None: evaluate describes it from run_info's fusion section).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

from tfx_models.config import ExperimentConfig
from tfx_models.losses import LossFn, classification_loss, cross_entropy_heads, siamese_loss


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
    return get(config.model.kind)


# stream: one tower on one input (Simonyan & Zisserman 2014) -------------------

def _stream_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.models import build_model_from_config

    return build_model_from_config(config, num_classes)


def _check_flow_scale(key: str, run_dir: str, config: ExperimentConfig) -> None:
    """A loaded temporal tower must see flow at the scale it was trained on; the input scaling is
    built from this config, so a silent mismatch would feed the tower 5x too large or small."""
    from tfx_models.runs import read_config

    trained = read_config(run_dir).model.flow_scale
    if trained != config.model.flow_scale:
        raise ValueError(f"{key}={run_dir}: that run's temporal tower was trained with model.flow_scale="
                         f"{trained}, this config has {config.model.flow_scale}; "
                         f"set --set model.flow_scale={trained}")


def _stream_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """The tower of model.init_run (a trained run of the same stream), under fresh heads."""
    from tfx_models.models import load_tower_weights
    from tfx_models.runs import load_model_from_run

    if not config.model.init_run:
        return []
    source, info = load_model_from_run(config.model.init_run)
    if info.get("kind", "stream") != "stream" or info.get("stream") != config.data.stream:
        raise ValueError(f"model.init_run={config.model.init_run}: that run is a {info.get('kind', 'stream')} "
                         f"model of {info.get('stream')}, not a {config.data.stream} stream")
    if config.data.stream == "temporal":
        _check_flow_scale("model.init_run", config.model.init_run, config)
    return load_tower_weights(model, source, source_name=config.model.init_run)


register(ModelKind(
    name="stream",
    streams=lambda config: (config.data.stream,),
    build=_stream_build,
    loss=lambda config, tasks: classification_loss(tasks),
    initialise=_stream_initialise,
))


# conv_fusion: two towers fused at a conv layer (Feichtenhofer et al. 2016) -----

def _towers(config: ExperimentConfig) -> tuple[keras.Model, keras.Model]:
    """The spatial and the temporal tower of a two-tower kind, as the config sizes them."""
    from tfx_models.conv_fusion import build_towers

    d, m = config.data, config.model
    towers = build_towers(architecture=m.architecture, crop_size=d.crop_size, length=d.length, width=m.width,
                          dropout=m.dropout, weights=m.weights, flow_scale=m.flow_scale)
    return towers["spatial"], towers["temporal"]


def _heads_loss(prefixes: list[str], tasks: list[str]) -> LossFn:
    """Cross-entropy on every head named by a logits prefix, per task."""
    if len(tasks) == 1:
        return cross_entropy_heads({p: None for p in prefixes})
    return cross_entropy_heads({f"{p}_{t}": i for p in prefixes for i, t in enumerate(tasks)})


def _fusion_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.conv_fusion import build_conv_fusion

    d, f = config.data, config.fusion
    return build_conv_fusion(*_towers(config), num_classes=num_classes, fusion=f.type,
                             fusion_layer=f.layer, mode=f.mode, num_snippets=d.snippets,
                             keep_temporal=f.keep_temporal, train_from_fusion=f.train_from_fusion)


def _fusion_loss(config: ExperimentConfig, tasks: list[str]) -> LossFn:
    """The fused head's loss, plus the temporal tower's own when it is kept (the paper's final model)."""
    return _heads_loss(["logits"] + (["temporal_logits"] if config.fusion.keep_temporal else []), tasks)


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
            if stream == "temporal":
                _check_flow_scale("fusion.temporal_run", run_dir, config)
            loaded += [f"{stream}:{name}" for name in load_stream_weights(model, stream_model, stream)]
    return loaded


register(ModelKind(
    name="conv_fusion",
    streams=lambda config: ("spatial", "temporal"),
    build=_fusion_build,
    loss=_fusion_loss,
    initialise=_fusion_initialise,
))


# amplified, m_fusion: one stream's evidence gates the other's features (Park et al. 2016) ---

def _one_snippet(config: ExperimentConfig) -> None:
    if config.data.snippets != 1:
        raise ValueError(f"model.kind={config.model.kind!r} takes one snippet per input: "
                         f"data.snippets={config.data.snippets}, expected 1")


def _amplified_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.amplification import build_amplified

    _one_snippet(config)
    a, f = config.amplification, config.fusion
    return build_amplified(*_towers(config), num_classes=num_classes, gate=a.gate, activation=a.activation,
                           epsilon=a.epsilon, keep_temporal=f.keep_temporal, train_from_fusion=f.train_from_fusion)


def _amplified_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    if config.fusion.temporal_run and not any(layer.name == "temporal" for layer in model.layers):
        raise ValueError(f"fusion.temporal_run={config.fusion.temporal_run}: the flow gate without "
                         "fusion.keep_temporal has no temporal tower to load it into")
    return _fusion_initialise(model, config)


def _amplified_describe(run_info: dict) -> str:
    gate = (run_info.get("amplification") or {})
    text = "flow gate" if gate.get("gate") == "flow" else f"learned gate ({gate.get('activation', '?')})"
    text += " on spatial conv5"
    return text + (", temporal tower kept" if (run_info.get("fusion") or {}).get("keep_temporal") else "")


register(ModelKind(
    name="amplified",
    streams=lambda config: ("spatial", "temporal"),
    build=_amplified_build,
    loss=lambda config, tasks: _heads_loss(
        ["logits"] + (["temporal_logits"] if config.fusion.keep_temporal else []), tasks),
    initialise=_amplified_initialise,
    describe=_amplified_describe,
))


def _m_fusion_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.amplification import M_FUSION_POINTS, build_m_fusion

    _one_snippet(config)
    f = config.fusion
    if f.layer not in M_FUSION_POINTS:
        raise ValueError(f"fusion.layer={f.layer!r}: m_fusion fuses at one of {M_FUSION_POINTS}")
    return build_m_fusion(*_towers(config), num_classes=num_classes, fusion_layer=f.layer, combine=f.combine,
                          train_from_fusion=f.train_from_fusion)


def _m_fusion_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    from tfx_models.amplification import initialise_copies

    return _fusion_initialise(model, config) + initialise_copies(model)


def _m_fusion_describe(run_info: dict) -> str:
    fusion = run_info.get("fusion") or {}
    text = f"product at {fusion.get('layer', '?')}"
    return text + (", averaged with both streams" if fusion.get("combine") else "")


register(ModelKind(
    name="m_fusion",
    streams=lambda config: ("spatial", "temporal"),
    build=_m_fusion_build,
    loss=lambda config, tasks: _heads_loss(
        ["logits"] + (["spatial_logits", "temporal_logits"] if config.fusion.combine else []), tasks),
    initialise=_m_fusion_initialise,
    describe=_m_fusion_describe,
))


# siamese: one tower on two views, contrastive loss plus softmax (multi-view) ----

def _siamese_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.siamese import build_from_config

    return build_from_config(config, num_classes)


def _siamese_inference(model: keras.Model, config: ExperimentConfig) -> keras.Model:
    from tfx_models.siamese import branch_of

    return branch_of(model, config)


def _siamese_dataset(config: ExperimentConfig):
    from tfx_models.siamese import pair_dataset_fn

    return pair_dataset_fn(config)


register(ModelKind(
    name="siamese",
    streams=lambda config: ("spatial",),
    build=_siamese_build,
    loss=lambda config, tasks: siamese_loss(config.siamese.margin, config.siamese.weight),
    inference=_siamese_inference,
    serving_streams=lambda config: ("spatial",),
    dataset=_siamese_dataset,
))


# s3d: a 3D ConvNet on one stream's clips (S3D-G, or an inflated CNN-M): the D3D teacher on flow,
# and on RGB the student trained without distillation -------------------------------------------

def _clip_build(config: ExperimentConfig, num_classes: dict[str, int], *, stream: str | None = None,
                name: str | None = None, architecture: str | None = None, width: float | None = None,
                dropout: float | None = None) -> keras.Model:
    from tfx_models.clip_models import build_clip_model

    d, m = config.data, config.model
    return build_clip_model(architecture=architecture or m.architecture, stream=stream or d.stream,
                            num_classes=num_classes, crop_size=d.crop_size, length=d.length, frames=d.snippets,
                            width=m.width if width is None else width, dropout=m.dropout if dropout is None else dropout,
                            flow_scale=m.flow_scale, time_kernel=config.distill.time_kernel, name=name)


def _clip_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """An i3d_cnn_m clip model starts from the trained 2D run named by distill.inflate_run, inflated."""
    from tfx_models.clip_models import inflate_from_run

    run_dir = config.distill.inflate_run
    return [f"inflated:{name}" for name in inflate_from_run(model, run_dir)] if run_dir else []


def _clip_describe(run_info: dict) -> str:
    """e.g. 'RGB clips T=8, s3d_g, distilled (kl, lambda 1, tau 2)' or 'flow clips T=8, s3d_g'."""
    streams = run_info.get("streams") or [run_info.get("stream")]
    label = f"{'RGB' if streams == ['spatial'] else 'flow'} clips T={run_info.get('snippets')}, " \
            f"{run_info.get('architecture')}"
    distill = run_info.get("distill") or {}
    if run_info.get("kind") == "d3d" and distill:
        soft = f", tau {distill['temperature']:g}" if distill.get("loss") == "kl" else ""
        label += f", distilled ({distill['loss']}, lambda {distill['weight']:g}{soft})"
    return label


register(ModelKind(
    name="s3d",
    streams=lambda config: (config.data.stream,),
    build=_clip_build,
    loss=lambda config, tasks: classification_loss(tasks),
    initialise=_clip_initialise,
    describe=_clip_describe,
))


# d3d: the RGB clip student distilled from a frozen flow teacher (Stroud et al. 2020) ---------------

# Teacher run settings that must equal the d3d run's, or the teacher would see other inputs than it learnt on.
TEACHER_SETTINGS = ("crop_size", "length", "stacking", "bidirectional", "mean_subtraction")


def _d3d_build(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    from tfx_models.distillation import build_d3d
    from tfx_models.models import build_model

    d, m, k = config.data, config.model, config.distill
    with keras.name_scope("student"):
        student = _clip_build(config, num_classes, stream="spatial", name="student")
    with keras.name_scope("teacher"):
        if k.teacher_architecture == "cnn_m_2048":  # a 2D temporal stream, run on every snippet
            teacher = build_model(stream="temporal", num_classes=num_classes, crop_size=d.crop_size, length=d.length,
                                  width=k.teacher_width, dropout=0.0, flow_scale=m.flow_scale, name="teacher")
        else:
            teacher = _clip_build(config, num_classes, stream="temporal", name="teacher",
                                  architecture=k.teacher_architecture, width=k.teacher_width, dropout=0.0)
    return build_d3d(student, teacher)


def _d3d_initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """Loads the trained teacher run (distill.teacher_run) into the frozen teacher, after checking it
    was trained on the inputs the d3d run will feed it; an i3d student is inflated from distill.inflate_run."""
    from tfx_models.clip_models import copy_weights
    from tfx_models.runs import load_model_from_run, read_config

    k = config.distill
    loaded = [f"student:{name}" for name in _clip_initialise(model.get_layer("student"), config)]
    if not k.teacher_run:
        raise ValueError("distill.teacher_run is not set: D3D distils a trained teacher; train one "
                         "(model.kind=s3d, data.stream=temporal) and pass its run dir")
    teacher_model, info = load_model_from_run(k.teacher_run)
    teacher_config = read_config(k.teacher_run)
    wanted = {"streams": ["temporal"], "architecture": k.teacher_architecture}
    wanted.update({key: getattr(config.data, key) for key in TEACHER_SETTINGS})
    if k.teacher_architecture != "cnn_m_2048":
        wanted["snippets"] = config.data.snippets
    found = {key: info.get(key) for key in wanted}
    found["streams"] = info.get("streams") or [info.get("stream")]
    if teacher_config.model.width != k.teacher_width:
        wanted["width"], found["width"] = k.teacher_width, teacher_config.model.width
    if teacher_config.model.flow_scale != config.model.flow_scale:
        wanted["flow_scale"], found["flow_scale"] = config.model.flow_scale, teacher_config.model.flow_scale
    differ = {key: (found.get(key), value) for key, value in wanted.items() if found.get(key) != value}
    if differ:
        raise ValueError(f"distill.teacher_run={k.teacher_run}: the teacher run does not fit this d3d config: "
                         + ", ".join(f"{key} is {got!r}, needs {need!r}" for key, (got, need) in differ.items()))
    return loaded + [f"teacher:{name}" for name in copy_weights(teacher_model, model.get_layer("teacher"))]


def _d3d_loss(config: ExperimentConfig, tasks: list[str]) -> LossFn:
    from tfx_models.distillation import distillation_loss

    k = config.distill
    return distillation_loss(tasks, form=k.loss, weight=k.weight, temperature=k.temperature)


register(ModelKind(
    name="d3d",
    streams=lambda config: ("spatial", "temporal"),
    build=_d3d_build,
    loss=_d3d_loss,
    initialise=_d3d_initialise,
    inference=lambda model, config: model.get_layer("student"),
    serving_streams=lambda config: ("spatial",),
    describe=_clip_describe,
))
