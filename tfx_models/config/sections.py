"""The sections of an ExperimentConfig: typed dataclasses, one per stage or model family.

The config is a leaf: it imports nothing of tfx_models, so every stage can read
it. Values only a model kind can judge (fusion types, gates, distillation
losses) are checked by that kind (tfx_models/kinds/), not here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ARCHITECTURES = ("cnn_m_2048", "vgg16", "resnet50")
# 3D ConvNets on clips of data.snippets frames (kinds s3d and d3d; tfx_models.kinds.clip).
CLIP_ARCHITECTURES = ("s3d_g", "i3d_cnn_m")
STRATEGIES = ("default", "mirrored", "multi_worker")
INITS = ("glorot_uniform", "he_normal")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")

# Flow (pixels, mean-subtracted) times this is what a temporal tower sees. Keras's
# initialisers assume inputs of about unit variance; on the demo's records the flow input's
# standard deviation is 0.12 at the former 0.2 and 0.60 at 1.0 (results.activation_scale).
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
    # Cross-fitting (tfx_models.data.folds): with folds >= 2, train without the groups of
    # holdout_fold, so evaluate can score them out of fold for the late-fusion SVM.
    folds: int = 0
    holdout_fold: int = 0
    # Table 2's "+ UCF-101 classes": record dirs whose training videos of classes the first task
    # lacks (names compared without case and punctuation) join its training set as extra classes.
    extra_records: tuple[str, ...] = ()
    # Decode every training video once and hold its frames in memory (uint8) rather than
    # decoding a sample's JPEGs each time it is drawn: for training sets that fit in RAM.
    cache_decoded: bool = False
    # Start-of-run checks of the record sets (tfx_models.data.damage): sizes against
    # dataset_info.json always; verify=True also reads every shard (CRC32C and record framing).
    verify: bool = False
    # Skip damaged training records instead of stopping. Off by default: a training set that
    # silently shrinks changes results. On, every training shard is read once at the start so
    # the records lost are counted (a reader cannot resync after a bad record: the rest of its
    # shard is lost), and the run stops if they exceed max_corrupt_share of the training set.
    skip_corrupt: bool = False
    max_corrupt_share: float = 0.01


@dataclass
class ModelConfig:
    # What is built, trained, evaluated and served: a kind registered in tfx_models/kinds/ (tfx_models.registry).
    kind: str = "stream"
    architecture: str = "cnn_m_2048"
    width: float = 1.0  # multiplies conv filters and fc units (CNN-M) for small machines
    dropout: float = 0.5  # Table 1: 0.5 or 0.9
    weights: str | None = None  # None (from scratch), "imagenet", or a local .h5/.weights.h5
    train_tower: bool = True  # False: only the last layer is trained (Table 1a)
    flow_scale: float = FLOW_SCALE  # flow input multiplier (pixels -> about unit range)
    # CNN-M's conv and fc kernels from scratch: "glorot_uniform" (Keras's default) or
    # "he_normal" (He et al. 2015, which keeps a ReLU net's activations from shrinking layer
    # by layer; docs/two_stream.md, "A temporal stream that learns motion", measures why it matters).
    init: str = "glorot_uniform"
    # A trained run of the same stream and architecture whose tower initialises this one; the
    # heads start afresh (Table 2: fine-tuned from another dataset's net). Clip models (s3d, and
    # d3d's student) copy the whole run, heads included: distillation from a trained student.
    init_run: str | None = None


@dataclass
class FusionConfig:
    """The two-tower kinds' section: where and how conv_fusion fuses the towers (Feichtenhofer et al.
    2016), and what every two-tower kind (conv_fusion, amplified, m_fusion) shares: the runs that
    initialise the towers, frozen trunks, keeping the temporal stream. The key stays `fusion` so
    old run directories load; fusion *layers* are tfx_models.layers.fusion, late fusion of two
    streams' scores is tfx_models.evaluation.late_fusion."""

    type: str = "conv"
    layer: str = "conv5"
    mode: str = "2d_conv_2d_pool"
    keep_temporal: bool = False  # the paper's final model: the temporal tower keeps its own loss
    train_from_fusion: bool = True  # freeze the towers up to the fusion point
    # "fixed": the fusion layer's fixed start (conv [I | I], 3D conv Gaussian * [0.25 I ; 0.75 I],
    # the plain product). "measured": from both towers' RMS at the fusion point on a training batch
    # once they are loaded, so each tower contributes equally and the fused map starts at the
    # scale the spatial layers after it were trained on (docs/conv_fusion.md, docs/amplification.md).
    init: str = "fixed"
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
    # tower's conv5 maps (tfx_models/kinds/amplification.py says exactly how each is normalised).
    gate: str = "flow"
    activation: str = "sigmoid"  # learned gate: a sigmoid per location, or a softmax over locations
    epsilon: float = 0.01  # added to the gate and to its mean (flow gate: in pixels); no motion -> gate 1


@dataclass
class SiameseConfig:
    """Pairs, embedding and contrastive loss of kind siamese (tfx_models.kinds.siamese, pair_sampler)."""

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
class FlowAuxConfig:
    """The auxiliary flow-prediction loss of kind d3d_aux (Stroud et al.'s alternative to distillation)."""

    layer: str = "mixed_3b"  # the hidden layer (a Keras layer name of the S3D-G tower) the decoder reads
    decoder: str = "conv"    # "conv", "pwc" or "linear" (tfx_models.backbones.flow_decoders)
    weight: float = 1.0      # lambda: loss = cross-entropy + lambda x end-point error to the clip's stored flow


@dataclass
class TrainConfig:
    steps: int = 80_000
    batch_size: int = 256  # global, across replicas and workers
    learning_rate: float = 1e-2
    # Fractions of `steps` at which the rate drops tenfold: 50K/80K, 70K/80K from scratch.
    lr_drops: tuple[float, ...] = (0.625, 0.875)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    precision: str = "float32"  # or mixed_bfloat16, mixed_float16, auto (timed: tfx_models.training.precision)
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
    flow_aux: FlowAuxConfig = field(default_factory=FlowAuxConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


