"""Render one ingested record as a PNG: RGB frames above their HSV-coloured flow.

    python -m beam_pipelines.visualize --records out/ucf101-s1 --subset test --index 0 --out rec.png

A quick look tells whether decoding, resizing and flow direction are sane
(hue = direction, brightness = magnitude; see media.flow.flow_to_rgb).
"""
from __future__ import annotations

import argparse
import io
import sys

import matplotlib

matplotlib.use("Agg")  # files only; no display on workers or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from beam_pipelines.storage import BEAM  # noqa: E402
from media.flow import flow_to_rgb  # noqa: E402
from media.records import VideoRecord, decode_record  # noqa: E402
from media.shards import SUBSETS, iter_records  # noqa: E402


def load_record(records_dir: str, subset: str, index: int) -> VideoRecord:
    """The index-th record of a subset, counting through shards in name order."""
    if index < 0:
        raise ValueError(f"--index must be >= 0, got {index}")
    count = 0
    for raw in iter_records(records_dir, subset, BEAM):
        if count == index:
            return decode_record(raw)
        count += 1
    raise IndexError(f"{records_dir}: {subset} has {count} records, no index {index}")


def render(record: VideoRecord, num_frames: int = 4) -> bytes:
    """PNG bytes: up to num_frames evenly spaced frames, with the flow that leaves each."""
    pairs = len(record.flow)
    picks = np.unique(np.linspace(0, pairs - 1, min(num_frames, pairs)).round().astype(int))
    # One colour scale for the whole row, so magnitudes compare across columns.
    scale = max(float(np.linalg.norm(record.flow[picks], axis=-1).max()), 1e-6)
    fig, axes = plt.subplots(2, len(picks), figsize=(3 * len(picks), 5), squeeze=False)
    for column, t in enumerate(picks):
        axes[0, column].imshow(record.frames[t])
        axes[0, column].set_title(f"frame {t}")
        axes[1, column].imshow(flow_to_rgb(record.flow[t], max_magnitude=scale))
        axes[1, column].set_title(f"flow {t}->{t + 1}")
        for ax in axes[:, column]:
            ax.axis("off")
    fig.suptitle(f"{record.id}  label {record.label} ({record.label_name})  "
                 f"{record.flow_algorithm}, max |flow| {scale:.1f} px")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def run(argv=None) -> str:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.visualize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, help="ingest output folder (local or gs://)")
    parser.add_argument("--subset", default="test", choices=SUBSETS)
    parser.add_argument("--index", type=int, default=0, help="record position within the subset")
    parser.add_argument("--frames", type=int, default=4, help="columns to show")
    parser.add_argument("--out", required=True, help="PNG path (local or gs://)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error(f"--frames must be >= 1, got {args.frames}")
    try:
        record = load_record(args.records, args.subset, args.index)
    except (FileNotFoundError, IndexError, ValueError) as err:
        parser.exit(2, f"visualize: {err}\n")
    with BEAM.create(args.out) as f:
        f.write(render(record, args.frames))
    print(args.out)
    return args.out


if __name__ == "__main__":
    run(sys.argv[1:])
