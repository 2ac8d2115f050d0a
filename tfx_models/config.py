"""Typed experiment configs: one ExperimentConfig per run, overridable from the command line.

Experiments live in tfx_models/experiments/<name>.py (a module-level CONFIG) or
.json; `--set section.key=value` overrides are type-checked against the
dataclass annotations so a typo fails before any training starts.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import types
import typing
from dataclasses import dataclass, field

STREAMS = ("spatial", "temporal")
FUSION_TYPES = ("sum", "max", "concat", "conv", "bilinear")
FUSION_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
FUSION_MODES = ("2d_conv_2d_pool", "2d_conv_3d_pool", "3d_conv_3d_pool")
GATES = ("flow", "learned")
GATE_ACTIVATIONS = ("sigmoid", "softmax")
ARCHITECTURES = ("cnn_m_2048", "vgg16", "resnet50")
# 3D ConvNets on clips of data.snippets frames (kinds s3d and d3d; tfx_models.clip_models).
CLIP_ARCHITECTURES = ("s3d_g", "i3d_cnn_m")
DISTILL_LOSSES = ("mse", "kl")
STACKINGS = ("optical_flow", "trajectory")
STRATEGIES = ("default", "mirrored", "multi_worker")
INITS = ("glorot_uniform", "he_normal")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")

# Flow (pixels, mean-subtracted) times this is what a temporal tower sees. Keras's
# initialisers assume inputs of about unit variance; on the demo's records the flow input's
# standard deviation is 0.12 at the former 0.2 and 0.60 at 1.0 (benchmarks.activation_scale).
FLOW_SCALE = 1.0


@dataclass
class DataConfig:
    """Where records come from and how samples are cut (Sect. 3, 5)."""

    records: tuple[str, ...] = ()  # one record dir per task; position = task index
    stream: str = "spatial"
    crop_size: int = 224
    length: int = 10  # L: flow fields per stack; the flow input has 2L channels
    stacking: str = "optical_flow"
    bidirectional: bool = False
    mean_subtraction: bool = True
    flip: bool = True
    color_jitter: bool = True
    # Models over T snippets (Feichtenhofer et al. 2016, Sect. 3.2): sample t, t+tau, ...,
    # tau drawn per sample from snippet_stride = (min, max) frames; testing uses their midpoint.
    snippets: int = 1
    snippet_stride: tuple[int, ...] = (5, 15)
    # Cross-fitting (tfx_models.folds): with folds >= 2, train without the groups of
    # holdout_fold, so evaluate can score them out of fold for the late-fusion SVM.
    folds: int = 0
    holdout_fold: int = 0
    # Table 2's "+ UCF-101 classes": record dirs whose training videos of classes the first task
    # lacks (names compared without case and punctuation) join its training set as extra classes.
    extra_records: tuple[str, ...] = ()
    # Decode every training video once and hold its frames in memory (uint8) rather than
    # decoding a sample's JPEGs each time it is drawn: for training sets that fit in RAM.
    cache_decoded: bool = False


@dataclass
class ModelConfig:
    # What is built, trained, evaluated and served: a key of tfx_models.model_kinds.KINDS.
    kind: str = "stream"
    architecture: str = "cnn_m_2048"
    width: float = 1.0  # multiplies conv filters and fc units (CNN-M) for small machines
    dropout: float = 0.5  # Table 1: 0.5 or 0.9
    weights: str | None = None  # None (from scratch), "imagenet", or a local .h5/.weights.h5
    train_tower: bool = True  # False: only the last layer is trained (Table 1a)
    flow_scale: float = FLOW_SCALE  # flow input multiplier (pixels -> about unit range)
    # CNN-M's conv and fc kernels from scratch: "glorot_uniform" (Keras's default) or
    # "he_normal" (He et al. 2015, which keeps a ReLU net's activations from shrinking layer
    # by layer; the README's "A temporal stream that learns motion" measures why it matters).
    init: str = "glorot_uniform"
    # A trained run of the same stream and architecture whose tower initialises this one; the
    # heads start afresh (Table 2: fine-tuned from another dataset's net).
    init_run: str | None = None


@dataclass
class FusionConfig:
    """Where and how two towers are fused (kind conv_fusion; Feichtenhofer et al. 2016)."""

    type: str = "conv"
    layer: str = "conv5"
    mode: str = "2d_conv_2d_pool"
    keep_temporal: bool = False  # the paper's final model: the temporal tower keeps its own loss
    train_from_fusion: bool = True  # freeze the towers up to the fusion point
    # Trained single-stream run dirs whose weights initialise the towers (the paper fuses
    # pre-trained streams); None starts that tower from scratch.
    spatial_run: str | None = None
    temporal_run: str | None = None
    # Kind m_fusion (Park et al. 2016): the prediction averages the spatial, the temporal and
    # the m-fusion head's softmax (the combination with the additive baseline); each stream
    # then keeps its own head and loss, as keep_temporal does here.
    combine: bool = False


@dataclass
class AmplificationConfig:
    """The gate of kind `amplified` (Park et al. 2016) on the spatial tower's conv5 maps.

    Its own section rather than FusionConfig keys: a gate is not a fusion of two towers'
    features (the flow gate has no temporal tower at all). What amplification shares with
    fusion (the runs that initialise the towers, frozen trunks, keeping the temporal stream
    beside it) stays in FusionConfig: spatial_run, temporal_run, train_from_fusion,
    keep_temporal.
    """

    # "flow": hand-crafted from the input flow stack; "learned": a 1x1 conv on the temporal
    # tower's conv5 maps (tfx_models/amplification.py says exactly how each is normalised).
    gate: str = "flow"
    activation: str = "sigmoid"  # learned gate: a sigmoid per location, or a softmax over locations
    epsilon: float = 0.01  # added to the gate and to its mean (flow gate: in pixels); no motion -> gate 1


@dataclass
class SiameseConfig:
    """Pairs, embedding and contrastive loss of kind siamese (tfx_models.siamese, pair_sampler)."""

    margin: float = 1.0          # m: dissimilar pairs are pushed at least this far apart
    weight: float = 1.0          # contrastive loss weight beside the two softmax losses
    ratio: float = 20.0          # dissimilar pairs per similar pair (the report used 1:20)
    frame_step: int = 10         # pairs draw frames 0, step, 2*step, ... of each video
    labelled_views: tuple[int, ...] = (0, 1)  # views whose labels reach the softmax loss
    projection: int = 0          # >0: a linear projection of fc7 to this size is the embedding


@dataclass
class DistillConfig:
    """3D clip models and distillation from a flow teacher (kinds s3d and d3d; Stroud et al. 2020)."""

    # Trained teacher run dir (kind s3d on flow, or a 2D temporal stream); its weights load into the
    # frozen teacher when a d3d run starts.
    teacher_run: str | None = None
    teacher_architecture: str = "s3d_g"  # a clip architecture, or cnn_m_2048 (2D stream, averaged over T)
    teacher_width: float = 1.0
    loss: str = "mse"  # "mse" between logits (the D3D form) or "kl" at temperature (Hinton et al. 2015)
    weight: float = 1.0  # lambda; a student without distillation is kind s3d on RGB (no teacher at all)
    temperature: float = 1.0  # tau of "kl" (the term is multiplied by tau^2)
    time_kernel: int = 3  # i3d_cnn_m: frames each 2D kernel is inflated over
    inflate_run: str | None = None  # i3d_cnn_m: a trained 2D stream run whose tower is inflated


@dataclass
class TrainConfig:
    steps: int = 80_000
    batch_size: int = 256  # global, across replicas and workers
    learning_rate: float = 1e-2
    # Fractions of `steps` at which the rate drops tenfold: 50K/80K, 70K/80K from scratch.
    lr_drops: tuple[float, ...] = (0.625, 0.875)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    precision: str = "float32"
    strategy: str = "default"
    logical_cpus: int = 0  # >1 splits the CPU into logical devices (MirroredStrategy on CPU)
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 50
    seed: int = 0


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    amplification: AmplificationConfig = field(default_factory=AmplificationConfig)
    siamese: SiameseConfig = field(default_factory=SiameseConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"config {key}={value!r}: must be one of {list(allowed)}")


def validate(config: ExperimentConfig) -> ExperimentConfig:
    """Checks values that types alone cannot; errors name the key."""
    d, m, t, f, a = config.data, config.model, config.train, config.fusion, config.amplification
    from tfx_models.model_kinds import KINDS  # the registry imports the builders, which import this

    _choice("model.kind", m.kind, sorted(KINDS))
    _choice("fusion.type", f.type, FUSION_TYPES)
    _choice("fusion.layer", f.layer, FUSION_LAYERS)
    _choice("fusion.mode", f.mode, FUSION_MODES)
    _choice("amplification.gate", a.gate, GATES)
    _choice("amplification.activation", a.activation, GATE_ACTIVATIONS)
    _choice("data.stream", d.stream, STREAMS)
    _choice("data.stacking", d.stacking, STACKINGS)
    _choice("model.architecture", m.architecture, ARCHITECTURES + CLIP_ARCHITECTURES)
    _choice("model.init", m.init, INITS)
    k = config.distill
    _choice("distill.loss", k.loss, DISTILL_LOSSES)
    _choice("distill.teacher_architecture", k.teacher_architecture, CLIP_ARCHITECTURES + ("cnn_m_2048",))
    if k.weight <= 0:
        raise ValueError(f"config distill.weight={k.weight!r}: must be > 0; a student without distillation "
                         "is model.kind=s3d on data.stream=spatial (no teacher is built)")
    if k.temperature <= 0 or k.teacher_width <= 0:
        raise ValueError("config distill.temperature and distill.teacher_width: must be > 0")
    if k.time_kernel < 1 or k.time_kernel % 2 == 0:
        raise ValueError(f"config distill.time_kernel={k.time_kernel!r}: an odd number of frames >= 1")
    if m.architecture in CLIP_ARCHITECTURES and d.snippets < 2:
        raise ValueError(f"config data.snippets={d.snippets}: model.architecture={m.architecture!r} reads clips "
                         "of T >= 2 frames")
    _choice("train.strategy", t.strategy, STRATEGIES)
    _choice("train.precision", t.precision, PRECISIONS)
    positive = {"data.crop_size": d.crop_size, "data.length": d.length, "model.width": m.width,
                "train.steps": t.steps, "train.batch_size": t.batch_size,
                "train.learning_rate": t.learning_rate, "train.checkpoint_every": t.checkpoint_every,
                "train.keep_checkpoints": t.keep_checkpoints, "train.log_every": t.log_every,
                "model.flow_scale": m.flow_scale, "data.snippets": d.snippets,
                "amplification.epsilon": a.epsilon}
    for key, value in positive.items():
        if value <= 0:
            raise ValueError(f"config {key}={value!r}: must be > 0")
    if not 0.0 <= m.dropout < 1.0:
        raise ValueError(f"config model.dropout={m.dropout!r}: must be in [0, 1)")
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
    s = config.siamese
    for key, value in {"siamese.margin": s.margin, "siamese.ratio": s.ratio, "siamese.frame_step": s.frame_step}.items():
        if value <= 0:
            raise ValueError(f"config {key}={value!r}: must be > 0")
    for key, value in {"siamese.weight": s.weight, "siamese.projection": s.projection,
                       "siamese.labelled_views": min(s.labelled_views, default=0)}.items():
        if value < 0:
            raise ValueError(f"config {key}={getattr(s, key.split('.')[1])!r}: must be >= 0")
    if not m.train_tower and m.weights is None:
        raise ValueError("config model.train_tower=False trains only the last layer: "
                         "it needs pre-trained model.weights")
    return config


# Conversions --------------------------------------------------------------

def _section_types(cls) -> dict:
    return typing.get_type_hints(cls)


def _convert(key: str, text: str, annotation):
    """Parses one --set value into the annotated type, naming the key on failure."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if text.lower() in ("none", "null", ""):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _convert(key, text, inner[0])
    if origin is tuple:
        parts = [p for p in text.split(",") if p.strip()]
        return tuple(_convert(key, p.strip(), args[0]) for p in parts)
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"--set {key}={text!r}: expected a bool (true/false)")
    try:
        return annotation(text)
    except ValueError:
        raise ValueError(f"--set {key}={text!r}: expected {annotation.__name__}") from None


