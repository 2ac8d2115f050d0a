"""How large a trained run's logits are, in inference mode and in training mode (batch norm on the
batch's statistics), on one training batch of the run's own input:

    python -m results.teacher_logit_scale --run out/d3d/teacher [--records DIR] [--batch 16]

D3D's raw MSE term grows with the teacher's logit scale (docs/d3d.md, "The MSE term and
divergence"): a teacher whose batch-norm statistics have not settled answers in inference mode,
which a frozen teacher runs in, with logits far larger than it shows in training mode.
"""
from __future__ import annotations

import argparse
import json

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np
import tensorflow as tf

from tfx_models import config as config_lib, kinds, runs
from tfx_models.training.loop import pipeline_dataset_fn


def logit_scale(run_dir: str, records: str | None = None, batch: int = 16) -> dict:
    model, _ = runs.load_model_from_run(run_dir)
    overrides = [f"train.batch_size={batch}"] + ([f"data.records={records}"] if records else [])
    config = config_lib.override(runs.read_config(run_dir), overrides)
    dataset_fn = (kinds.kind_of(config).dataset or pipeline_dataset_fn)(config)
    features, targets = next(iter(dataset_fn(tf.distribute.InputContext(), seed=0)))
    inputs = {name: features[name] for name in model.input}
    labels = targets["label"].numpy()
    found = {"run": run_dir, "examples": int(len(labels))}
    for mode, training in (("inference", False), ("training", True)):
        logits = np.asarray(model(inputs, training=training)["logits"], np.float64)
        found[mode] = {"logit_std_over_classes": float(logits.std(axis=1).mean()),
                       "max_abs_logit": float(np.abs(logits).max()),
                       "batch_accuracy": float(np.mean(logits.argmax(axis=1) == labels))}
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.teacher_logit_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="trained run dir (e.g. a D3D teacher)")
    parser.add_argument("--records", default=None, help="record dir (default: the run's own)")
    parser.add_argument("--batch", type=int, default=16)
    args = cli.add_flags(parser).parse_args(argv)
    print(json.dumps(logit_scale(args.run, args.records, args.batch), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
