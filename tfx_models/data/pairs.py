"""Training pairs for the Siamese model: two views of one moment, or frames of two different classes.

A similar pair is the frame at index t of a clip seen by camera 0 and the frame
at the same index t of the same clip seen by camera 1 (records of one `group`,
views 0 and 1); a dissimilar pair is a frame of a video of class c and a frame
of a video of another class, from either view. Frames are taken one in
`frame_step` (0, step, 2 step, ...) as in the report, and `ratio` dissimilar
pairs are drawn per similar pair (the report used 1:20).

The frames a pair can use are indexed once, when the dataset is built: one pass
over the train records through tf.data keeps each record's id, group, view,
label and the JPEG strings of its frames at the step (1/step of the RGB JPEGs,
held in memory; nothing is decoded). A record whose partner view is missing,
or a group with two records of one view, is an error naming the record. After
that every pair is drawn in-graph from a seed (tf.data, no per-epoch Python
loop): classes uniformly, then a pair or a frame within the class.

Each image gets its own crop, flip and colour jitter, drawn as the spatial
sampler draws them (tfx_models.input_pipeline.augmented_frame).

Targets: `similar` s (1 = the two images show the same moment, 0 = different
classes), `label_a`/`label_b` and `label_mask_a`/`label_mask_b` (1 when that
image's view is among the labelled views: with labels on view 0 only, no view-1
label reaches a softmax loss), plus what the pair is made of, for checks:
`record_a`/`record_b` (positions in PairIndex.ids), `frame_a`/`frame_b`,
`view_a`/`view_b`. The class of a view-1 frame in a dissimilar pair is known
from its view-0 partner, the same clip, so no view-1 label is needed to draw it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from media.records import parse_record_tf
from media.shards import list_shards, read_dataset_info
from tfx_models.data.pipeline import AUTOTUNE, augmented_frame

VIEWS = (0, 1)  # the two cameras a similar pair joins


class PairError(ValueError):
    """The records cannot be paired (a missing partner view, a duplicate, mismatched labels)."""


@dataclass(frozen=True)
class PairIndex:
    """The frames pairs are drawn from. Frame f is frame `frame_index[f]` of record `frame_record[f]`."""

    ids: tuple[str, ...]        # record ids; record number = position
    views: np.ndarray           # [R] view of each record
    labels: np.ndarray          # [R]
    frame_record: np.ndarray    # [F]
    frame_index: np.ndarray     # [F]
    jpegs: tuple[bytes, ...]    # [F] RGB JPEG of each frame
    similar: np.ndarray         # [P,2] frame numbers (view 0, view 1) of one group and frame index
    num_classes: int

    @property
    def jpeg_bytes(self) -> int:
        return sum(len(j) for j in self.jpegs)


def _records_at_step(record_dir: str, subset: str, frame_step: int) -> tf.data.Dataset:
    files = list_shards(record_dir, subset)

    def keep(record):
        return {"id": record["id"], "group": record["group"], "view": record["view"],
                "label": record["label"], "rgb": record["rgb"][::frame_step]}

    return tf.data.TFRecordDataset(files).map(parse_record_tf).map(keep)


def build_pair_index(record_dir: str, *, frame_step: int = 10, subset: str = "train") -> PairIndex:
    """One pass over the records; raises PairError naming the record that cannot be paired."""
    if frame_step < 1:
        raise ValueError(f"frame_step must be >= 1, got {frame_step}")
    num_classes = len(read_dataset_info(record_dir)["classes"])
    ids, groups, views, labels, frames = [], [], [], [], []
    for record in _records_at_step(record_dir, subset, frame_step).as_numpy_iterator():
        ids.append(record["id"].decode())
        groups.append(record["group"].decode())
        views.append(int(record["view"]))
        labels.append(int(record["label"]))
        frames.append(list(record["rgb"]))
    where = f"{record_dir} ({subset} records)"
    by_group: dict[str, dict[int, int]] = defaultdict(dict)
    for number, (group, view) in enumerate(zip(groups, views)):
        if view not in VIEWS:
            continue
        if view in by_group[group]:
            raise PairError(f"{where}: records {ids[by_group[group][view]]} and {ids[number]} are both view "
                            f"{view} of group {group!r}; a group holds one record per view")
        by_group[group][view] = number
    frame_record, frame_index, jpegs, first_frame = [], [], [], []
    for number, jpeg_list in enumerate(frames):
        first_frame.append(len(jpegs))
        frame_record += [number] * len(jpeg_list)
        frame_index += [i * frame_step for i in range(len(jpeg_list))]
        jpegs += jpeg_list
    similar = []
    for group in sorted(by_group):
        members = by_group[group]
        for view in VIEWS:
            if view not in members:
                present = members[1 - view]
                raise PairError(f"{where}: record {ids[present]} (group {group!r}, view {1 - view}) has no "
                                f"view-{view} partner; every clip needs views {VIEWS}")
        a, b = members[0], members[1]
        if labels[a] != labels[b]:
            raise PairError(f"{where}: records {ids[a]} and {ids[b]} show one clip (group {group!r}) "
                            f"but have labels {labels[a]} and {labels[b]}")
        common = min(len(frames[a]), len(frames[b]))
        similar += [(first_frame[a] + i, first_frame[b] + i) for i in range(common)]
    if not ids:
        raise PairError(f"{where}: no records")
    if not similar:
        raise PairError(f"{where}: no clip has frames in both views {VIEWS}")
    frame_record = np.asarray(frame_record, np.int32)
    if len(set(np.asarray(labels)[frame_record])) < 2:
        raise PairError(f"{where}: dissimilar pairs need frames of at least two classes")
    return PairIndex(ids=tuple(ids), views=np.asarray(views, np.int32), labels=np.asarray(labels, np.int32),
                     frame_record=frame_record, frame_index=np.asarray(frame_index, np.int32),
                     jpegs=tuple(jpegs), similar=np.asarray(similar, np.int32).reshape(-1, 2),
                     num_classes=num_classes)


def _by_class(items: np.ndarray, item_labels: np.ndarray, num_classes: int):
    """items sorted by class, each class's start and count, and the classes that have items."""
    order = np.argsort(item_labels, kind="stable")
    counts = np.bincount(item_labels, minlength=num_classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    present = np.flatnonzero(counts)
    return (tf.constant(items[order], tf.int32), tf.constant(starts, tf.int32), tf.constant(counts, tf.int32),
            tf.constant(present, tf.int32))


def pair_samples(index: PairIndex, *, crop_size: int, ratio: float, labelled_views=(0,), flip: bool = True,
                 color_jitter: bool = True, seed: int | None = None) -> tf.data.Dataset:
    """An infinite dataset of ({"rgb_a", "rgb_b"}, targets) pairs (see the module docstring)."""
    if ratio <= 0:
        raise ValueError(f"ratio (dissimilar pairs per similar pair) must be > 0, got {ratio}")
    frame_labels = index.labels[index.frame_record]
    frames, frame_start, frame_count, frame_classes = _by_class(
        np.arange(len(index.jpegs), dtype=np.int32), frame_labels, index.num_classes)
    pairs, pair_start, pair_count, pair_classes = _by_class(
        np.arange(len(index.similar), dtype=np.int32), frame_labels[index.similar[:, 0]], index.num_classes)
    similar = tf.constant(index.similar, tf.int32)
    jpegs = tf.constant(index.jpegs, tf.string)
    frame_record = tf.constant(index.frame_record, tf.int32)
    frame_index = tf.constant(index.frame_index, tf.int32)
    views = tf.constant(index.views, tf.int32)
    labels = tf.constant(index.labels, tf.int32)
    labelled = tf.constant(sorted(set(labelled_views)) or [-1], tf.int32)
    p_similar = 1.0 / (1.0 + ratio)

    def uniform(seed, high):
        return tf.random.stateless_uniform([], seed, 0, high, dtype=tf.int32)

    def frame_of_class(seed, label):
        return frames[frame_start[label] + uniform(seed, frame_count[label])]

    def draw(seed):
        seeds = tf.random.experimental.stateless_split(seed, 7)
        is_similar = tf.random.stateless_uniform([], seeds[0]) < p_similar

        def similar_pair():
            label = pair_classes[uniform(seeds[1], tf.size(pair_classes))]
            pair = similar[pairs[pair_start[label] + uniform(seeds[2], pair_count[label])]]
            return pair[0], pair[1]

        def dissimilar_pair():
            classes = tf.size(frame_classes)
            first = uniform(seeds[1], classes)
            other = (first + 1 + uniform(seeds[3], classes - 1)) % classes
            return (frame_of_class(seeds[2], frame_classes[first]),
                    frame_of_class(seeds[4], frame_classes[other]))

        a, b = tf.cond(is_similar, similar_pair, dissimilar_pair)
        features, targets = {}, {"similar": tf.cast(is_similar, tf.int32)}
        for side, frame, image_seed in (("a", a, seeds[5]), ("b", b, seeds[6])):
            record = frame_record[frame]
            view = views[record]
            features[f"rgb_{side}"] = augmented_frame(jpegs, frame, image_seed, crop_size=crop_size, flip=flip,
                                                      color_jitter=color_jitter)
            targets.update({f"label_{side}": labels[record],
                            f"label_mask_{side}": tf.cast(tf.reduce_any(tf.equal(labelled, view)), tf.float32),
                            f"record_{side}": record, f"frame_{side}": frame_index[frame], f"view_{side}": view})
        return features, targets

    deterministic = seed is not None
    return tf.data.Dataset.random(seed=seed).batch(2).map(draw, num_parallel_calls=AUTOTUNE,
                                                           deterministic=deterministic)


def train_pair_dataset(record_dir: str, *, batch_size: int, crop_size: int, ratio: float, frame_step: int,
                       labelled_views=(0,), flip: bool = True, color_jitter: bool = True,
                       seed: int | None = None,
                       input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Batches of pairs; with `input_context`, each input pipeline draws its own pairs (its own seed)
    and yields per-replica batches."""
    index = build_pair_index(record_dir, frame_step=frame_step)
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        if seed is not None:
            seed += 104_729 * input_context.input_pipeline_id
    samples = pair_samples(index, crop_size=crop_size, ratio=ratio, labelled_views=labelled_views, flip=flip,
                           color_jitter=color_jitter, seed=seed)
    return samples.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)
