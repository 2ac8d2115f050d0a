"""Video-level evaluation of trained streams and their late fusion (Sect. 6, Tables 1b and 3).

Every test video gets num_frames x crops inputs (25 x 10 by default, built by
media.stacking.video_test_batch); a model's class scores are the mean of its
softmax over those inputs. Rows: each spatial model, each temporal model (one
per input configuration), and for a spatial + temporal pair fusion by averaging
and by a linear SVM trained on the training videos' scores (the paper's) or, given
cross-fitted runs (`--svm_fold_run`, see tfx_models.data.folds), on their out-of-fold scores.

    python -m tfx_models.evaluate --spatial RUN --temporal RUN [--temporal RUN2] [--run RUN ...] --out DIR

`--run` takes a run of any model kind (e.g. conv_fusion): a model that sees
both streams gets joint test inputs (RGB frame and flow volume from the same
frame and crop, T snippets per input), as its training sampler drew them.

Runs are grouped into splits by the record dir they are evaluated on (their
own, or --records); results.md shows each split and the mean over splits.
"""
from __future__ import annotations

import argparse
import itertools
import os
import re
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from media import ceilings
from media.shards import read_dataset_info
from media.stacking import STACKINGS
from tfx_models import cli, kinds, runs
from tfx_models.data import damage
from tfx_models.data.test_clips import record_test_inputs
from tfx_models.evaluation import late_fusion, metrics

AVERAGE_ROW = "Two-stream: fusion by averaging"
SVM_ROW = "Two-stream: fusion by SVM"
SVM_OOF_ROW = "Two-stream: fusion by SVM on out-of-fold scores"


@dataclass(frozen=True)
class InputConfig:
    """How a model's test inputs are built (shared between models with equal configs)."""

    stream: str  # "spatial", "temporal", or "joint" (both streams into one model)
    crop_size: int
    length: int = 10
    stacking: str = "optical_flow"
    bidirectional: bool = False
    mean_subtraction: bool = True
    snippets: int = 1
    snippet_stride: int = 10
    # The test-time sampler of the run's kind (ModelKind.test_sampler); models without a run use
    # the record sampler every kind shares today.
    sampler: Callable = record_test_inputs

    @property
    def streams(self) -> tuple[str, ...]:
        return ("spatial", "temporal") if self.stream == "joint" else (self.stream,)

    @property
    def joint(self) -> bool:
        """Joint test sampling: both streams into one model, or T-frame clips of one (a 3D net)."""
        return self.stream == "joint" or self.snippets > 1


@dataclass
class EvalModel:
    label: str
    model: keras.Model
    inputs: InputConfig
    output: str  # the output key holding the softmax scores for this dataset
    # A head over more classes than the dataset's (trained with extra classes, which follow the
    # dataset's own): scores are its first `columns`, renormalised. None: the whole head.
    columns: int | None = None

    def scores(self, features: dict, batch_size: int) -> np.ndarray:
        probabilities = _predict(self.model, self.output, features, batch_size)
        if self.columns is None:
            return probabilities
        own = probabilities[:, :self.columns]
        return own / np.maximum(own.sum(axis=1, keepdims=True), 1e-12)


def _input_shapes(model: keras.Model) -> dict:
    tensors = model.input if isinstance(model.input, dict) else {t.name: t for t in model.inputs}
    return {name: tuple(t.shape[1:]) for name, t in tensors.items()}


