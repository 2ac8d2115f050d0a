"""Run directories: what a training run leaves behind and how later stages load it.

    DIR/config.json      resolved ExperimentConfig
    DIR/run_info.json    what evaluation/export/serving need to feed the model
    DIR/checkpoints/     ckpt-<step>.* with manifests (tfx_models.runs.checkpoints)
    DIR/tensorboard/     tf.summary logs
"""
from __future__ import annotations

import json

import keras
import tensorflow as tf

from tfx_models import config as config_lib, registry
from tfx_models.runs import checkpoints

CONFIG_FILE = "config.json"
RUN_INFO_FILE = "run_info.json"


def checkpoint_dir(run_dir: str) -> str:
    return f"{run_dir.rstrip('/')}/checkpoints"


def trained_to(run_dir: str, steps: int) -> bool:
    """Whether the run has a complete checkpoint at `steps`: table builders skip such a run
    rather than start it again (a resume that trains nothing still builds its input)."""
    prefix = f"{checkpoint_dir(run_dir)}/{checkpoints.PREFIX}-{steps}"
    return tf.io.gfile.exists(checkpoints.manifest_path(prefix))


def tensorboard_dir(run_dir: str) -> str:
    return f"{run_dir.rstrip('/')}/tensorboard"


def _write_json(path: str, value: dict) -> None:
    tmp = path + ".tmp"
    with tf.io.gfile.GFile(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
    tf.io.gfile.rename(tmp, path, overwrite=True)


def _read_json(path: str) -> dict:
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: missing; is this a run directory of tfx_models.train?")
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def make_run_info(config: config_lib.ExperimentConfig, dataset_infos: list[dict]) -> dict:
    """run_info from the resolved config and each task's dataset_info.json (in task order)."""
    d = config.data
    first = dataset_infos[0]
    kind = registry.kind_of(config)
    streams = kind.inference_streams(config)
    sections = config_lib.to_dict(config)
    return {
        "kind": config.model.kind,
        # What the evaluated and served model reads; training may read more (a teacher's flow).
        "streams": list(streams),
        "training_streams": list(kind.streams(config)),
        # One stream's name for single-stream runs (what older run_info files hold).
        "stream": streams[0] if len(streams) == 1 else "+".join(streams),
        "snippets": d.snippets,
        "snippet_stride": list(d.snippet_stride),
        # Cross-fitting: the run never saw the groups of holdout_fold (folds 0 = all groups).
        "folds": d.folds,
        "holdout_fold": d.holdout_fold,
        "fusion": sections["fusion"],
        "amplification": sections["amplification"],
        "distill": sections["distill"],
        "flow_aux": sections["flow_aux"],
        "tasks": [info["dataset"] for info in dataset_infos],
        "classes": {info["dataset"]: list(info["classes"]) for info in dataset_infos},
        "crop_size": d.crop_size,
        "length": d.length,
        "stacking": d.stacking,
        "bidirectional": d.bidirectional,
        "mean_subtraction": d.mean_subtraction,
        # As the records store it: algorithm, bound, bidirectional, jpeg_quality.
        "flow": dict(first.get("flow", {})),
        "size": first.get("size"),
        # Frame sampling at ingest; serving must decode the same way.
        "stride": first.get("stride", 1),
        "max_frames": first.get("max_frames", 0),
        "architecture": config.model.architecture,
        "records": list(d.records),
        # Their classes follow the first task's own in its head (tfx_models.data.extra_classes).
        "extra_records": list(d.extra_records),
    }


# run_info keys a run records once, at its start (ModelKind.measure_init, precision auto): a resumed run keeps them.
STARTING_KEYS = ("initialisation", "precision")


def write_run_files(run_dir: str, config: config_lib.ExperimentConfig, run_info: dict) -> None:
    tf.io.gfile.makedirs(run_dir)
    if tf.io.gfile.exists(f"{run_dir}/{RUN_INFO_FILE}"):
        old = read_run_info(run_dir)
        run_info = {**{k: old[k] for k in STARTING_KEYS if k in old}, **run_info}
    _write_json(f"{run_dir}/{CONFIG_FILE}", config_lib.to_dict(config))
    _write_json(f"{run_dir}/{RUN_INFO_FILE}", run_info)


def record_in_run_info(run_dir: str, entries: dict) -> None:
    """Adds entries to a run's run_info.json (what the run measured as it started)."""
    _write_json(f"{run_dir}/{RUN_INFO_FILE}", {**read_run_info(run_dir), **entries})


def read_config(run_dir: str) -> config_lib.ExperimentConfig:
    path = f"{run_dir.rstrip('/')}/{CONFIG_FILE}"
    return config_lib.from_dict(_read_json(path), path)


def read_run_info(run_dir: str) -> dict:
    return _read_json(f"{run_dir.rstrip('/')}/{RUN_INFO_FILE}")


def streams_of(run_info: dict) -> list[str]:
    """The streams the run's inference model reads (older run_info files name one `stream`)."""
    return run_info.get("streams") or [run_info.get("stream")]


def check_flow_scale(key: str, run_dir: str, config: config_lib.ExperimentConfig) -> None:
    """A loaded temporal tower must see flow at the scale it was trained on; the input scaling is
    built from this config, so a silent mismatch would feed the tower 5x too large or small."""
    trained = read_config(run_dir).model.flow_scale
    if trained != config.model.flow_scale:
        raise ValueError(f"{key}={run_dir}: that run's temporal tower was trained with model.flow_scale="
                         f"{trained}, this config has {config.model.flow_scale}; "
                         f"set --set model.flow_scale={trained}")


def num_classes(run_info: dict) -> dict[str, int]:
    return {task: len(run_info["classes"][task]) for task in run_info["tasks"]}


def load_model_from_run(run_dir: str, checkpoint: str | None = None) -> tuple[keras.Model, dict]:
    """The run's inference model (see ModelKind.inference) with the weights of its newest valid
    checkpoint (or of the `checkpoint` prefix given), and its run_info. The run's kind must be
    registered (import tfx_models.kinds)."""
    config = read_config(run_dir)
    run_info = read_run_info(run_dir)
    # Pre-trained weights and runs are already inside the checkpoint; do not read them again.
    config.model.weights = config.model.init_run = None
    config.model.train_tower = True
    config.fusion.spatial_run = config.fusion.temporal_run = None
    config.fusion.train_from_fusion = False
    kind = registry.kind_of(config)
    model = kind.build(config, num_classes(run_info))
    prefix = checkpoint or checkpoints.latest_valid_checkpoint(checkpoint_dir(run_dir))
    if prefix is None:
        raise FileNotFoundError(f"{checkpoint_dir(run_dir)}: no complete checkpoint")
    tf.train.Checkpoint(weights=checkpoints.model_variables(model)).restore(prefix).expect_partial() \
        .assert_existing_objects_matched()
    run_info["checkpoint"] = prefix
    return kind.inference_model(model, config), run_info
