"""Benchmark the class design: which stream can tell which classes apart.

Trains two small CNNs on held-out-group splits of freshly rendered clips: a
spatial one on single frames and a temporal one on stacks of flow (true flow,
or flow estimated by media.flow from the frames) after mean-flow subtraction.
Motion-only classes should be near chance for the spatial net and well above
it for the temporal net; appearance-only classes the other way round.

    python -m beam_pipelines.synth.separability --profile tiny --groups 24
"""
from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np

from beam_pipelines.synth.render import FLOW_BOUND, PROFILES, render_clip
from media.flow import FlowEstimator, compute_flows

SUBSETS = {
    "motion_only": ("SwingBall", "BounceBall", "SpinBall", "ApproachBall", "RecedeBall"),
    "appearance_only": ("TossApple", "TossLemon", "TossPlum"),
}
STACK = 5  # flow pairs per temporal sample (the paper uses 10 on 25 fps video)


def samples(names, seed, profile, groups, per_clip, flow, rng):
    """Arrays (frames, flow stacks, labels, test mask); fold 1 groups are the test set."""
    estimator = None if flow == "truth" else FlowEstimator(flow)
    frames_out, stacks_out, labels, test = [], [], [], []
    for label, name in enumerate(names):
        for group in range(1, groups + 1):
            clip = render_clip(name, seed, group=group, profile=profile)
            fields = clip.flow if estimator is None else compute_flows(clip.frames, estimator)
            for start in rng.choice(len(fields) - STACK + 1, per_clip, replace=False):
                stack = fields[start:start + STACK]
                stack = stack - stack.mean(axis=(1, 2), keepdims=True)
                stacks_out.append(np.concatenate(list(stack), axis=-1) / FLOW_BOUND)
                frames_out.append(clip.frames[start + STACK // 2] / 255.0)
                labels.append(label)
                test.append(group <= groups // 3)
    return (np.array(frames_out, np.float32), np.array(stacks_out, np.float32), np.array(labels),
            np.array(test))


def small_cnn(shape, classes, name):
    inputs = keras.Input(shape=shape, name=f"{name}_input")
    x = inputs
    for width, stride in ((16, 2), (32, 2), (64, 1)):
        x = keras.layers.Conv2D(width, 3, strides=stride, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def accuracy(inputs, labels, test, classes, name, epochs, seed):
    keras.utils.set_random_seed(seed)
    model = small_cnn(inputs.shape[1:], classes, name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(inputs[~test], labels[~test], epochs=epochs, batch_size=32, verbose=0)
    return float(model.evaluate(inputs[test], labels[test], verbose=0)[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.synth.separability",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny", choices=sorted(PROFILES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--groups", type=int, default=24, help="groups (clips) per class; a third are tested")
    parser.add_argument("--per-clip", type=int, default=4, help="samples drawn from each clip")
    parser.add_argument("--flow", default="truth", help="'truth' or a media.flow algorithm (e.g. dis_fast)")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    report = {"profile": args.profile, "seed": args.seed, "groups": args.groups, "flow": args.flow,
              "stack": STACK, "epochs": args.epochs}
    start = time.perf_counter()
    for subset, names in SUBSETS.items():
        frames, stacks, labels, test = samples(names, args.seed, args.profile, args.groups, args.per_clip,
                                               args.flow, rng)
        report[subset] = {
            "classes": list(names), "chance": round(1 / len(names), 3),
            "train_samples": int((~test).sum()), "test_samples": int(test.sum()),
            "spatial_accuracy": round(accuracy(frames, labels, test, len(names), "spatial", args.epochs, args.seed), 3),
            "temporal_accuracy": round(accuracy(stacks, labels, test, len(names), "temporal", args.epochs, args.seed), 3),
        }
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
