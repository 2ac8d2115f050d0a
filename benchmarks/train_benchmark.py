"""Training throughput (steps/s, examples/s) of an experiment config on this machine.

    python -m benchmarks.train_benchmark --config tfx_models/experiments/demo_spatial.py --steps 60
    python -m benchmarks.train_benchmark --config ... --set data.records=out/demo/records

With --synthetic the input is random tensors already in memory, which measures the
model and loop alone; otherwise it reads data.records and measures the whole path
through tfx_models.data.pipeline. The first log window (graph
tracing) is excluded. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import tensorflow as tf

from tfx_models import config as config_lib
from tfx_models.backbones.towers import input_shape
from tfx_models.training.strategies import make_strategy, split_cpu
from tfx_models.training.loop import train


def synthetic_dataset_fn(config: config_lib.ExperimentConfig, num_classes: int):
    """In-memory random batches shaped like the input pipeline's output."""
    d = config.data
    key = "rgb" if d.stream == "spatial" else "flow"
    shape = input_shape(d.stream, d.crop_size, d.length)

    def dataset_fn(input_context, seed):
        batch = input_context.get_per_replica_batch_size(config.train.batch_size)
        # Pixels for RGB; flow of a few pixels, as real fields are. Uniform [0, 255] "flow"
        # (and even uniform +-20 px) made the temporal net diverge by step 4, and the
        # benchmark then timed arithmetic on NaN without a word.
        if key == "rgb":
            values = tf.random.stateless_uniform((batch, *shape), seed=(seed, 0), maxval=255.0)
        else:
            values = tf.random.stateless_normal((batch, *shape), seed=(seed, 0), stddev=2.0)
        features = {key: values}
        targets = {"label": tf.range(batch, dtype=tf.int32) % num_classes, "task": tf.zeros([batch], tf.int32)}
        return tf.data.Dataset.from_tensors((features, targets)).repeat()
    return dataset_fn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="experiment file")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--steps", type=int, default=60, help="steps to time (after a warm-up window)")
    parser.add_argument("--warmup", type=int, default=10, help="steps of the untimed first window")
    parser.add_argument("--synthetic", action="store_true", help="random in-memory input instead of data.records")
    args = cli.add_flags(parser).parse_args(argv)
    if args.steps % args.warmup:
        parser.error("--steps must be a multiple of --warmup (log windows are timed whole)")
    config = config_lib.override(config_lib.load_experiment(args.config), [
        *args.set, f"train.steps={args.warmup + args.steps}", f"train.log_every={args.warmup}",
        f"train.checkpoint_every={args.warmup + args.steps}"])
    if config.train.logical_cpus > 1:
        split_cpu(config.train.logical_cpus)
    strategy = make_strategy(config.train.strategy)
    kwargs = {}
    if args.synthetic:
        kwargs = dict(dataset_fn=synthetic_dataset_fn(config, 10),
                      dataset_infos=[{"dataset": "synthetic", "classes": [str(i) for i in range(10)], "flow": {}}])
    with tempfile.TemporaryDirectory() as run_dir:
        _, summary = train(config, run_dir, strategy=strategy, **kwargs)
    # Throughput over the log windows after the first one (which includes tracing).
    steps, seconds = (sum(w) for w in zip(*summary["windows"][1:]))
    timed = {"steps_per_second": round(steps / seconds, 3),
             "examples_per_second": round(steps * config.train.batch_size / seconds, 1)}
    print(json.dumps({"config": config.name, "input": "synthetic" if args.synthetic else "records",
                      "stream": config.data.stream, "crop_size": config.data.crop_size,
                      "width": config.model.width, "batch_size": config.train.batch_size,
                      "replicas": strategy.num_replicas_in_sync, "cpu_count": os.cpu_count(),
                      "timed_steps": args.steps, **timed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
