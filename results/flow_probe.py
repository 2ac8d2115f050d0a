"""Does a trained RGB 3D net represent motion? Train a flow decoder on one hidden layer and score it.

    python -m results.flow_probe --run RUN --layer mixed_3b --design conv|pwc|linear [--finetune] \\
        --records R --truth SYNTH/groundtruth/ucf101 --out OUT

Stroud et al. (2020, Sect. 5) read optical flow out of a hidden layer of S3D-G and of D3D with small
decoders that have no temporal filters; lower error means more motion in the layer. The decoder
(tfx_models.backbones.flow_decoders) trains on the train split's clips against the records' stored
flow, with the backbone frozen (default) or fine-tuned; on the test split's clips it is scored by
end-point error at the layer's grid against the stored flow and, where the benchmark's render is
given, against its ground-truth flow over the valid mask. Clips are the run's (T frames at its
stride), centre-cropped at its crop size; a hidden step's target is the field of its first frame.
--pan remove trains and scores on each step's flow less its mean displacement (the camera's pan,
which dominates the benchmark's EPE), so that what is scored is the objects' own motion.
Writes OUT/probe.json and OUT/examples.npz (a few test clips: frame, true, stored and decoded flow at
the layer's grid) for results.flow_probe_picture.
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import keras
import numpy as np
import tensorflow as tf

from media.shards import iter_records
from tfx_models import kinds, runs
from tfx_models.backbones.flow_decoders import DESIGNS, build_flow_decoder, hidden_layer
from tfx_models.data.test_clips import lazy_video
from tfx_models.layers.flow import FlowAtLayer, resize_valid
from tfx_models.losses import end_point_error


def video_clips(frames, flow, *, snippets: int, stride: int, crop: int, clips: int):
    """Up to `clips` evenly spread (start, rgb [T,c,c,3], stored flow [T,c,c,2], crop corner) of one video."""
    span = (snippets - 1) * stride + 1
    last = min(len(frames), len(flow)) - span
    if last < 0:
        return []
    out = []
    for start in sorted({int(round(s)) for s in np.linspace(0, last, clips)}):
        index = range(start, start + span, stride)
        height, width = frames[start].shape[:2]
        top, left = (height - crop) // 2, (width - crop) // 2
        window = (slice(top, top + crop), slice(left, left + crop))
        out.append((list(index), np.stack([frames[i][window] for i in index]).astype(np.float32),
                    np.stack([flow[i][window] for i in index]).astype(np.float32), window))
    return out


def load_split(records: str, subset: str, truth_dir: str | None, **clip_args):
    """rgb [M,T,c,c,3], stored flow [M,T,c,c,2] and, with truth_dir, true flow and valid mask of the clips."""
    rgb, stored, true, valid = [], [], [], []
    for serialized in iter_records(records, subset):
        context, frames, flow, _ = lazy_video(serialized, records)
        truth = None
        if truth_dir:
            stem = os.path.splitext(os.path.basename(context["id"]))[0]
            with np.load(os.path.join(truth_dir, stem + ".npz")) as npz:
                truth = npz["flow"].astype(np.float32), npz["valid"]
            if truth[0].shape[1:3] != frames[0].shape[:2]:
                raise ValueError(f"{context['id']}: truth {truth[0].shape[1:3]} but frames {frames[0].shape[:2]}: "
                                 "ingest at the rendered size")
        for index, clip_rgb, clip_flow, window in video_clips(frames, flow, **clip_args):
            if truth is not None and index[-1] >= len(truth[0]):
                continue
            rgb.append(clip_rgb)
            stored.append(clip_flow)
            if truth is not None:
                true.append(np.stack([truth[0][i][window] for i in index]))
                valid.append(np.stack([truth[1][i][window] for i in index]))
    split = {"rgb": np.stack(rgb), "stored": np.stack(stored)}
    if truth_dir:
        split.update(true=np.stack(true), valid=np.stack(valid))
    return split


def without_pan(flow: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Flow [N,t,h,w,2] less each step's mean displacement over its (valid) pixels: the camera's pan,
    which dominates the benchmark's EPE, leaving the objects' own motion."""
    weight = np.ones(flow.shape[:-1], np.float32) if valid is None else valid.astype(np.float32)
    mean = (flow * weight[..., None]).sum(axis=(2, 3), keepdims=True) / np.maximum(
        weight.sum(axis=(2, 3), keepdims=True)[..., None], 1.0)
    return flow - mean


