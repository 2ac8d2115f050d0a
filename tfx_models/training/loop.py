"""Training loop for every model and strategy (its command line: tfx_models/train.py).

One custom loop (strategy.distribute_datasets_from_function + strategy.run in a
tf.function) serves the default strategy, MirroredStrategy and
MultiWorkerMirroredStrategy, since Keras 3's model.fit fails under the latter
(keras-team/keras#20585). Rerunning the same command resumes from the newest
complete checkpoint; the input is reseeded by the resumed step.
"""
from __future__ import annotations

import functools
import shutil
import time

import keras
import tensorflow as tf

from media.shards import read_dataset_info
from tfx_models import config as config_lib, kinds, runs
from tfx_models.data import damage, extra_classes, pipeline as input_pipeline
from tfx_models.losses import LossFn
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training import divergence, precision
from tfx_models.training.strategies import (PEER_LOST, LostWorkerError, is_chief, is_multi_worker, lost_peer,
                                             make_strategy, writable_dir)


# Keys a rerun may change without starting a different experiment.
RESUMABLE_CHANGES = {"data.cache_decoded", "data.verify", "data.skip_corrupt", "data.max_corrupt_share",
                     "train.steps", "train.log_every", "train.checkpoint_every",
                     "train.keep_checkpoints", "train.learning_rate"}


def learning_rate_schedule(train: config_lib.TrainConfig):
    """The paper's step schedule with boundaries as fractions of train.steps (tenfold drops)."""
    boundaries = [max(1, int(round(f * train.steps))) for f in train.lr_drops]
    values = [train.learning_rate * 0.1 ** i for i in range(len(boundaries) + 1)]
    if not boundaries:
        return train.learning_rate
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def resolve_precision(config: config_lib.ExperimentConfig, run_dir: str, build, loss_fn: LossFn, dataset_fn,
                      chief: bool) -> str:
    """The Keras policy of train.precision; `auto` is timed once per run (tfx_models.training.precision)."""
    t = config.train
    if t.precision != "auto":
        return t.precision
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    recorded = runs.read_run_info(run_dir).get("precision") if tf.io.gfile.exists(
        f"{run_dir}/{runs.RUN_INFO_FILE}") else None
    if recorded:
        return recorded["policy"]
    batch = next(iter(dataset_fn(tf.distribute.InputContext(), seed=t.seed)))
    chosen = precision.choose(build, loss_fn, batch, t.batch_size)
    if chief:
        runs.record_in_run_info(run_dir, {"precision": chosen})
        print(f"precision auto: {chosen['policy']} (seconds a step: {chosen['seconds_per_step']})", flush=True)
    return chosen["policy"]


def read_sources(config: config_lib.ExperimentConfig) -> list[dict]:
    if not config.data.records:
        raise ValueError("config data.records is empty: give one record dir per task "
                         "(--set data.records=DIR[,DIR2])")
    infos = [read_dataset_info(d) for d in config.data.records]
    for record_dir, info in [*zip(config.data.records, infos),
                             *((d, read_dataset_info(d)) for d in config.data.extra_records)]:
        damage.check_record_dir(record_dir, info, verify=config.data.verify, skip_corrupt=config.data.skip_corrupt)
    names = [i["dataset"] for i in infos]
    if len(set(names)) != len(names):
        raise ValueError(f"config data.records: two record dirs hold the same dataset {names}")
    if config.data.extra_records:
        classes, _ = _extra_label_maps(config, infos[0])
        infos[0] = {**infos[0], "classes": classes}
    return infos


def _extra_label_maps(config: config_lib.ExperimentConfig, first: dict) -> tuple[list[str], list[list[int]]]:
    """The first task's classes merged with data.extra_records' (tfx_models.data.extra_classes)."""
    extra = [read_dataset_info(d) for d in config.data.extra_records]
    classes, maps = extra_classes.merge(list(first["classes"]), [list(e["classes"]) for e in extra])
    for record_dir, label_map in zip(config.data.extra_records, maps):
        if max(label_map) < 0:
            raise ValueError(f"config data.extra_records: {record_dir} has no class that "
                             f"{first['dataset']} lacks; it would add no training video")
    return classes, maps


