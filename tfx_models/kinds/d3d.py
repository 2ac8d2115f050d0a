"""D3D: a 3D RGB student trained to reproduce a frozen flow teacher (Stroud et al., WACV 2020).

One Keras model holds both: the student (a clip model on `rgb`, sub-model
"student", built in the Keras name scope "student") and the teacher (on `flow`
of the same clip, sub-model "teacher", scope "teacher"), so checkpoint keys never
collide and one joint sample (same frames, crop and flip) feeds both. The
teacher is frozen: trainable=False (its batch norm runs in inference mode, its
variables are not among the trained ones; it is built without dropout) and
its outputs pass through tf.stop_gradient, so no gradient reaches it. Only the
student is evaluated, exported and served (model kind `d3d`'s inference model).

Teachers: a clip model on flow [T,c,c,2L] (the paper's: the same architecture as
the student, on one flow field per frame), or a 2D temporal stream on L-field
stacks run on each of the T snippets, its logits averaged over the clip.

Loss = cross-entropy(labels, student) + lambda * distance(student, teacher):
- "mse": the mean over classes of (z_s - z_t)^2 on logits (the D3D form), divided by
  1 + the variance of z_t over classes, so that its scale does not follow the teacher's;
- "kl": Hinton et al. (2015): tau^2 * KL(softmax(z_t / tau) || softmax(z_s / tau)),
  the tau^2 keeping the soft term's gradient scale independent of tau.
Both are averaged over the global batch.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfx_models import runs
from tfx_models.config import CLIP_ARCHITECTURES, ExperimentConfig
from tfx_models.config.checks import choice
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.kinds import clip
from tfx_models.kinds.two_stream import build_model
from tfx_models.layers.common import PACKAGE
from tfx_models.layers.time import BatchToTime, TimeAverage, TimeToBatch
from tfx_models.losses import LossFn, cross_entropy_heads
from tfx_models.registry import ModelKind, register

FORMS = ("mse", "kl")


@keras.saving.register_keras_serializable(package=PACKAGE)
class StopGradient(keras.layers.Layer):
    """tf.stop_gradient as a layer: the teacher's outputs are targets, not something to train."""

    def call(self, inputs):
        return tf.stop_gradient(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_d3d(student: keras.Model, teacher: keras.Model, *, name: str = "d3d") -> keras.Model:
    """{"rgb": [N,T,c,c,3], "flow": [N,T,c,c,2L]} -> the student's outputs plus "teacher_logits<s>" and
    "teacher_probabilities<s>" per head s. Freezes the teacher."""
    if (student.name, teacher.name) != ("student", "teacher"):
        raise ValueError(f"sub-models must be named 'student' and 'teacher', got {student.name!r}, {teacher.name!r}")
    teacher.trainable = False
    rgb_shape = tuple(student.input["rgb"].shape[1:])
    frames = rgb_shape[0]
    flow_shape = tuple(teacher.input["flow"].shape[1:])
    per_snippet = len(flow_shape) == 3  # a 2D temporal stream: run it on each snippet
    rgb = keras.Input(rgb_shape, name="rgb")
    flow = keras.Input((frames, *flow_shape) if per_snippet else flow_shape, name="flow")
    if flow.shape[1] != frames:
        raise ValueError(f"the teacher reads clips of {flow.shape[1]} frames, the student {frames}")
    student_out = student({"rgb": rgb})
    teacher_out = teacher({"flow": TimeToBatch(name="flow_snippets")(flow) if per_snippet else flow})
    outputs = dict(student_out)
    for key in [k for k in student_out if k.startswith("logits")]:
        if key not in teacher_out:
            raise ValueError(f"the teacher has no output {key!r} (heads {sorted(teacher_out)}): it must be "
                             "trained on the same tasks")
        logits = teacher_out[key]
        if per_snippet:
            logits = TimeAverage(dtype="float32", name=f"teacher_{key}_mean")(
                BatchToTime(frames, name=f"teacher_{key}_clip")(logits))
        suffix = key[len("logits"):]
        logits = outputs[f"teacher_{key}"] = StopGradient(dtype="float32", name=f"teacher_{key}")(logits)
        outputs[f"teacher_probabilities{suffix}"] = keras.layers.Softmax(
            dtype="float32", name=f"teacher_probabilities{suffix}")(logits)
    return keras.Model({"rgb": rgb, "flow": flow}, outputs, name=name)


def distance(student_logits: tf.Tensor, teacher_logits: tf.Tensor, form: str, temperature: float = 1.0) -> tf.Tensor:
    """Per-example distance [N] between logits [N,C] (see the module docstring)."""
    s = tf.cast(student_logits, tf.float32)
    t = tf.cast(teacher_logits, tf.float32)
    if form == "mse":
        # Divided by the teacher's logit variance over classes (+1): the term's gradient then
        # does not grow with the teacher's logit scale, which is what made raw MSE diverge
        # (a teacher whose batch norm statistics have not settled answers with logits in the
        # hundreds); lambda keeps one meaning whatever the teacher.
        return tf.reduce_mean(tf.square(s - t), axis=-1) / (tf.math.reduce_variance(t, axis=-1) + 1.0)
    if form == "kl":
        log_p_teacher = tf.nn.log_softmax(t / temperature, axis=-1)
        log_p_student = tf.nn.log_softmax(s / temperature, axis=-1)
        kl = tf.reduce_sum(tf.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)
        return temperature ** 2 * kl
    raise ValueError(f"distillation form must be one of {FORMS}, got {form!r}")


def distillation_loss(tasks: list[str], *, form: str, weight: float, temperature: float = 1.0) -> LossFn:
    """Cross-entropy per head plus weight x distance to the head's teacher logits (masked per task as
    cross_entropy_heads masks, averaged over the global batch); logs `distill<s>` beside loss/accuracy."""
    if form not in FORMS:
        raise ValueError(f"distillation form must be one of {FORMS}, got {form!r}")
    heads = {"logits": None} if len(tasks) == 1 else {f"logits_{t}": i for i, t in enumerate(tasks)}
    classification = cross_entropy_heads(heads)

    def loss_fn(outputs: dict, targets: dict, global_batch_size: int):
        total, logs = classification(outputs, targets, global_batch_size)
        for key, task in heads.items():
            per_example = distance(outputs[key], outputs[f"teacher_{key}"], form, temperature)
            if task is None:
                mask = tf.ones_like(per_example)
            else:
                mask = tf.cast(tf.equal(tf.cast(targets["task"], tf.int32), task), tf.float32)
            per_example *= mask
            total += weight * tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            logs[f"distill{key[len('logits'):]}"] = (tf.reduce_sum(per_example), tf.reduce_sum(mask))
        return total, logs

    return loss_fn


# Teacher run settings that must equal the d3d run's, or the teacher would see other inputs than it learnt on.
TEACHER_SETTINGS = ("crop_size", "length", "stacking", "bidirectional", "mean_subtraction")


def build_from_config(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:

    d, m, k = config.data, config.model, config.distill
    with keras.name_scope("student"):
        student = clip.build_from_config(config, num_classes, stream="spatial", name="student")
    with keras.name_scope("teacher"):
        if k.teacher_architecture == "cnn_m_2048":  # a 2D temporal stream, run on every snippet
            teacher = build_model(stream="temporal", num_classes=num_classes, crop_size=d.crop_size, length=d.length,
                                  width=k.teacher_width, dropout=0.0, flow_scale=m.flow_scale, name="teacher")
        else:
            teacher = clip.build_from_config(config, num_classes, stream="temporal", name="teacher",
                                             architecture=k.teacher_architecture, width=k.teacher_width, dropout=0.0)
    return build_d3d(student, teacher)


def initialise(model: keras.Model, config: ExperimentConfig) -> list[str]:
    """Loads the trained teacher run (distill.teacher_run) into the frozen teacher, after checking it
    was trained on the inputs the d3d run will feed it; an i3d student is inflated from distill.inflate_run."""
    k = config.distill
    loaded = [f"student:{name}" for name in clip.initialise(model.get_layer("student"), config)]
    if not k.teacher_run:
        raise ValueError("distill.teacher_run is not set: D3D distils a trained teacher; train one "
                         "(model.kind=s3d, data.stream=temporal) and pass its run dir")
    teacher_model, info = runs.load_model_from_run(k.teacher_run)
    teacher_config = runs.read_config(k.teacher_run)
    wanted = {"streams": ["temporal"], "architecture": k.teacher_architecture}
    wanted.update({key: getattr(config.data, key) for key in TEACHER_SETTINGS})
    if k.teacher_architecture != "cnn_m_2048":
        wanted["snippets"] = config.data.snippets
    found = {key: info.get(key) for key in wanted}
    found["streams"] = runs.streams_of(info)
    if teacher_config.model.width != k.teacher_width:
        wanted["width"], found["width"] = k.teacher_width, teacher_config.model.width
    if teacher_config.model.flow_scale != config.model.flow_scale:
        wanted["flow_scale"], found["flow_scale"] = config.model.flow_scale, teacher_config.model.flow_scale
    differ = {key: (found.get(key), value) for key, value in wanted.items() if found.get(key) != value}
    if differ:
        raise ValueError(f"distill.teacher_run={k.teacher_run}: the teacher run does not fit this d3d config: "
                         + ", ".join(f"{key} is {got!r}, needs {need!r}" for key, (got, need) in differ.items()))
    return loaded + [f"teacher:{name}" for name in clip.copy_weights(teacher_model, model.get_layer("teacher"))]


def loss(config: ExperimentConfig, tasks: list[str]) -> LossFn:

    k = config.distill
    return distillation_loss(tasks, form=k.loss, weight=k.weight, temperature=k.temperature)


def validate(config: ExperimentConfig) -> None:
    """The student's clip settings (kind s3d's checks), the teacher and the distillation term."""
    clip.validate(config)
    k = config.distill
    choice("distill.loss", k.loss, FORMS)
    choice("distill.teacher_architecture", k.teacher_architecture, CLIP_ARCHITECTURES + ("cnn_m_2048",))
    if k.weight <= 0:
        raise ValueError(f"config distill.weight={k.weight!r}: must be > 0; a student without distillation "
                         "is model.kind=s3d on data.stream=spatial (no teacher is built)")
    if k.temperature <= 0 or k.teacher_width <= 0:
        raise ValueError("config distill.temperature and distill.teacher_width: must be > 0")


register(ModelKind(
    name="d3d",
    streams=lambda config: ("spatial", "temporal"),
    build=build_from_config,
    loss=loss,
    test_sampler=record_test_inputs,
    validate=validate,
    initialise=initialise,
    inference=lambda model, config: model.get_layer("student"),
    serving_streams=lambda config: ("spatial",),
    describe=clip.describe,
))