def eval_model(label: str, model: keras.Model, settings: dict, dataset: str,
                dataset_classes: list[str]) -> EvalModel:
    """Checks a model against the I/O contract and reads its input configuration."""
    shapes = _input_shapes(model)
    snippets = 1
    if set(shapes) == {"rgb"}:
        stream, rgb_shape = "spatial", shapes["rgb"]
        if len(rgb_shape) == 4:  # a clip model (3D ConvNet): [T,c,c,3]
            snippets, rgb_shape = rgb_shape[0], rgb_shape[1:]
        crop_size, length = rgb_shape[0], 10
    elif set(shapes) == {"flow"}:
        stream, flow_shape = "temporal", shapes["flow"]
        if len(flow_shape) == 4:
            snippets, flow_shape = flow_shape[0], flow_shape[1:]
        crop_size, _, channels = flow_shape
        length = channels // 2
    elif set(shapes) == {"rgb", "flow"}:
        stream, flow_shape = "joint", shapes["flow"]
        if len(flow_shape) == 4:
            snippets, flow_shape = flow_shape[0], flow_shape[1:]
        crop_size, _, channels = flow_shape
        length = channels // 2
    else:
        raise ValueError(f"model {label!r}: inputs {sorted(shapes)}; expected 'rgb' [N,(T,)c,c,3] and/or "
                         "'flow' [N,(T,)c,c,2L]")
    sampler = kinds.get(settings["kind"]).test_sampler if "kind" in settings else record_test_inputs
    config = InputConfig(stream=stream, crop_size=int(crop_size), length=int(length), snippets=int(snippets),
                         sampler=sampler)
    if settings.get("snippet_stride"):
        low, high = settings["snippet_stride"]
        config = replace(config, snippet_stride=int(round((low + high) / 2)))
    for key in ("stacking", "bidirectional", "mean_subtraction"):
        if stream != "spatial" and settings.get(key) is not None:
            config = replace(config, **{key: settings[key]})
    for key in ("crop_size", "length") if stream != "spatial" else ("crop_size",):
        if settings.get(key) is not None and settings[key] != getattr(config, key):
            raise ValueError(f"model {label!r}: settings {key}={settings[key]} but its input "
                             f"implies {getattr(config, key)}")
    if config.stacking not in STACKINGS:
        raise ValueError(f"model {label!r}: stacking {config.stacking!r} not in {STACKINGS}")
    outputs = set(model.output) if isinstance(model.output, dict) else set()
    output = "probabilities" if "probabilities" in outputs else f"probabilities_{dataset}"
    if output not in outputs:
        raise ValueError(f"model {label!r}: no output 'probabilities' or {output!r} for dataset "
                         f"{dataset!r}; outputs are {sorted(outputs)}")
    classes, num_classes = model.output[output].shape[-1], len(dataset_classes)
    trained = list(settings.get("classes", {}).get(dataset, []))
    extra = bool(settings.get("extra_records")) and len(trained) == classes \
        and trained[:num_classes] == list(dataset_classes)
    if classes != num_classes and not extra:
        raise ValueError(f"model {label!r}: output {output!r} has {classes} classes, the records "
                         f"of {dataset!r} have {num_classes}")
    return EvalModel(label, model, config, output, columns=num_classes if classes != num_classes else None)


def describe(inputs: InputConfig, run_info: dict | None = None) -> str:
    """A row label in the paper's words, e.g. 'Temporal: optical flow stacking, L=10, mean subtraction'."""
    kind = (run_info or {}).get("kind")
    # Kinds that say what their runs are: joint models, and clip models (3D nets) of one stream.
    if (inputs.stream == "joint" or inputs.snippets > 1) and kind in kinds.KINDS \
            and kinds.KINDS[kind].describe is not None:
        return f"{kind}: {kinds.KINDS[kind].describe(run_info)}"
    if inputs.stream == "spatial":
        return "Spatial"
    if inputs.stream == "joint":
        fusion = (run_info or {}).get("fusion") or {}
        where = f"{fusion.get('type', '?')} fusion at {fusion.get('layer', '?')}"
        if inputs.snippets > 1:
            where += f", {fusion.get('mode', '?').replace('_', ' ')}, T={inputs.snippets}"
        if fusion.get("keep_temporal"):
            where += ", temporal tower kept"
        return f"{(run_info or {}).get('kind', 'joint')}: {where}"
    method = "trajectory stacking" if inputs.stacking == "trajectory" else "optical flow stacking"
    parts = [method, f"L={inputs.length}"]
    if inputs.bidirectional:
        parts.append("bi-directional")
    parts.append("mean subtraction" if inputs.mean_subtraction else "no mean subtraction")
    return "Temporal: " + ", ".join(parts)


