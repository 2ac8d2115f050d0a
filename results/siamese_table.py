"""The Siamese table from results/siamese_table.sh's runs and evaluations.

    python -m results.siamese_table --out out/siamese --runs view0_softmax siamese both_softmax

Per run: video accuracy on the view-1 and the view-0 test videos (read from
`<out>/eval/<run>/view<v>/`, written by tfx_models.evaluate), cross-view
retrieval, and the view-1 recall by cue (results.recall_by_cue's groups).
Retrieval: every test clip contributes `--frames` equally spaced centre crops
per view; for each view-1 frame, are its nearest view-0 frames (Euclidean
distance between embeddings) from the same clip: top-1, and any of the top 5.
The embedding is the run's `embedding` output (a Siamese branch), else its
tower's fc7 (a softmax-only net), so every row is measured the same way.
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import keras
import numpy as np

from results.paired_rows import compare_outcomes, row_outcomes, section, single_row_source
from results.recall_by_cue import GROUPS, by_cue, single_row
from media.records import decode_record
from media.shards import iter_records
from media.stacking import video_test_batch
from tfx_models.runs import load_model_from_run

ROWS = {"view0_softmax": "Softmax, labels on view 0",
        "siamese": "Siamese: softmax on view-0 labels + contrastive on pairs",
        "both_softmax": "Softmax, labels on both views (upper bound)"}


def embedding_model(model: keras.Model) -> keras.Model:
    """rgb -> embedding: the model's `embedding` output, else its tower's fc7."""
    if "embedding" in model.output:
        return keras.Model(model.input, model.output["embedding"])
    tower = model.get_layer("tower")
    return keras.Model(tower.input, tower.output["fc7"])


def clip_embeddings(model: keras.Model, record_dir: str, *, frames: int, crop_size: int):
    """(clip of each embedded frame, embeddings [N,D]) over the record dir's test videos."""
    embed = embedding_model(model)
    clips, vectors = [], []
    for serialized in iter_records(record_dir, "test"):
        record = decode_record(serialized)
        batch = video_test_batch(record.frames, None, streams=("spatial",), num_frames=frames, crops=1,
                                 crop_size=crop_size)["rgb"]
        vectors.append(np.asarray(embed.predict_on_batch(batch)))
        clips += [record.group] * len(batch)
    return np.asarray(clips), np.concatenate(vectors)


def retrieval(query, query_clips, gallery, gallery_clips, ks=(1, 5)) -> dict[int, float]:
    """Fraction of queries with a same-clip gallery item among their k nearest, per k."""
    distances = ((query[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
    order = np.argsort(distances, axis=1, kind="stable")
    same = gallery_clips[order] == query_clips[:, None]
    return {k: float(same[:, :k].any(axis=1).mean()) for k in ks}


def paired_section(out: str, runs: list[str]) -> str:
    """The Siamese net against softmax on view 0's labels, on the same view-1 test videos."""
    if not {"siamese", "view0_softmax"} <= set(runs):
        return ""
    sources = [single_row_source(os.path.join(out, "eval", run, "view1")) for run in ("siamese", "view0_softmax")]
    if None in sources:
        return ""
    (a, dataset), (b, _) = (row_outcomes(*source) for source in sources)
    return section([(ROWS["siamese"], ROWS["view0_softmax"], "a > b",
                     compare_outcomes(a, b, "a > b", dataset=dataset, what="the two view-1 evaluations"))])


def table(out: str, runs: list[str], frames: int) -> tuple[str, dict]:
    rows, lines = {}, []
    cue_names = list(GROUPS.values())
    lines.append("| Method | view 1 (unlabelled view) | view 0 | retrieval top-1 | retrieval top-5 | "
                 + " | ".join(f"view-1 recall, {c}" for c in cue_names) + " |")
    lines.append("|---|" + "---|" * (4 + len(cue_names)))
    for run in runs:
        run_dir = os.path.join(out, "runs", run)
        model, info = load_model_from_run(run_dir)
        (acc1, recall1), (acc0, _) = (single_row(os.path.join(out, "eval", run, f"view{v}")) for v in (1, 0))
        queries = clip_embeddings(model, os.path.join(out, "records", "multiview_view1"), frames=frames,
                                  crop_size=info["crop_size"])
        gallery = clip_embeddings(model, os.path.join(out, "records", "multiview_view0"), frames=frames,
                                  crop_size=info["crop_size"])
        found = retrieval(queries[1], queries[0], gallery[1], gallery[0])
        cues = by_cue(recall1, "multiview")
        rows[run] = {"view1_accuracy": acc1, "view0_accuracy": acc0, "retrieval_top1": found[1],
                     "retrieval_top5": found[5], "view1_recall_by_cue": cues, "kind": info["kind"]}
        cells = [acc1, acc0, found[1], found[5]] + [cues.get(c) for c in cue_names]
        lines.append(f"| {ROWS.get(run, run)} | "
                     + " | ".join("-" if v is None else f"{100 * v:.1f}%" for v in cells) + " |")
    pairs = paired_section(out, runs)
    if pairs:
        lines += ["", "Paired, on the view-1 test videos:", "", pairs.rstrip()]
    return "\n".join(lines), rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.siamese_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="OUT of results/siamese_table.sh")
    parser.add_argument("--runs", nargs="+", required=True, help="run names under <out>/runs")
    parser.add_argument("--frames", type=int, default=5, help="equally spaced frames per clip for retrieval")
    args = cli.add_flags(parser).parse_args(argv)
    markdown, rows = table(args.out, args.runs, args.frames)
    with open(os.path.join(args.out, "table.json"), "w") as f:
        json.dump(rows, f, indent=2, sort_keys=True)
    print(markdown)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