def _check_value(key: str, value, annotation):
    """Type check for values from JSON/Python files (lists become tuples)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        return _check_value(key, value, [a for a in args if a is not type(None)][0])
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError(f"config {key}: expected a list, got {value!r}")
        return tuple(_check_value(key, v, args[0]) for v in value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise TypeError(f"config {key}: expected {annotation.__name__}, got {value!r}")
    return value


SECTIONS = {"data": DataConfig, "model": ModelConfig, "fusion": FusionConfig,
            "amplification": AmplificationConfig, "siamese": SiameseConfig, "distill": DistillConfig, "train": TrainConfig}


def from_dict(raw: dict, source: str = "config") -> ExperimentConfig:
    unknown = set(raw) - {"name", *SECTIONS}
    if unknown:
        raise ValueError(f"{source}: unknown sections {sorted(unknown)}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = dict(raw.get(name, {}))
        hints = _section_types(cls)
        bad = set(values) - set(hints)
        if bad:
            raise ValueError(f"{source}: unknown keys {sorted(f'{name}.{k}' for k in bad)}")
        sections[name] = cls(**{k: _check_value(f"{name}.{k}", v, hints[k]) for k, v in values.items()})
    return validate(ExperimentConfig(name=str(raw.get("name", "experiment")), **sections))


def to_dict(config: ExperimentConfig) -> dict:
    return dataclasses.asdict(config)


def override(config: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Applies 'section.key=value' strings; unknown keys and bad values name the key."""
    raw = to_dict(config)
    for assignment in assignments:
        if "=" not in assignment:
            raise ValueError(f"--set {assignment!r}: expected section.key=value")
        key, text = assignment.split("=", 1)
        section, _, name = key.strip().partition(".")
        if key.strip() == "name":
            raw["name"] = text
            continue
        if section not in SECTIONS or name not in _section_types(SECTIONS[section]):
            valid = sorted(f"{s}.{k}" for s, c in SECTIONS.items() for k in _section_types(c))
            raise ValueError(f"--set {key}: unknown key; valid keys: {', '.join(valid)}")
        raw[section][name] = _convert(key, text, _section_types(SECTIONS[section])[name])
    return from_dict(raw, "--set")


def load_experiment(path: str) -> ExperimentConfig:
    """An experiment file: a .py with a module-level CONFIG, or a .json dict."""
    if path.endswith(".json"):
        with open(path) as f:
            return from_dict(json.load(f), path)
    if not path.endswith(".py"):
        raise ValueError(f"{path}: experiment files are .py (defining CONFIG) or .json")
    spec = importlib.util.spec_from_file_location("_experiment", path)
    if spec is None:
        raise FileNotFoundError(f"{path}: no such experiment file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such experiment file") from None
    config = getattr(module, "CONFIG", None)
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"{path}: must define CONFIG = ExperimentConfig(...)")
    # Round-trip through the checks so a hand-written file gets the same validation.
    return from_dict(to_dict(config), path)
