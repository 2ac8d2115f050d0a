"""Kind `d3d_aux`: an RGB S3D-G student trained to predict optical flow beside the action.

Stroud et al. (2020) compare distillation with this alternative: one network, two objectives,
the action loss plus directly predicting the low-level flow from a hidden layer. Training model:
{"rgb": [N,T,c,c,3], "flow": [N,T,c,c,2]} (the joint sampler's clip, length 1) -> the student's heads
plus "flow_decoded" (a flow decoder on flow_aux.layer, tfx_models.backbones.flow_decoders) and
"flow_target" (the clip's stored flow at that layer's grid, tfx_models.layers.flow.FlowAtLayer).
Loss = cross-entropy + flow_aux.weight x end-point error. The inference model is the student's
heads on `rgb` alone, as D3D's: no decoder, no flow input, nothing of the auxiliary task is served.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfx_models.backbones.flow_decoders import DESIGNS, build_flow_decoder
from tfx_models.config import ExperimentConfig
from tfx_models.config.checks import choice
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.heads import classifier_heads
from tfx_models.kinds import clip
from tfx_models.layers.flow import FlowAtLayer
from tfx_models.losses import LossFn, classification_loss, end_point_error
from tfx_models.registry import ModelKind, register


def build_aux(config: ExperimentConfig, num_classes: dict[str, int]) -> keras.Model:
    d, m, f = config.data, config.model, config.flow_aux
    shape = clip.clip_input_shape("spatial", d.crop_size, 1, d.snippets)
    tower = clip.build_clip_tower(m.architecture, shape, stream="spatial", width=m.width, dropout=m.dropout,
                                  flow_scale=m.flow_scale, time_kernel=config.distill.time_kernel)
    hidden = tower.get_layer(f.layer).output
    if len(hidden.shape) != 5:
        raise ValueError(f"config flow_aux.layer={f.layer!r}: gives {tuple(hidden.shape)}, not a clip [N,t,h,w,C]")
    trunk = keras.Model(tower.input, {"features": tower.output["features"], "hidden": hidden}, name="tower")
    rgb = keras.Input(shape, name="rgb")
    ends = trunk(rgb)
    heads = classifier_heads({"": ends["features"]}, num_classes)
    student = keras.Model({"rgb": rgb}, {**heads, "hidden": ends["hidden"]}, name="student")
    rgb_in = keras.Input(shape, name="rgb")
    flow_in = keras.Input((d.snippets, d.crop_size, d.crop_size, 2), name="flow")
    out = student({"rgb": rgb_in})
    decoder = build_flow_decoder(tuple(hidden.shape[1:]), f.decoder, width=m.width)
    outputs = {key: value for key, value in out.items() if key != "hidden"}
    outputs["flow_decoded"] = decoder(out["hidden"])["flow"]
    outputs["flow_target"] = FlowAtLayer(hidden.shape[1], tuple(hidden.shape[2:4]), name="flow_target")(flow_in)
    return keras.Model({"rgb": rgb_in, "flow": flow_in}, outputs, name="d3d_aux")


def student_of(model: keras.Model, config: ExperimentConfig) -> keras.Model:
    """The served part: the student's heads on `rgb`, without the hidden output the decoder reads."""
    student = model.get_layer("student")
    return keras.Model(student.input, {k: v for k, v in student.output.items() if k != "hidden"}, name="student")


def flow_prediction_loss(tasks: list[str], weight: float) -> LossFn:
    """Cross-entropy per head plus weight x the end-point error of the decoded flow to the target flow,
    averaged over the global batch; logs `flow_epe`."""
    classification = classification_loss(tasks)

    def loss_fn(outputs: dict, targets: dict, global_batch_size: int):
        total, logs = classification(outputs, targets, global_batch_size)
        per_example = end_point_error(outputs["flow_decoded"], outputs["flow_target"])
        total += weight * tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        logs["flow_epe"] = (tf.reduce_sum(per_example), tf.cast(tf.size(per_example), tf.float32))
        return total, logs

    return loss_fn


def describe(run_info: dict) -> str:
    """e.g. 'RGB clips T=8, s3d_g, flow prediction (conv on mixed_3b, lambda 1)'."""
    f = run_info.get("flow_aux") or {}
    return f"{clip.describe(run_info)}, flow prediction ({f.get('decoder')} on {f.get('layer')}, " \
           f"lambda {f.get('weight', 0):g})"


def validate(config: ExperimentConfig) -> None:
    """The student's clip settings (kind s3d's checks) and the flow_aux section."""
    clip.validate(config)
    f = config.flow_aux
    choice("flow_aux.decoder", f.decoder, DESIGNS)
    if f.weight <= 0:
        raise ValueError(f"config flow_aux.weight={f.weight!r}: must be > 0; a student without the flow task "
                         "is model.kind=s3d on data.stream=spatial")
    if config.data.length != 1:
        raise ValueError(f"config data.length={config.data.length}: the flow target is one field per frame (1)")


register(ModelKind(
    name="d3d_aux",
    streams=lambda config: ("spatial", "temporal"),
    build=build_aux,
    loss=lambda config, tasks: flow_prediction_loss(tasks, config.flow_aux.weight),
    test_sampler=record_test_inputs,
    validate=validate,
    initialise=clip.initialise,
    inference=student_of,
    serving_streams=lambda config: ("spatial",),
    describe=describe,
))
