"""python -m tfx_models.train --config EXPERIMENT --run_dir DIR [--set section.key=value ...]

The command line of tfx_models.training.loop (docs/training.md).
"""
from __future__ import annotations

import argparse
import logging
import sys

from tfx_models import cli, config as config_lib, kinds
from tfx_models.training import divergence
from tfx_models.training.loop import train
from tfx_models.training.strategies import EXIT_LOST_WORKER, LostWorkerError, is_chief, make_strategy, split_cpu


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tfx_models.train",
        description="Train a spatial, temporal or multi-task ConvNet from an experiment config; "
                    "rerunning the same command resumes from the last complete checkpoint.")
    parser.add_argument("--config", required=True, help="experiment file: tfx_models/experiments/<name>.py or .json")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config value, e.g. --set train.steps=200 --set data.records=out/ucf")
    parser.add_argument("--run_dir", required=True, help="output dir: config.json, run_info.json, checkpoints/, "
                                                         "tensorboard/")
    return cli.add_flags(parser).parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_lib.override(config_lib.load_experiment(args.config), args.set)
        kinds.kind_of(config)  # the kind checks its own sections before any training starts
    except TypeError as e:
        raise ValueError(str(e)) from None
    # Device layout and the multi-worker runtime must be fixed before any other TF work.
    if config.train.logical_cpus > 1:
        split_cpu(config.train.logical_cpus)
    strategy = make_strategy(config.train.strategy)
    try:
        _, summary = train(config, args.run_dir, strategy=strategy)
    except divergence.DivergenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except LostWorkerError as e:  # an orchestrator reruns every worker on this status
        print(f"error: {e}", file=sys.stderr, flush=True)
        return EXIT_LOST_WORKER
    if is_chief(strategy):
        skipped = (f", {summary['skipped_records']} damaged training records skipped"
                   if summary.get("skipped_records") else "")
        print(f"done: step {summary['step']}, "
              f"{summary.get('mean_examples_per_second', 0.0):.1f} examples/s{skipped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