def pipeline_dataset_fn(config: config_lib.ExperimentConfig, readable: dict[str, int] | None = None):
    """(input_context, seed) -> the input pipeline's infinite training dataset; `readable` as
    input_pipeline.train_dataset's (damaged shards skipped by data.skip_corrupt)."""
    d = config.data
    streams = kinds.kind_of(config).streams(config)

    sources = [(r, i) for i, r in enumerate(d.records)]
    if d.extra_records:
        _, maps = _extra_label_maps(config, read_dataset_info(d.records[0]))
        sources += [(r, 0, label_map) for r, label_map in zip(d.extra_records, maps)]

    def dataset_fn(input_context, seed):
        return input_pipeline.train_dataset(
            sources, streams, batch_size=config.train.batch_size,
            crop_size=d.crop_size, length=d.length, stacking=d.stacking, bidirectional=d.bidirectional,
            mean_subtraction=d.mean_subtraction, flip=d.flip, color_jitter=d.color_jitter,
            snippets=d.snippets, snippet_stride=tuple(d.snippet_stride), seed=seed,
            holdout=(d.folds, d.holdout_fold) if d.folds else None, cache_decoded=d.cache_decoded,
            readable=readable, input_context=input_context)
    return dataset_fn


def _check_resumed_config(run_dir: str, config: config_lib.ExperimentConfig) -> None:
    if not tf.io.gfile.exists(f"{run_dir}/{runs.CONFIG_FILE}"):
        return
    old = config_lib.to_dict(runs.read_config(run_dir))
    new = config_lib.to_dict(config)
    changed = sorted(f"{s}.{k}" for s in config_lib.SECTIONS for k in new[s] if old.get(s, {}).get(k) != new[s][k])
    if set(changed) - RESUMABLE_CHANGES:
        raise ValueError(f"{run_dir} holds a run with a different config (changed: {', '.join(changed)}); "
                         "use a new --run_dir")


def _format(logs: dict) -> dict[str, float]:
    return {name: num / max(den, 1e-9) for name, (num, den) in logs.items()}


