"""How large each CNN-M layer's output is at initialisation, on real training batches.

Issue 15's question was why the temporal net learned motion slowly from scratch. A ReLU net
whose kernels have Glorot's variance 2/(fan_in + fan_out) halves its signal's power at every
layer where fan_in ~ fan_out, so the logits start near zero and the gradient reaching conv1
is small; the flow input, multiplied by model.flow_scale, starts smaller still. This prints
the standard deviation of each tower endpoint for the two streams under each setting, on a
batch the training input pipeline draws from a record dir, at the demo's width and crop.

    python -m results.activation_scale --records out/demo/records/ucf101
"""
from __future__ import annotations

import argparse

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import keras
import numpy as np

from tfx_models.data.pipeline import train_dataset
from tfx_models.backbones.towers import build_tower

ENDPOINTS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
SETTINGS = (  # stream, model.flow_scale, model.init
    ("spatial", None, "glorot_uniform"),
    ("temporal", 0.2, "glorot_uniform"),
    ("temporal", 1.0, "glorot_uniform"),
    ("temporal", 1.0, "he_normal"),
)


def endpoint_stds(batch: np.ndarray, stream: str, flow_scale: float, init: str, width: float,
                  seed: int) -> dict[str, float]:
    keras.utils.set_random_seed(seed)
    tower = build_tower("cnn_m_2048", batch.shape[1:], stream=stream, width=width, dropout=0.0,
                        flow_scale=flow_scale, init=init)
    ends = tower(batch, training=False)
    return {"input": float(np.std(tower.get_layer("input_scaling")(batch))),
            **{name: float(np.std(ends[name])) for name in ENDPOINTS}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, help="an ingested record dir with flow (ucf101 layout)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--crop_size", type=int, default=96)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--seeds", type=int, default=3, help="initialisations averaged per setting")
    args = cli.add_flags(parser).parse_args(argv)
    batches = {}
    for stream in ("spatial", "temporal"):
        dataset = train_dataset([(args.records, 0)], stream, batch_size=args.batch_size,
                                crop_size=args.crop_size, length=10, seed=0)
        features, _ = next(iter(dataset))
        batches[stream] = next(iter(features.values())).numpy()
    print(f"Standard deviation of each endpoint at initialisation (mean of {args.seeds} seeds; "
          f"one batch of {args.batch_size} from {args.records}, width {args.width}, crop {args.crop_size})\n")
    print("| stream | flow scale | init | input | " + " | ".join(ENDPOINTS) + " |")
    print("|---|---|---|---|" + "---|" * len(ENDPOINTS))
    for stream, flow_scale, init in SETTINGS:
        runs = [endpoint_stds(batches[stream], stream, flow_scale or 1.0, init, args.width, seed)
                for seed in range(args.seeds)]
        cells = [f"{np.mean([r[k] for r in runs]):.3f}" for k in ("input", *ENDPOINTS)]
        print(f"| {stream} | {flow_scale if flow_scale else '-'} | {init} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
