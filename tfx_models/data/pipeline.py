"""Training and test inputs from record dirs (Simonyan & Zisserman 2014, Sect. 3 and 5).

Training: an infinite tf.data stream of single-frame RGB crops or 2L-channel
flow volumes, class-balanced and optionally merged over several tasks. Only the
JPEGs a sample needs are decoded, or (cache_decoded) every training video once.

Class balance without reading the data once per class: records stream through
once and a record of class c is kept with probability min_k n_k / n_c, where
n_k counts the records of class k seen so far (a streaming estimate of the
class frequencies); kept records are then uniform over the classes present.

Testing: tfx_models.data.test_clips.
"""
from __future__ import annotations

import functools

import tensorflow as tf

from media import stacking as np_stacking
from media.records import flow_fields_tf, parse_record_tf, predecode_frames_tf, rgb_frame_tf
from media.shards import list_shards, read_dataset_info
from tfx_models.data import augment, stacking_tf
from tfx_models.data.folds import fold_of

AUTOTUNE = tf.data.AUTOTUNE
# Serialized records held for shuffling; records hold whole videos (~MBs), keep it modest.
SHUFFLE_RECORDS = 64
MAX_PARALLEL_SHARDS = 16


def check_stream_options(stream: str, length: int, stacking: str, bidirectional: bool) -> None:
    if stream not in np_stacking.STREAMS:
        raise ValueError(f"stream must be one of {np_stacking.STREAMS}, got {stream!r}")
    np_stacking.check_options(length, stacking, bidirectional)


def check_source(record_dir: str, stream: str, bidirectional: bool) -> dict:
    info = read_dataset_info(record_dir)
    if stream == "temporal" and bidirectional and not info["flow"].get("bidirectional", False):
        raise ValueError(f"{record_dir}/dataset_info.json: flow.bidirectional is false; "
                         "bidirectional stacking needs records ingested with backward flow")
    return info


def _balanced(records: tf.data.Dataset, num_classes: int, record_dir: str) -> tf.data.Dataset:
    """(seed, parsed record) pairs -> the same, class-balanced by streaming rejection."""

    def count(counts, element):
        seed, record = element
        label = tf.cast(record["label"], tf.int32)
        tf.debugging.Assert(tf.logical_and(label >= 0, label < num_classes),
                            [f"{record_dir}: record", record["id"], "has label", label,
                             f"outside the {num_classes} classes of dataset_info.json"])
        counts = counts + tf.one_hot(label, num_classes, dtype=tf.int64)
        return counts, (counts, seed, record)

    def keep(counts, seed, record):
        seen = tf.boolean_mask(counts, counts > 0)
        accept = tf.cast(tf.reduce_min(seen), tf.float32) / tf.cast(counts[record["label"]], tf.float32)
        draw = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seed, 1))
        return draw < accept

    return (records.scan(tf.zeros([num_classes], tf.int64), count)
            .filter(keep)
            .map(lambda counts, seed, record: (seed, record)))