def _ahead(iterator):
    """Builds the next video's inputs on a thread while the model runs on the current one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(next, iterator, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, iterator, None)
            yield item


# Inputs per model call. Crops of several videos share a call, so a 25 x 1 protocol fills its
# batches as 25 x 10 does (benchmarks.eval_benchmark measures the rate against forward-only).
BATCH_SIZE = 250


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _forward(model: keras.Model, output: str):
    """The model's inference pass as one traced function returning only `output`, kept per model
    (the batch dimension is left free after the first two shapes, so a short last batch does not
    trace again and again)."""
    own = _FORWARDS.setdefault(model, {})
    if output not in own:
        own[output] = tf.function(lambda features: model(features, training=False)[output],
                                  reduce_retracing=True)
    return own[output]


def _predict(model: keras.Model, output: str, features: dict, batch_size: int) -> np.ndarray:
    forward = _forward(model, output)
    count = len(next(iter(features.values())))
    parts = [forward({k: tf.convert_to_tensor(v[i:i + batch_size]) for k, v in features.items()})
             for i in range(0, count, batch_size)]
    return np.concatenate([p.numpy() for p in parts])


def _packs(videos, inputs: int):
    """Videos gathered into lists holding at least `inputs` test inputs (the last may hold fewer)."""
    pack, held = [], 0
    for video in videos:
        pack.append(video)
        held += len(next(iter(video.features.values())))
        if held >= inputs:
            yield pack
            pack, held = [], 0
    if pack:
        yield pack


def score_videos(models: list[EvalModel], record_dir: str, subset: str, *, num_frames: int,
                 crops: int, batch_size: int, fold: tuple[int, int] | None = None,
                 limit: int | None = None) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """(video ids, labels, {label: mean softmax [V,C]}); models with equal inputs share them.

    Inputs are built on a thread while the model runs, and the inputs of several videos share
    model calls of batch_size. fold=(folds, k): only the videos of fold k's groups; limit: only
    the first `limit` videos (benchmarks)."""
    groups: dict[InputConfig, list[EvalModel]] = {}
    for entry in models:
        groups.setdefault(entry.inputs, []).append(entry)
    ids, labels, scores = None, None, {}
    for config, entries in groups.items():
        keys = [{"spatial": "rgb", "temporal": "flow"}[s] for s in config.streams]
        videos = config.sampler(
            record_dir, subset, config.streams, num_frames=num_frames, crops=crops,
            crop_size=config.crop_size, length=config.length, stacking=config.stacking,
            bidirectional=config.bidirectional, mean_subtraction=config.mean_subtraction,
            joint=config.joint, snippets=config.snippets, snippet_stride=config.snippet_stride,
            fold=fold)
        if limit is not None:
            videos = itertools.islice(videos, limit)
        group_ids, group_labels = [], []
        per_model = {e.label: [] for e in entries}
        for pack in _ahead(_packs(videos, batch_size)):
            group_ids += [video.id for video in pack]
            group_labels += [video.label for video in pack]
            counts = [len(video.features[keys[0]]) for video in pack]
            # One video fills a 25 x 10 pack: its arrays go in as they are (a copy is a pass over 128 MB).
            features = {k: (pack[0].features[k] if len(pack) == 1
                            else np.concatenate([video.features[k] for video in pack])) for k in keys}
            for e in entries:
                probabilities = e.scores(features, batch_size)
                per_model[e.label] += [part.mean(axis=0)
                                       for part in np.split(probabilities, np.cumsum(counts)[:-1])]
            del features, pack  # so the input builder may reuse their arrays (media.stacking.Buffers)
        if ids is not None and group_ids != ids:
            raise RuntimeError(f"{record_dir}: {subset} records were read in a different order twice")
        ids, labels = group_ids, np.asarray(group_labels)
        scores.update({name: np.stack(values) for name, values in per_model.items()})
    if not ids:
        where = "" if fold is None else f" in fold {fold[1]} of {fold[0]}"
        raise ValueError(f"{record_dir}: no {subset} videos{where}")
    return ids, labels, scores


@dataclass
class FoldModel:
    """A cross-fitted run: trained without the groups of `fold` (one of `folds`)."""

    entry: EvalModel
    folds: int
    fold: int


def out_of_fold_scores(fold_models: list[FoldModel], pair: tuple[EvalModel, EvalModel], record_dir: str, *,
                       num_frames: int, crops: int, batch_size: int
                       ) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """(video ids, labels, [spatial, temporal] scores) of every training video, each scored by the
    pair's cross-fitted runs that never saw its group."""
    by_key: dict[tuple[InputConfig, int], FoldModel] = {}
    for f in fold_models:
        if f.entry.inputs in (pair[0].inputs, pair[1].inputs):
            if (f.entry.inputs, f.fold) in by_key:
                raise ValueError(f"two cross-fitted runs for {f.entry.label!r} fold {f.fold}")
            by_key[(f.entry.inputs, f.fold)] = f
    counts = sorted({f.folds for f in by_key.values()})
    if len(counts) != 1:
        raise ValueError(f"cross-fitted runs for {pair[0].label!r} + {pair[1].label!r}: data.folds "
                         f"{counts or 'none given'}; they must all use the same number of folds")
    folds = counts[0]
    missing = [f"{e.label} (fold {k})" for e in pair for k in range(folds) if (e.inputs, k) not in by_key]
    if missing:
        raise ValueError(f"out-of-fold SVM needs a run per stream and fold of {folds}; missing: "
                         + "; ".join(missing))
    all_ids, labels, scores, seen = [], [], ([], []), set()
    for k in range(folds):
        entries = [replace(by_key[(e.inputs, k)].entry, label=str(i)) for i, e in enumerate(pair)]
        ids, fold_labels, fold_scores = score_videos(entries, record_dir, "train", num_frames=num_frames,
                                                     crops=crops, batch_size=batch_size, fold=(folds, k))
        if seen & set(ids):
            raise RuntimeError(f"{record_dir}: videos {sorted(seen & set(ids))[:3]} fall in two folds")
        seen.update(ids)
        all_ids.extend(ids)
        labels.append(fold_labels)
        for i in range(2):
            scores[i].append(fold_scores[str(i)])
    return all_ids, np.concatenate(labels), [np.concatenate(s) for s in scores]


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _evaluate_split(models: dict[str, keras.Model], record_dir: str, split: str, out_dir: str, *,
                    settings: dict[str, dict], subset: str, num_frames: int, crops: int,
                    batch_size: int, svm: bool, svm_frames: int, svm_crops: int,
                    svm_c: float, fold_runs: list[tuple[str, keras.Model, dict]] = (),
                    verify: bool = False) -> dict[str, dict]:
    """Scores, fusions and metric files of one split; returns {row label: metrics summary}."""
    info = read_dataset_info(record_dir)
    damage.check_record_dir(record_dir, info, verify=verify)  # a damaged shard stops it before any scoring
    classes = list(info["classes"])
    entries = [eval_model(label, model, settings.get(label, {}), info["dataset"], classes)
               for label, model in models.items()]
    fold_models = [FoldModel(eval_model(label, model, run_info, info["dataset"], classes),
                             int(run_info["folds"]), int(run_info["holdout_fold"]))
                   for label, model, run_info in fold_runs]
    ids, labels, scores = score_videos(entries, record_dir, subset, num_frames=num_frames,
                                       crops=crops, batch_size=batch_size)
    split_dir = os.path.join(out_dir, slug(split))
    tf.io.gfile.makedirs(split_dir)
    rows = dict(scores)
    views = {e.label: row_view(e.inputs, settings.get(e.label, {})) for e in entries}
    spatial = [e for e in entries if e.inputs.stream == "spatial"]
    temporal = [e for e in entries if e.inputs.stream == "temporal"]
    if spatial and temporal:
        pairs = [(spatial[0], t) for t in temporal]
        if svm:
            train_ids, train_labels, train_scores = score_videos(
                [spatial[0], *temporal], record_dir, "train", num_frames=svm_frames,
                crops=svm_crops, batch_size=batch_size)
        for s, t in pairs:
            suffix = "" if len(temporal) == 1 else f" ({t.label})"
            late_view = ceilings.View(True, True, span=views[t.label].span)  # two streams, never bound
            views.update({row + suffix: late_view for row in (AVERAGE_ROW, SVM_ROW, SVM_OOF_ROW)})
            rows[AVERAGE_ROW + suffix] = late_fusion.average_scores(scores[s.label], scores[t.label])
            if svm:
                fusion = late_fusion.SvmFusion.fit(train_scores[s.label], train_scores[t.label],
                                                   train_labels, c=svm_c)
                fusion.save(os.path.join(split_dir, slug(SVM_ROW + suffix)),
                            info={"spatial": s.label, "temporal": t.label, "classes": classes,
                                  "record_dir": record_dir, "train_videos": len(train_ids),
                                  "train_ids": list(train_ids)})
                rows[SVM_ROW + suffix] = fusion.scores(scores[s.label], scores[t.label])
            if fold_models:
                oof_ids, oof_labels, (oof_spatial, oof_temporal) = out_of_fold_scores(
                    fold_models, (s, t), record_dir, num_frames=svm_frames, crops=svm_crops,
                    batch_size=batch_size)
                fusion = late_fusion.SvmFusion.fit(oof_spatial, oof_temporal, oof_labels, c=svm_c)
                fusion.save(os.path.join(split_dir, slug(SVM_OOF_ROW + suffix)),
                            info={"spatial": s.label, "temporal": t.label, "classes": classes,
                                  "record_dir": record_dir, "train_videos": len(oof_labels),
                                  "train_ids": oof_ids, "scores": "out of fold", "folds": fold_models[0].folds})
                rows[SVM_OOF_ROW + suffix] = fusion.scores(scores[s.label], scores[t.label])
    metrics.write_npz(os.path.join(split_dir, "video_scores.npz"), ids=np.asarray(ids), labels=labels,
                      **{slug(label): value for label, value in rows.items()})
    table = ceilings.table_for(info)  # None off the synthetic benchmark: no ceiling is known
    results = {}
    for label, row_scores in rows.items():
        summary = metrics.summary(labels, row_scores, classes)
        if table is not None:
            ceiling = ceilings.row_ceiling(table, classes, views[label], labels)
            summary.update(ceiling=ceiling, share_of_ceiling=summary["accuracy"] / ceiling,
                           recall_by_cue=ceilings.recall_by_cue(table, summary["per_class_recall"]),
                           ceiling_by_cue=ceilings.ceiling_by_cue(table, classes, views[label], labels),
                           cue_groups={name: table["classes"][name]["cue_group"] for name in classes})
        results[label] = summary
        base = os.path.join(split_dir, slug(label))
        metrics.write_json(base + ".json", {"row": label, "split": split, **summary})
        metrics.plot_confusion_matrix(np.asarray(summary["confusion_matrix"]), classes,
                                      base + "_confusion.png", f"{label} ({split})")
        recall = metrics.per_class_recall(np.asarray(summary["confusion_matrix"]))
        metrics.plot_per_class_recall(recall, classes, base + "_recall.png", f"{label} ({split})")
    return results