def probe(run: str, layer: str, design: str, finetune: bool, records: str, truth_dir: str | None, *,
          steps: int, batch_size: int, learning_rate: float, clips: int, seed: int,
          pan: str = "keep") -> tuple[dict, dict]:
    keras.utils.set_random_seed(seed)
    model, info = runs.load_model_from_run(run)
    if list(model.input) != ["rgb"]:
        raise ValueError(f"--run {run}: the probe reads RGB clip models, this one reads {list(model.input)}")
    tower = next(l for l in model.layers if isinstance(l, keras.Model))
    hidden = hidden_layer(tower, layer)
    hidden.trainable = finetune
    decoder = build_flow_decoder(tuple(hidden.output.shape[1:]), design, width=0.25)
    rgb = keras.Input(tuple(tower.input.shape[1:]), name="rgb")
    net = keras.Model(rgb, decoder(hidden(rgb, training=finetune))["flow"], name="flow_probe")
    frames, grid = hidden.output.shape[1], tuple(hidden.output.shape[2:4])
    at_layer = FlowAtLayer(frames, grid)
    clip_args = dict(snippets=info["snippets"], stride=info["snippet_stride"][0], crop=info["crop_size"], clips=clips)
    train_split = load_split(records, "train", None, **clip_args)
    test = load_split(records, "test", truth_dir, **clip_args)

    def move(flow, valid=None):  # the targets and the truth, with or without the pan
        return without_pan(flow, valid) if pan == "remove" else flow

    train_target = move(at_layer(train_split["stored"]).numpy())
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(end_point_error(net(x, training=True), y))
        optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        pick = rng.choice(len(train_target), batch_size, replace=False)
        loss = step(train_split["rgb"][pick], train_target[pick])
    decoded = np.concatenate([net(test["rgb"][i:i + 16], training=False).numpy()
                              for i in range(0, len(test["rgb"]), 16)])
    stored = move(at_layer(test["stored"]).numpy())
    describe = kinds.get(info["kind"]).describe
    report = {"run": run, "model": describe(info) if describe else info["kind"], "layer": layer, "design": design,
              "backbone": "fine-tuned" if finetune else "frozen", "grid": [frames, *grid], "steps": steps, "pan": pan,
              "train_clips": len(train_target), "test_clips": len(decoded), "final_train_epe": float(loss),
              "epe_stored": float(np.mean(end_point_error(decoded, stored))),
              "epe_stored_zero_flow": float(np.mean(end_point_error(np.zeros_like(stored), stored)))}
    examples = {"frames": test["rgb"][:, ::info["snippets"] // frames][:, :frames], "stored": stored,
                "decoded": decoded}
    if truth_dir:
        valid = resize_valid(test["valid"][:, ::info["snippets"] // frames][:, :frames], grid).numpy()
        true = move(at_layer(test["true"]).numpy(), valid)
        report["epe_true"] = float(np.mean(end_point_error(decoded, true, valid)))
        report["epe_true_zero_flow"] = float(np.mean(end_point_error(np.zeros_like(true), true, valid)))
        report["epe_stored_vs_true"] = float(np.mean(end_point_error(stored, true, valid)))
        examples.update(true=true, valid=valid)
    return report, examples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a trained RGB clip run (kind s3d on RGB, d3d, d3d_aux)")
    parser.add_argument("--layer", default="mixed_3b", help="a 5-D layer of the S3D-G tower")
    parser.add_argument("--design", choices=DESIGNS, default="conv")
    parser.add_argument("--finetune", action="store_true", help="train the backbone up to the layer too")
    parser.add_argument("--records", required=True)
    parser.add_argument("--truth", help="the benchmark's ground truth dir, e.g. SYNTH/groundtruth/ucf101")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--clips", type=int, default=2, help="clips per video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pan", choices=("keep", "remove"), default="keep",
                        help="remove: train and score on flow less each step's mean (the camera's pan)")
    args = cli.add_flags(parser).parse_args(argv)
    report, examples = probe(args.run, args.layer, args.design, args.finetune, args.records, args.truth,
                             steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
                             clips=args.clips, seed=args.seed, pan=args.pan)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "probe.json"), "w") as f:
        json.dump(report, f, indent=2)
    np.savez_compressed(os.path.join(args.out, "examples.npz"), **{k: v[:8] for k, v in examples.items()})
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