def augmented_frame(frames, index, seed, *, crop_size: int, flip: bool, color_jitter: bool) -> tf.Tensor:
    """Frame `index` of an rgb list -> a training crop: random crop and flip, maybe colour
    jitter (every RGB sampler's per-image augmentation)."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    rgb = augment.random_crop_flip(rgb_frame_tf(frames, index), crop_size, is_flow=False, flip=flip,
                                   seed=seeds[0])
    return augment.color_jitter(rgb, seeds[1]) if color_jitter else rgb


def _spatial_sample(seed, record, *, crop_size: int, flip: bool, color_jitter: bool) -> dict:
    seeds = tf.random.experimental.stateless_split(seed, 2)
    frames = tf.shape(record["rgb"])[0]
    index = tf.random.stateless_uniform([], seeds[0], 0, frames, dtype=tf.int32)
    return {"rgb": augmented_frame(record["rgb"], index, seeds[1], crop_size=crop_size, flip=flip,
                                   color_jitter=color_jitter)}


def _flow_volume_at(record, start, *, length: int, stacking: str, bidirectional: bool,
                    mean_subtraction: bool, record_dir: str) -> tf.Tensor:
    """The full-frame volume [H,W,2L] of the L fields starting at `start`."""
    fields = tf.shape(record["flow_x"])[0]
    forward, backward = stacking_tf.field_indices(fields, start, length, bidirectional)
    bound = record["flow_bound"]
    forward_fields = flow_fields_tf(record["flow_x"], record["flow_y"], forward, bound)
    backward_fields = None
    if bidirectional:
        tf.debugging.Assert(tf.shape(record["flow_back_x"])[0] == fields,
                            [f"{record_dir}: record", record["id"],
                             "lacks backward flow needed for bidirectional stacking"])
        backward_fields = flow_fields_tf(record["flow_back_x"], record["flow_back_y"], backward, bound)
    volume = stacking_tf.flow_volume(forward_fields, backward_fields, stacking=stacking,
                                     mean_subtraction=mean_subtraction, jit_compile=True)
    return tf.ensure_shape(volume, [None, None, 2 * length])


def _assert_has_flow(record, record_dir: str) -> tf.Tensor:
    fields = tf.shape(record["flow_x"])[0]
    tf.debugging.Assert(fields > 0, [f"{record_dir}: record", record["id"],
                                     "has no flow fields (needs at least two frames)"])
    return fields


def _temporal_sample(seed, record, *, crop_size: int, length: int, stacking: str,
                     bidirectional: bool, mean_subtraction: bool, flip: bool,
                     record_dir: str) -> dict:
    seeds = tf.random.experimental.stateless_split(seed, 2)
    fields = _assert_has_flow(record, record_dir)
    low, high = stacking_tf.start_range(fields, length, bidirectional)
    start = tf.random.stateless_uniform([], seeds[0], low, high + 1, dtype=tf.int32)
    volume = _flow_volume_at(record, start, length=length, stacking=stacking, bidirectional=bidirectional,
                             mean_subtraction=mean_subtraction, record_dir=record_dir)
    return {"flow": augment.random_crop_flip(volume, crop_size, is_flow=True, flip=flip,
                                             seed=seeds[1])}


def _joint_sample(seed, record, *, streams: tuple[str, ...], snippets: int, snippet_stride: tuple[int, int],
                  crop_size: int, length: int, stacking: str, bidirectional: bool, mean_subtraction: bool,
                  flip: bool, color_jitter: bool, record_dir: str) -> dict:
    """T snippets at t, t+tau, ... (tau drawn from snippet_stride), each the RGB frame at its
    start and/or the L-field volume starting there; one crop and flip for every image of the
    sample (a flip negates flow x). Shapes [T,c,c,C], or [c,c,C] when T=1."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    fields = _assert_has_flow(record, record_dir)
    stride = tf.random.stateless_uniform([], seeds[0], snippet_stride[0], snippet_stride[1] + 1, dtype=tf.int32)
    low, last_first = stacking_tf.first_snippet_range(fields, length, bidirectional, snippets, stride)
    first = tf.random.stateless_uniform([], seeds[1], low, last_first + 1, dtype=tf.int32)
    starts = stacking_tf.snippet_starts(fields, length, bidirectional, snippets, stride, first)
    images = {"rgb": [], "flow": []}
    for i in range(snippets):
        if "spatial" in streams:
            images["rgb"].append(stacking_tf.resize_to_cover(rgb_frame_tf(record["rgb"], starts[i]), crop_size, False))
        if "temporal" in streams:
            volume = _flow_volume_at(record, starts[i], length=length, stacking=stacking,
                                     bidirectional=bidirectional, mean_subtraction=mean_subtraction,
                                     record_dir=record_dir)
            images["flow"].append(stacking_tf.resize_to_cover(volume, crop_size, True))
    shape = tf.shape(next(v for v in images.values() if v)[0])
    top, left, mirror = augment.random_box(shape[0], shape[1], crop_size, flip=flip, seed=seeds[2])
    out = {}
    for key, stack in images.items():
        if not stack:
            continue
        crops = [stacking_tf.crop(image, top, left, crop_size, mirror, key == "flow") for image in stack]
        if key == "rgb" and color_jitter:
            crops = [augment.color_jitter(image, seeds[3]) for image in crops]
        out[key] = crops[0] if snippets == 1 else tf.stack(crops)
    return out