def row_view(inputs: InputConfig, run_info: dict) -> ceilings.View:
    """What a model sees of the benchmark's cues, for its ceiling: a clip of RGB frames shows motion
    too; a joint model fused at an fc layer sees the streams unbound (as late fusion does); over T
    snippets, only a 3D conv orders them (3 at a time), pooling or averaging them does not."""
    fusion = run_info.get("fusion") or {}
    ordered = None
    if inputs.stream == "joint" and inputs.snippets > 1:
        ordered = 3 if fusion.get("mode", "3d_conv_3d_pool") == "3d_conv_3d_pool" else 1
    return ceilings.clip_view(inputs.streams, length=inputs.length, snippets=inputs.snippets,
                              stride=inputs.snippet_stride, bound=not str(fusion.get("layer", "conv5")).startswith("fc"),
                              ordered_snippets=ordered)


def write_report(per_split: dict[str, dict[str, dict]], out_dir: str) -> str:
    """results.json and results.md: accuracy per split and the mean over splits, and on the embedded
    benchmark each row's ceiling, the share of it reached and recall by cue; returns the markdown."""
    splits = list(per_split)
    rows = list(dict.fromkeys(label for split in splits for label in per_split[split]))
    table = {}
    for label in rows:
        present = [per_split[s][label] for s in splits if label in per_split[s]]
        table[label] = {
            "accuracy": {s: per_split[s][label]["accuracy"] for s in splits if label in per_split[s]},
            "mean_class_accuracy": {s: per_split[s][label]["mean_class_accuracy"]
                                    for s in splits if label in per_split[s]},
            "mean_accuracy": float(np.mean([r["accuracy"] for r in present])),
            "mean_mean_class_accuracy": float(np.mean([r["mean_class_accuracy"] for r in present])),
            "videos": {s: per_split[s][label]["videos"] for s in splits if label in per_split[s]},
        }
        if all("ceiling" in r for r in present):
            cues = [r["recall_by_cue"] for r in present]
            table[label].update(
                ceiling={s: per_split[s][label]["ceiling"] for s in splits if label in per_split[s]},
                mean_ceiling=float(np.mean([r["ceiling"] for r in present])),
                mean_share_of_ceiling=float(np.mean([r["share_of_ceiling"] for r in present])),
                recall_by_cue={g: float(np.mean([c[g] for c in cues])) for g in cues[0]})
    groups = list(dict.fromkeys(g for t in table.values() for g in t.get("recall_by_cue", {})))

    def cell(value):
        return "–" if value is None else f"{100 * value:.1f}%"

    header = ["Method"] + [f"{s} accuracy" for s in splits] + ["Mean accuracy", "Mean class accuracy"]
    if groups:
        header += ["Ceiling", "Share of ceiling"] + [f"Recall, {g}" for g in groups]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label in rows:
        t = table[label]
        cells = [label] + [cell(t["accuracy"].get(s)) for s in splits] + [
            cell(t["mean_accuracy"]), cell(t["mean_mean_class_accuracy"])]
        if groups:
            cells += [cell(t.get("mean_ceiling")), cell(t.get("mean_share_of_ceiling"))] + [
                cell(t.get("recall_by_cue", {}).get(g)) for g in groups]
        lines.append("| " + " | ".join(cells) + " |")
    markdown = "\n".join(lines) + "\n"
    tf.io.gfile.makedirs(out_dir)
    with tf.io.gfile.GFile(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(markdown)
    metrics.write_json(os.path.join(out_dir, "results.json"), {"splits": splits, "rows": table})
    return markdown


def evaluate_models(models: dict[str, keras.Model], record_dir: str, out_dir: str, *,
                    split: str | None = None, settings: dict[str, dict] | None = None,
                    subset: str = "test", num_frames: int = 25, crops: int = 10,
                    batch_size: int = BATCH_SIZE, svm: bool = True, svm_frames: int | None = None,
                    svm_crops: int | None = None, svm_c: float = 1.0, verify: bool = False) -> dict:
    """Evaluates in-memory models on one record dir; writes results.md/json, PNGs and metric JSON.

    models: row label -> Keras model honouring the I/O contract (input 'rgb' or
    'flow'). settings: row label -> {stacking, bidirectional, mean_subtraction}
    for temporal models (L and crop size come from the input shape).
    Returns {"rows": {label: summary}, "markdown": table}.
    """
    split = split or _split_name(record_dir)
    rows = _evaluate_split(models, record_dir, split, out_dir, settings=settings or {},
                           subset=subset, num_frames=num_frames, crops=crops,
                           batch_size=batch_size, svm=svm, svm_frames=svm_frames or num_frames,
                           svm_crops=svm_crops or crops, svm_c=svm_c, verify=verify)
    return {"rows": rows, "markdown": write_report({split: rows}, out_dir)}


def _split_name(record_dir: str) -> str:
    info = read_dataset_info(record_dir)
    name = os.path.basename(os.path.normpath(record_dir))
    return f"{info['dataset']} split {info['split']}" if info.get("split") else name


def evaluate_runs(spatial: list[str], temporal: list[str], out_dir: str, *,
                  records: str | None = None, others: list[str] = (), fold_runs: list[str] = (),
                  **options) -> dict:
    """Loads run dirs, groups them into splits by record dir and evaluates every split.

    others: runs of any model kind (their rows are labelled by kind and settings).
    fold_runs: cross-fitted spatial and temporal runs (data.folds >= 2, one per fold and
    stream) whose out-of-fold scores train a second SVM fusion.
    """
    by_dir: dict[str, dict] = {}
    fold_run_dirs = set(fold_runs)
    for run_dir in [*spatial, *temporal, *others, *fold_runs]:
        model, run_info = runs.load_model_from_run(run_dir)
        record_dir = records or (run_info.get("records") or [None])[0]
        if not record_dir:
            raise ValueError(f"{run_dir}/run_info.json: no 'records'; pass --records DIR")
        # One split per record dir, however its local path is spelled; a URL is taken as written.
        key = record_dir.rstrip("/") if "://" in record_dir else os.path.realpath(record_dir)
        group = by_dir.setdefault(key,
                                  {"record_dir": record_dir, "models": {}, "settings": {}, "fold_runs": []})
        if run_dir in fold_run_dirs:
            if not run_info.get("folds"):
                raise ValueError(f"{run_dir}: --svm_fold_run needs a cross-fitted run (data.folds >= 2)")
            group["fold_runs"].append((run_dir, model, run_info))
            continue
        streams = runs.streams_of(run_info)
        label = describe(InputConfig(stream=streams[0] if len(streams) == 1 else "joint",
                                     crop_size=run_info["crop_size"], length=run_info["length"],
                                     stacking=run_info["stacking"], bidirectional=run_info["bidirectional"],
                                     mean_subtraction=run_info["mean_subtraction"],
                                     snippets=run_info.get("snippets", 1)), run_info)
        if label in group["models"]:
            label = f"{label} [{os.path.basename(os.path.normpath(run_dir))}]"
        group["models"][label] = model
        group["settings"][label] = run_info
    per_split = {}
    for group in by_dir.values():
        split = _split_name(group["record_dir"])
        if split in per_split:  # two record dirs of the same split: keep both, named apart
            split = f"{split} ({group['record_dir']})"
        per_split[split] = _evaluate_split(group["models"], group["record_dir"], split, out_dir,
                                           settings=group["settings"], fold_runs=group["fold_runs"],
                                           **options)
    return {"splits": per_split, "markdown": write_report(per_split, out_dir)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tfx_models.evaluate",
        description="Video-level accuracy of trained spatial/temporal runs and their late fusion "
                    "(25 frames x 10 crops per video); writes results.md, results.json, "
                    "per-class recall and confusion-matrix PNG/JSON under --out.")
    parser.add_argument("--spatial", action="append", default=[], metavar="RUN",
                        help="spatial run dir (repeat: one per split)")
    parser.add_argument("--temporal", action="append", default=[], metavar="RUN",
                        help="temporal run dir (repeat: per split and per input configuration)")
    parser.add_argument("--run", action="append", default=[], metavar="RUN",
                        help="run dir of any model kind, e.g. conv_fusion (repeat)")
    parser.add_argument("--records", help="record dir to evaluate on (default: each run's own)")
    parser.add_argument("--out", required=True, help="output folder for the report")
    parser.add_argument("--subset", default="test", choices=("train", "test"))
    parser.add_argument("--num_frames", type=int, default=25, help="equally spaced frames per video")
    parser.add_argument("--crops", type=int, default=10, choices=(1, 2, 5, 10),
                        help="crops per frame: 10 = 4 corners + centre and their flips")
    parser.add_argument("--batch_size", type=int, default=BATCH_SIZE,
                        help="inputs per model call (the inputs of several videos share one)")
    parser.add_argument("--no_svm", action="store_true", help="skip SVM fusion (it scores the train set)")
    parser.add_argument("--svm_frames", type=int, help="frames per training video for SVM features")
    parser.add_argument("--svm_crops", type=int, choices=(1, 2, 5, 10),
                        help="crops per frame for SVM features")
    parser.add_argument("--svm_c", type=float, default=1.0, help="SVM regularisation constant C")
    parser.add_argument("--verify", action="store_true",
                        help="before scoring, read every shard and check its CRC32C and records against "
                             "dataset_info.json (sizes are always checked), as data.verify does for training")
    parser.add_argument("--svm_fold_run", action="append", default=[], metavar="RUN",
                        help="cross-fitted spatial or temporal run (data.folds >= 2; one per stream and "
                             "fold): adds SVM fusion on out-of-fold training scores (repeat)")
    args = cli.add_flags(parser).parse_args(argv)
    if not args.spatial and not args.temporal and not args.run:
        parser.error("give at least one --spatial, --temporal or --run run dir")
    if args.svm_fold_run and args.no_svm:
        parser.error("--svm_fold_run fits an SVM; drop --no_svm")
    result = evaluate_runs(args.spatial, args.temporal, args.out, records=args.records, others=args.run,
                           fold_runs=args.svm_fold_run,
                           subset=args.subset, num_frames=args.num_frames, crops=args.crops,
                           batch_size=args.batch_size, svm=not args.no_svm,
                           svm_frames=args.svm_frames or args.num_frames,
                           svm_crops=args.svm_crops or args.crops, svm_c=args.svm_c, verify=args.verify)
    print(result["markdown"])
    print(f"wrote {args.out}/results.md, results.json and per-split PNG/JSON")