def train(config: config_lib.ExperimentConfig, run_dir: str, *, strategy: tf.distribute.Strategy | None = None,
          dataset_fn=None, loss_fn: LossFn | None = None,
          dataset_infos: list[dict] | None = None) -> tuple[keras.Model, dict]:
    """Trains until config.train.steps, resuming from run_dir's checkpoints.

    dataset_fn(input_context, seed) -> tf.data.Dataset yielding (features, targets) per the
    input-pipeline contract; default: the model kind's sampler (ModelKind.dataset, else the
    joint sampler of its streams). Returns the trained model and the last logged metrics
    plus throughput.
    """
    t = config.train
    strategy = strategy or make_strategy(t.strategy)
    infos = dataset_infos if dataset_infos is not None else read_sources(config)
    tasks = [i["dataset"] for i in infos]
    num_classes = {i["dataset"]: len(i["classes"]) for i in infos}
    chief = is_chief(strategy)
    if chief:
        _check_resumed_config(run_dir, config)
        runs.write_run_files(run_dir, config, runs.make_run_info(config, infos))
    kind = kinds.kind_of(config)
    skipped = _skip_corrupt(config, run_dir, chief, kind) if config.data.skip_corrupt and dataset_infos is None \
        else None
    loss_fn = loss_fn or kind.loss(config, tasks)
    if dataset_fn is None:
        readable = {path: shard["readable"] for path, shard in skipped["shards"].items()} if skipped else None
        dataset_fn = kind.dataset(config) if kind.dataset else pipeline_dataset_fn(config, readable)

    ckpt_dir = writable_dir(runs.checkpoint_dir(run_dir), strategy)
    previous_policy = keras.mixed_precision.global_policy().name
    try:
        keras.mixed_precision.set_global_policy(resolve_precision(
            config, run_dir, lambda: kind.build(config, num_classes), loss_fn, dataset_fn, chief))
        keras.utils.set_random_seed(t.seed)
        with strategy.scope():
            model = kind.build(config, num_classes)
            optimizer = keras.optimizers.SGD(learning_rate_schedule(t), momentum=t.momentum)
            if keras.mixed_precision.global_policy().name == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(model.trainable_variables)
            step_var = tf.Variable(0, dtype=tf.int64, trainable=False,
                                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        checkpoint = tf.train.Checkpoint(step=step_var, optimizer=optimizer,
                                         weights=checkpointing.model_variables(model))
        keeper = checkpointing.CheckpointKeeper(checkpoint, ckpt_dir, max_to_keep=t.keep_checkpoints)
        restored = keeper.restore_latest(runs.checkpoint_dir(run_dir))
        if restored is None and kind.initialise is not None:
            loaded = kind.initialise(model, config)
            if chief and loaded:
                print(f"initialised {len(loaded)} layers from trained runs", flush=True)
        if restored is None and kind.measure_init is not None:
            measured = kind.measure_init(model, config, lambda: next(iter(
                dataset_fn(tf.distribute.InputContext(), seed=t.seed)))[0])
            if chief and measured:
                runs.record_in_run_info(run_dir, {"initialisation": measured})
                print(f"initialisation from measured scales: {measured}", flush=True)
        start = int(step_var.numpy())
        if chief:
            print(f"resumed from {restored} at step {start}" if restored else f"starting {config.name} from step 0",
                  flush=True)
        summary = _loop(config, model, optimizer, strategy, keeper, step_var, start, loss_fn, dataset_fn, run_dir,
                        chief)
        if skipped is not None:
            summary["skipped_records"] = skipped["lost"]
        return model, summary
    except tf.errors.DataLossError as error:
        raise damage.DamagedDataError(_damage_met(config, run_dir, error)) from None
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        if not chief:
            shutil.rmtree(ckpt_dir, ignore_errors=True)


def _skip_corrupt(config: config_lib.ExperimentConfig, run_dir: str, chief: bool, kind) -> dict:
    """data.skip_corrupt: what the damaged training shards lose (tfx_models.data.damage.census), counted
    before the first step, refused past data.max_corrupt_share, and recorded in run_info."""
    d = config.data
    record_dirs = [*d.records, *d.extra_records]
    found = damage.census(record_dirs, [read_dataset_info(r) for r in record_dirs])
    damage.check_census(found, d.max_corrupt_share)
    if found["shards"] and kind.dataset is not None:
        raise ValueError(f"data.skip_corrupt: kind {config.model.kind} reads its records with its own sampler, "
                         f"which does not skip damaged records; replace the damaged shards: "
                         + "; ".join(found["shards"]))
    if chief:
        runs.record_in_run_info(run_dir, {"skipped_records": found})
        if found["lost"]:
            print(f"skipping {found['lost']} of {found['records']} training records "
                  f"({100 * found['share']:.1f}%) in {len(found['shards'])} damaged shards (data.skip_corrupt)",
                  flush=True)
    return found


def _damage_met(config: config_lib.ExperimentConfig, run_dir: str, error: tf.errors.DataLossError) -> str:
    """One sentence for a damaged record the tf.data iterator met: TensorFlow's message names no
    shard, so the run's training shards are read again to find it."""
    record_dirs = [*config.data.records, *config.data.extra_records]
    tensorflow_says = " ".join(error.message.split())[:200]
    try:
        located = damage.locate(record_dirs, "train")
        where = damage.describe(located) or (f"a damaged record in {', '.join(record_dirs)} that reads whole "
                                             f"when read again (TensorFlow: {tensorflow_says})")
    except (OSError, ValueError) as err:
        located, where = [], f"a damaged record in {', '.join(record_dirs)} (TensorFlow: {tensorflow_says}; {err})"
    newest = checkpointing.latest_valid_checkpoint(runs.checkpoint_dir(run_dir))
    resume = (f"newest complete checkpoint: {newest} (step {checkpointing.step_of(newest)})" if newest
              else "no complete checkpoint yet")
    hint_dir = located[0].source.rsplit("/", 1)[0] if located else record_dirs[0]
    return (f"{where}; {resume}; replace the damaged shard ({damage.verify_hint(hint_dir)}) or rerun with "
            f"--set data.skip_corrupt=true to skip damaged records, resuming from that checkpoint")


def _lost_worker(strategy, error: Exception, step: int, run_dir: str) -> str:
    """The line every surviving worker prints: who was lost, when, and what a rerun resumes from."""
    newest = checkpointing.latest_valid_checkpoint(runs.checkpoint_dir(run_dir))
    resume = (f"newest complete checkpoint: {newest} (step {checkpointing.step_of(newest)})" if newest
              else "no complete checkpoint yet (a rerun starts from step 0)")
    return (f"lost {lost_peer(strategy, error)} at step {step}; {resume}; "
            "rerun every worker with the same command to resume from it")


def _loop(config, model, optimizer, strategy, keeper, step_var, start, loss_fn, dataset_fn, run_dir, chief):
    t = config.train
    global_batch = t.batch_size
    # Reseeding by step keeps a resumed run from replaying the samples it already saw.
    dist_data = strategy.distribute_datasets_from_function(
        functools.partial(dataset_fn, seed=t.seed + start))
    iterator = iter(dist_data)
    decayed = [v for v in model.trainable_variables if v.path.endswith("kernel")]
    loss_scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def replica_step(features, targets):
        with tf.GradientTape() as tape:
            outputs = model(features, training=True)
            loss, logs = loss_fn(outputs, targets, global_batch)
            if decayed and t.weight_decay:
                l2 = t.weight_decay * tf.add_n([tf.nn.l2_loss(tf.cast(v, tf.float32)) for v in decayed])
                reg = tf.nn.scale_regularization_loss(l2)
            else:
                reg = tf.constant(0.0)
            total = loss + reg
            scaled = optimizer.scale_loss(total)  # identity unless loss scaling (mixed_float16)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        # Replica shares of the global loss: the denominators sum to 1 per step.
        share = tf.constant(1.0 / strategy.num_replicas_in_sync)
        # The loss-scaled float16 optimizer skips non-finite steps itself; elsewhere a
        # non-finite gradient norm stops the run (tfx_models.training.divergence).
        guard = {} if loss_scaled else {divergence.GRADIENT_NORM: (tf.linalg.global_norm(grads) * share, share)}
        return {**logs, "total_loss": (total, share), "weight_decay": (reg, share), **guard}

    @tf.function
    def train_step(iterator):
        features, targets = next(iterator)
        per_replica = strategy.run(replica_step, args=(features, targets))
        return tf.nest.map_structure(
            lambda v: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None), per_replica)

    writer = (tf.summary.create_file_writer(runs.tensorboard_dir(run_dir)) if chief
              else tf.summary.create_noop_writer())
    window: dict[str, list[float]] = {}
    last: dict = {}
    window_start, window_steps = time.perf_counter(), 0
    windows: list[tuple[int, float]] = []  # (steps, seconds) per log window
    step = start
    last_checkpoint = keeper.latest()
    try:
        while step < t.steps:
            logs = train_step(iterator)
            step += 1
            window_steps += 1
            values = {}
            for name, (num, den) in logs.items():
                num, den = float(num), float(den)
                values[name] = num / max(den, 1e-9)
                acc = window.setdefault(name, [0.0, 0.0])
                acc[0] += num
                acc[1] += den
            divergence.check_step(step, values, last_checkpoint)
            if step % t.log_every == 0 or step == t.steps:
                elapsed = time.perf_counter() - window_start
                metrics = _format(window)
                lr = float(optimizer.learning_rate)
                metrics.update(learning_rate=lr, steps_per_second=window_steps / elapsed,
                               examples_per_second=window_steps * global_batch / elapsed)
                with writer.as_default(step=step):
                    for name, value in metrics.items():
                        tf.summary.scalar(name, value)
                if chief:
                    shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                                      if k.startswith(("loss", "accuracy", "distill", "flow_epe", "contrastive",
                                                       "total_loss", "gradient_norm")))
                    print(f"step {step}/{t.steps}  {shown}  lr {lr:.1e}  "
                          f"{metrics['examples_per_second']:.1f} examples/s", flush=True)
                windows.append((window_steps, elapsed))
                last = metrics
                window, window_start, window_steps = {}, time.perf_counter(), 0
            if step % t.checkpoint_every == 0 or step == t.steps:
                divergence.check_variables(model.weights, f"step {step}, before its checkpoint "
                                                          f"(newest finite checkpoint: {last_checkpoint})")
                step_var.assign(step)
                last_checkpoint = keeper.save(step)
    except PEER_LOST as error:
        if not is_multi_worker(strategy):
            raise
        raise LostWorkerError(_lost_worker(strategy, error, step, run_dir)) from None
    writer.flush()
    if windows:
        total_steps, total_time = (sum(w) for w in zip(*windows))
        last["mean_steps_per_second"] = total_steps / total_time
        last["mean_examples_per_second"] = total_steps * global_batch / total_time
    last["step"] = step
    last["windows"] = windows
    return last