def _outside_fold(record, *, folds: int, fold: int) -> tf.Tensor:
    return tf.not_equal(fold_of(record["group"], folds), fold)


def _relabelled(records: tf.data.Dataset, label_map: tuple[int, ...], num_classes: int,
                record_dir: str) -> tf.data.Dataset:
    """Labels through label_map (tfx_models.data.extra_classes); records mapped to -1 are dropped."""
    if len(label_map) != num_classes:
        raise ValueError(f"{record_dir}: label map of {len(label_map)} entries for {num_classes} classes")
    table = tf.constant(label_map, tf.int64)

    def relabel(record):
        label = tf.cast(record["label"], tf.int64)
        tf.debugging.Assert(tf.logical_and(label >= 0, label < num_classes),
                            [f"{record_dir}: record", record["id"], "has label", label,
                             f"outside the {num_classes} classes of dataset_info.json"])
        return {**record, "label": tf.gather(table, label)}

    return records.map(relabel).filter(lambda record: record["label"] >= 0)


def _source_samples(record_dir: str, task: int, streams: tuple[str, ...], *, crop_size: int, length: int,
                    stacking: str, bidirectional: bool, mean_subtraction: bool, flip: bool,
                    color_jitter: bool, snippets: int, snippet_stride: tuple[int, int], seed: int | None,
                    input_context: tf.distribute.InputContext | None,
                    holdout: tuple[int, int] | None = None,
                    label_map: tuple[int, ...] | None = None,
                    cache_decoded: bool = False, readable: dict[str, int] | None = None) -> tf.data.Dataset:
    info = check_source(record_dir, "temporal" if "temporal" in streams else "spatial", bidirectional)
    num_classes = len(info["classes"])
    files = list_shards(record_dir, "train")
    deterministic = seed is not None
    # A damaged shard is read up to its damage (tfx_models.data.damage.census); -1 reads it all.
    shards = tf.data.Dataset.from_tensor_slices(
        (files, tf.constant([(readable or {}).get(f, -1) for f in files], tf.int64)))
    pipelines = input_context.num_input_pipelines if input_context else 1
    split_files = pipelines > 1 and len(files) >= pipelines
    if split_files:
        shards = shards.shard(pipelines, input_context.input_pipeline_id)
    if not cache_decoded:
        shards = shards.shuffle(len(files), seed=seed, reshuffle_each_iteration=True).repeat()
    records = shards.interleave(lambda file, count: tf.data.TFRecordDataset(file).take(count),
                                cycle_length=min(len(files), MAX_PARALLEL_SHARDS),
                                num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if pipelines > 1 and not split_files:
        records = records.shard(pipelines, input_context.input_pipeline_id)
    if not cache_decoded:
        records = records.shuffle(SHUFFLE_RECORDS, seed=seed)
    records = records.map(parse_record_tf, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if holdout is not None:
        records = records.filter(functools.partial(_outside_fold, folds=holdout[0], fold=holdout[1]))
    if label_map is not None:
        records = _relabelled(records, label_map, num_classes, record_dir)
        num_classes = max(label_map) + 1
    if cache_decoded:
        keys = ["rgb"] if "spatial" in streams else []
        if "temporal" in streams:
            keys += ["flow_x", "flow_y"] + (["flow_back_x", "flow_back_y"] if bidirectional else [])
        records = (records.map(functools.partial(predecode_frames_tf, keys=tuple(keys)), num_parallel_calls=AUTOTUNE,
                               deterministic=deterministic)
                   .cache()
                   .shuffle(info["counts"]["train"], seed=seed, reshuffle_each_iteration=True)
                   .repeat())
    element_seeds = tf.data.Dataset.random(seed=seed).batch(2)
    balanced = _balanced(tf.data.Dataset.zip(element_seeds, records), num_classes, record_dir)
    if streams == ("spatial",) and snippets == 1:
        sample = functools.partial(_spatial_sample, crop_size=crop_size, flip=flip,
                                   color_jitter=color_jitter)
    elif streams == ("temporal",) and snippets == 1:
        sample = functools.partial(_temporal_sample, crop_size=crop_size, length=length,
                                   stacking=stacking, bidirectional=bidirectional,
                                   mean_subtraction=mean_subtraction, flip=flip,
                                   record_dir=record_dir)
    else:
        sample = functools.partial(_joint_sample, streams=streams, snippets=snippets,
                                   snippet_stride=snippet_stride, crop_size=crop_size, length=length,
                                   stacking=stacking, bidirectional=bidirectional,
                                   mean_subtraction=mean_subtraction, flip=flip, color_jitter=color_jitter,
                                   record_dir=record_dir)

    def features_and_targets(seed_pair, record):
        targets = {"label": tf.cast(record["label"], tf.int32), "task": tf.constant(task, tf.int32)}
        return sample(seed_pair, record), targets

    return balanced.map(features_and_targets, num_parallel_calls=AUTOTUNE,
                        deterministic=deterministic)


def train_dataset(sources: list[tuple], streams: str | tuple[str, ...], *, batch_size: int,
                  crop_size: int = 224, length: int = 10, stacking: str = "optical_flow",
                  bidirectional: bool = False, mean_subtraction: bool = True, flip: bool = True,
                  color_jitter: bool = True, snippets: int = 1, snippet_stride: tuple[int, int] = (5, 15),
                  seed: int | None = None, holdout: tuple[int, int] | None = None,
                  cache_decoded: bool = False, readable: dict[str, int] | None = None,
                  input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Infinite class-balanced batches (features, {"label", "task"}) from one or more tasks.

    sources: (record dir, task index) or (record dir, task index, label map); a
    label map (tfx_models.data.extra_classes) relabels a source that adds classes to
    a task. streams: "spatial", "temporal", or several (a model kind's streams),
    drawn jointly per sample. Tasks are drawn with equal probability, classes
    uniformly within a task. With `input_context`, each input pipeline reads
    its own shards and yields per-replica batches. holdout=(folds, fold) leaves
    out the records whose group is in that fold (tfx_models.data.folds). cache_decoded: decode
    each training video's frames once and keep them in memory (uint8: frames and flow of the
    demo's 120 videos take 286 MB) instead of decoding a sample's JPEGs each time it is drawn.
    readable: {shard path: records to read} for damaged shards skipped by data.skip_corrupt.
    """
    streams = (streams,) if isinstance(streams, str) else tuple(streams)
    for stream in streams:
        check_stream_options(stream, length, stacking, bidirectional)
    if snippets < 1:
        raise ValueError(f"snippets must be >= 1, got {snippets}")
    if not sources:
        raise ValueError("train_dataset needs at least one (record dir, task index) source")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    per_source = []
    for position, (record_dir, task, *label_map) in enumerate(sources):
        per_source.append(_source_samples(
            record_dir, task, streams, crop_size=crop_size, length=length, stacking=stacking,
            bidirectional=bidirectional, mean_subtraction=mean_subtraction, flip=flip,
            color_jitter=color_jitter, snippets=snippets, snippet_stride=tuple(snippet_stride),
            seed=None if seed is None else seed + 7919 * position, input_context=input_context,
            holdout=holdout, label_map=tuple(label_map[0]) if label_map else None,
            cache_decoded=cache_decoded, readable=readable))
    if len(per_source) == 1:
        samples = per_source[0]
    else:
        samples = tf.data.Dataset.sample_from_datasets(per_source, weights=_source_weights(sources), seed=seed)
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    return samples.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)


def _source_weights(sources: list[tuple]) -> list[float]:
    """Each task 1/tasks; within a task, each source in proportion to the classes it brings."""
    classes = [len([c for c in source[2] if c >= 0]) if len(source) > 2
               else len(read_dataset_info(source[0])["classes"]) for source in sources]
    tasks = [source[1] for source in sources]
    per_task = {task: sum(n for n, t in zip(classes, tasks) if t == task) for task in set(tasks)}
    return [n / per_task[t] / len(per_task) for n, t in zip(classes, tasks)]
