"""Write a trained spatial run's tower as the weights file `model.weights` loads.

    python -m tfx_models.save_tower --run out/pretrain/runs/pretrain --out out/pretrain/tower.weights.h5

Table 1a starts the spatial net from a network pre-trained on another task. `model.weights`
takes a local `.weights.h5` of an RGB CNN-M tower (backbones.towers.build_tower loads it into a fresh
tower of the same width), so a run trained on any appearance task becomes that file here,
and a real ImageNet CNN-M file in the same format drops in where one can be had. The file
holds the tower only: the run's classifier head stays behind, and a model built on the file
gets a fresh head for its own classes. Dropout has no weights, so the file serves any
`model.dropout`; width and crop size must match the run's (fc6's input depends on both).
"""
from __future__ import annotations

import argparse
import json
import os

import tensorflow as tf

from tfx_models import cli, runs
from tfx_models import kinds  # noqa: F401 (registers the kinds runs.load_model_from_run builds)


def check_run(run_dir: str) -> dict:
    """The run's config as a dict, if the run is a CNN-M-2048 spatial stream; otherwise an error
    naming what it is."""
    config = runs.read_config(run_dir)
    kind, stream, architecture = config.model.kind, config.data.stream, config.model.architecture
    if (kind, stream, architecture) != ("stream", "spatial", "cnn_m_2048"):
        raise ValueError(f"{run_dir}: a {kind} run of the {stream} stream on {architecture}; model.weights "
                         f"takes the tower of a spatial stream run on cnn_m_2048")
    return {"width": config.model.width, "crop_size": config.data.crop_size}


def save_tower(run_dir: str, out: str) -> dict:
    """Saves the tower of the run's newest valid checkpoint to `out`; returns what it wrote."""
    if not out.endswith(".weights.h5"):
        raise ValueError(f"--out {out}: the file name must end in .weights.h5 (Keras's weights format)")
    shape = check_run(run_dir)
    model, run_info = runs.load_model_from_run(run_dir)
    if os.path.dirname(out):
        tf.io.gfile.makedirs(os.path.dirname(out))
    # Keras writes a URL's .weights.h5 to a local temp file and copies it over with tf.io.gfile.
    model.get_layer("tower").save_weights(out)
    return {"out": out, "run": run_dir, "checkpoint": run_info["checkpoint"], **shape,
            "pretrained_on": {task: len(run_info["classes"][task]) for task in run_info["tasks"]}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfx_models.save_tower", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run dir of a trained spatial cnn_m_2048 stream")
    parser.add_argument("--out", required=True, help="weights file to write (FILE.weights.h5)")
    args = cli.add_flags(parser).parse_args(argv)
    written = save_tower(args.run, args.out)
    print(json.dumps(written))
    return 0

