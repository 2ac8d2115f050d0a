"""Draw what feature amplification does to one test input: the evidence that the gate looks at the
moving object (Park et al. 2016's examples, "Amplified net: Jumping, Spatial net: Boxing").

    python -m tfx_models.visualize_gate --run RUN --records DIR [--subset test] [--index 0] --out gate.png

For the index-th video of a record dir and a trained `amplified` run: the RGB crop, its flow
(HSV: hue = direction, brightness = magnitude; the middle field of the stack), the gate on conv5's
grid, and the spatial net's strongest conv5 channel (the largest total activation before the gate)
before and after amplification, on one colour scale. The title names the classes the amplified
net and the plain spatial net predict for this input: the plain net is --spatial_run if given,
else the run's fusion.spatial_run if it still exists, else the amplified run's own spatial layers
without the gate.
"""
from __future__ import annotations

import argparse
import itertools

import matplotlib

matplotlib.use("Agg")  # files only
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from media.flow import flow_to_rgb  # noqa: E402
from media.records import VideoRecord, decode_record  # noqa: E402
from media.shards import iter_records  # noqa: E402
from media.stacking import evaluation_batch  # noqa: E402
from tfx_models import cli, runs  # noqa: E402
from tfx_models import kinds  # noqa: F401,E402 (registers the kinds runs.load_model_from_run builds)
from tfx_models.evaluation.metrics import save_png  # noqa: E402


def nth_record(records: str, subset: str, index: int) -> VideoRecord:
    if index < 0:
        raise ValueError(f"--index must be >= 0, got {index}")
    raw = next(itertools.islice(iter_records(records, subset), index, None), None)
    if raw is None:
        raise IndexError(f"{records}: the {subset} subset has no record at index {index}")
    return decode_record(raw)


def joint_input(record: VideoRecord, run_info: dict, clip: int, clips: int) -> dict[str, np.ndarray]:
    """One joint test input (centre crop) of the video, as evaluate samples it."""
    batch = evaluation_batch(record.frames, record.flow, record.backward_flow, joint=True,
                             streams=("spatial", "temporal"), num_frames=clips, crops=1,
                             crop_size=run_info["crop_size"], length=run_info["length"],
                             stacking=run_info["stacking"], bidirectional=run_info["bidirectional"],
                             mean_subtraction=run_info["mean_subtraction"])
    if not 0 <= clip < len(batch["rgb"]):
        raise ValueError(f"--clip {clip}: the video gives {len(batch['rgb'])} test clips")
    return {key: value[clip:clip + 1].astype(np.float32) for key, value in batch.items()}


def gate_probe(model: keras.Model) -> keras.Model:
    """The amplified model's gate, conv5 maps before and after it, and its own class scores."""
    outputs = model.output
    key = "amplified_probabilities" if "amplified_probabilities" in outputs else "probabilities"
    return keras.Model(model.input, {"gate": model.get_layer("gate").output,
                                     "before": model.get_layer("amplify").input[0],
                                     "after": model.get_layer("amplify").output,
                                     "probabilities": outputs[key]})


def plain_prediction(model: keras.Model, probed: dict, inputs: dict, spatial_run: str | None):
    """(class scores, label) of the plain spatial net on the same input."""
    if spatial_run:
        spatial, _ = runs.load_model_from_run(spatial_run)
        return np.asarray(spatial({"rgb": inputs["rgb"]})["probabilities"])[0], "Spatial net"
    logits = model.get_layer("logits")(model.get_layer("spatial_top")(probed["before"], training=False))
    return np.asarray(keras.ops.softmax(logits))[0], "Same net without the gate"


def render(record: VideoRecord, inputs: dict, probed: dict, plain: np.ndarray, plain_label: str,
           classes: list[str], path: str) -> None:
    gate = np.asarray(probed["gate"])[0, ..., 0]
    before, after = np.asarray(probed["before"])[0], np.asarray(probed["after"])[0]
    channel = int(before.sum(axis=(0, 1)).argmax())
    scale = max(float(before[..., channel].max()), float(after[..., channel].max()), 1e-6)
    flow = inputs["flow"][0]
    middle = flow.shape[-1] // 4 * 2
    amplified_class = classes[int(np.asarray(probed["probabilities"])[0].argmax())]
    fig, axes = plt.subplots(1, 5, figsize=(16, 3.8))
    axes[0].imshow(np.clip(inputs["rgb"][0], 0, 255).astype(np.uint8))
    axes[0].set_title("frame (centre crop)")
    axes[1].imshow(flow_to_rgb(flow[..., middle:middle + 2]))
    axes[1].set_title(f"flow, field {middle // 2 + 1} of {flow.shape[-1] // 2}")
    # From 0 up, so a gate that is nearly 1 everywhere looks flat.
    shown = axes[2].imshow(gate, cmap="magma", vmin=0, vmax=max(2.0, float(gate.max())))
    axes[2].set_title(f"gate on conv5 ({gate.min():.2f}..{gate.max():.2f}, mean {gate.mean():.2f})")
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    for ax, maps, title in ((axes[3], before, "before"), (axes[4], after, "after")):
        ax.imshow(maps[..., channel], cmap="viridis", vmin=0, vmax=scale)
        ax.set_title(f"conv5 channel {channel}, {title} the gate")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"{record.id} (true: {record.label_name})    Amplified net: {amplified_class}    "
                 f"{plain_label}: {classes[int(plain.argmax())]}")
    fig.tight_layout()
    save_png(fig, path, dpi=80)


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfx_models.visualize_gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run dir of a trained model.kind=amplified run")
    parser.add_argument("--records", help="record dir (default: the run's own)")
    parser.add_argument("--subset", default="test", choices=("train", "test"))
    parser.add_argument("--index", type=int, default=0, help="which video of the subset (shard name order)")
    parser.add_argument("--clip", type=int, default=2, help="which of --clips equally spaced test clips")
    parser.add_argument("--clips", type=int, default=5)
    parser.add_argument("--spatial_run", help="plain spatial run to compare with (default: fusion.spatial_run)")
    parser.add_argument("--out", required=True, help="PNG path")
    args = cli.add_flags(parser).parse_args(argv)
    model, run_info = runs.load_model_from_run(args.run)
    if run_info.get("kind") != "amplified":
        raise SystemExit(f"--run {args.run}: a {run_info.get('kind')!r} run; this draws model.kind=amplified runs")
    if len(run_info["tasks"]) != 1:
        raise SystemExit(f"--run {args.run}: multi-task runs ({run_info['tasks']}) are not drawn")
    records = args.records or run_info["records"][0]
    spatial_run = args.spatial_run
    if spatial_run is None:
        candidate = (run_info.get("fusion") or {}).get("spatial_run")
        spatial_run = candidate if candidate and tf.io.gfile.isdir(candidate) else None
    record = nth_record(records, args.subset, args.index)
    inputs = joint_input(record, run_info, args.clip, args.clips)
    probed = gate_probe(model)(inputs)
    plain, plain_label = plain_prediction(model, probed, inputs, spatial_run)
    render(record, inputs, probed, plain, plain_label, run_info["classes"][run_info["tasks"][0]], args.out)
    print(f"wrote {args.out}")
    return 0  # the exit status (cli.run passes it to sys.exit)

