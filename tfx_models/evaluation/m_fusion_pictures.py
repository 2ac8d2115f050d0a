"""Draw the effects of multiplicative fusion (Park et al. 2016's figure): test videos the m-fusion
model gets right and the plain spatial net gets wrong, and what the product did to the spatial maps.

    python -m tfx_models.visualize_m_fusion --run RUN [--spatial_run S] [--records DIR] [--videos 3] --out PNG

Each test video is classified by both models from --clips equally spaced centre-crop inputs
(class scores averaged). Up to --videos of the videos where m-fusion is right and the spatial net
wrong are drawn, one per true class, in record order. For the middle clip of each, a row: the RGB
crop; the m-fusion model's spatial factor x_s, its temporal factor x_t (times the product's
scales, so product = x_s * x_t) and the product, each averaged over channels; and where the
product amplified or suppressed the spatial evidence: log2(sum_c product / sum_c x_s), relative to
the same ratio over the whole map (printed in the title). The layers after the product were
trained on its scale, so what matters is where it kept more or less of the spatial evidence.

Averaged over channels, not one channel: the product scales every channel at a location by its
own temporal factor, and the layers after it read all channels. The ratio of channel sums is the
temporal factor averaged with the spatial activations as weights, so it tells how much of the
spatial evidence at a location survived (> 0: amplified, < 0: suppressed, against the map's
average), while one chosen channel may say nothing about the rest.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")  # files only
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from media.records import decode_record  # noqa: E402
from media.shards import iter_records  # noqa: E402
from tfx_models import cli, runs  # noqa: E402
from tfx_models import kinds  # noqa: F401,E402 (registers the kinds runs.load_model_from_run builds)
from tfx_models.evaluation.metrics import save_png  # noqa: E402
from tfx_models.evaluation.gate_pictures import joint_input  # noqa: E402

COLUMNS = ("frame (centre crop)", "spatial factor x_s", "temporal factor x_t", "product x_s * x_t",
           "log2(product / x_s), to the map's")


def select_videos(labels, fused: np.ndarray, spatial: np.ndarray, count: int) -> list[int]:
    """Indices of videos m-fusion gets right and the spatial net wrong, one per true class, in order."""
    chosen, classes = [], set()
    for i, label in enumerate(labels):
        if fused[i] == label and spatial[i] != label and label not in classes:
            chosen.append(i)
            classes.add(label)
        if len(chosen) == count:
            break
    return chosen


def effect_maps(xs: np.ndarray, xt: np.ndarray, scales=(1.0, 1.0)) -> dict:
    """Channel means [h,w] of the scaled factors and their product; `overall` = sum product / sum x_s
    over the map; `ratio` = log2 of (sum_c product / sum_c x_s) / overall per location: 0 where the
    product kept the map's average share of the spatial evidence, -inf where it removed all of it,
    NaN where the spatial map is all zero (nothing there to amplify)."""
    spatial, temporal = scales[0] * xs, scales[1] * xt
    product = spatial * temporal
    total, fused = spatial.sum(axis=-1), product.sum(axis=-1)
    overall = float(fused.sum() / max(float(total.sum()), 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, np.log2(fused / total / max(overall, 1e-12)), np.nan)
    return {"spatial": spatial.mean(axis=-1), "temporal": temporal.mean(axis=-1),
            "product": product.mean(axis=-1), "ratio": ratio, "overall": overall}


def fusion_probe(model: keras.Model) -> keras.Model:
    """The m-fusion model's two factors at the product, and its class scores."""
    fusion = model.get_layer("fusion")
    return keras.Model(model.input, {"xs": fusion.input[0], "xt": fusion.input[1],
                                     "probabilities": model.output["probabilities"]})


def product_scales(model: keras.Model) -> tuple[float, float]:
    """(a_s, a_t) of a scaled product (fusion.init=measured), else (1, 1)."""
    weights = model.get_layer("fusion").get_weights()
    return tuple(float(a) for a in weights[0]) if weights else (1.0, 1.0)


def figure(rows: list[dict]) -> plt.Figure:
    """One row per video: the frame and the four maps of effect_maps, labelled with both models' classes."""
    fig, axes = plt.subplots(len(rows), len(COLUMNS), figsize=(3.2 * len(COLUMNS), 3.2 * len(rows)), squeeze=False)
    for ax_row, row in zip(axes, rows):
        maps = row["maps"]
        scale = max(float(maps["spatial"].max()), float(maps["product"].max()), 1e-6)  # x_s and product: one scale
        ax_row[0].imshow(np.clip(row["frame"], 0, 255).astype(np.uint8))
        temporal_scale = max(float(maps["temporal"].max()), 1e-6)
        for ax, key, top in zip(ax_row[1:4], ("spatial", "temporal", "product"), (scale, temporal_scale, scale)):
            shown = ax.imshow(maps[key], cmap="viridis", vmin=0, vmax=top)
            fig.colorbar(shown, ax=ax, fraction=0.046)
        # NaN (no spatial evidence) is left blank; -inf (all of it removed) takes the darkest blue,
        # which matplotlib would otherwise leave blank too.
        ratio = np.where(np.isneginf(maps["ratio"]), -3.0, maps["ratio"])
        shown = ax_row[4].imshow(np.ma.masked_invalid(ratio), cmap="RdBu_r", vmin=-3, vmax=3)
        fig.colorbar(shown, ax=ax_row[4], fraction=0.046)
        ax_row[0].set_ylabel(f"{row['id']}\ntrue {row['true']}\nm-fusion {row['fused']}\nspatial {row['spatial']}",
                             fontsize=8)
        for ax, title in zip(ax_row, COLUMNS[:-1] + (f"{COLUMNS[-1]} (x{maps['overall']:.2f})",)):
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("m-fusion right, spatial net wrong: red = activations the product amplified, blue = suppressed")
    fig.tight_layout()
    return fig


def render(rows: list[dict], path: str) -> None:
    fig = figure(rows)
    save_png(fig, path, dpi=72)


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfx_models.visualize_m_fusion",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run dir of a trained model.kind=m_fusion run at conv5")
    parser.add_argument("--spatial_run", help="plain spatial run to compare with (default: fusion.spatial_run)")
    parser.add_argument("--records", help="record dir (default: the run's own)")
    parser.add_argument("--clips", type=int, default=5, help="equally spaced centre-crop clips per video")
    parser.add_argument("--videos", type=int, default=3, help="rows: at most this many videos")
    parser.add_argument("--out", required=True, help="PNG path")
    args = cli.add_flags(parser).parse_args(argv)
    model, info = runs.load_model_from_run(args.run)
    if info.get("kind") != "m_fusion" or (info.get("fusion") or {}).get("layer") != "conv5":
        raise SystemExit(f"--run {args.run}: this draws m_fusion runs fused at conv5 (maps), not "
                         f"{info.get('kind')!r} at {(info.get('fusion') or {}).get('layer')!r}")
    if len(info["tasks"]) != 1:
        raise SystemExit(f"--run {args.run}: multi-task runs ({info['tasks']}) are not drawn")
    spatial_run = args.spatial_run or (info.get("fusion") or {}).get("spatial_run")
    if not spatial_run or not tf.io.gfile.isdir(spatial_run):
        raise SystemExit(f"--spatial_run: the plain spatial run {spatial_run!r} is not there; name one")
    spatial, _ = runs.load_model_from_run(spatial_run)
    probe, scales = fusion_probe(model), product_scales(model)
    classes = info["classes"][info["tasks"][0]]
    records, videos = [], []
    for raw in iter_records(args.records or info["records"][0], "test"):
        record = decode_record(raw)
        clips = [joint_input(record, info, clip, args.clips) for clip in range(args.clips)]
        batch = {key: np.concatenate([clip[key] for clip in clips]) for key in ("rgb", "flow")}
        probed = probe(batch)
        records.append(record)
        videos.append({"probed": {key: np.asarray(value) for key, value in probed.items()}, "rgb": batch["rgb"],
                       "fused": int(np.asarray(probed["probabilities"]).mean(0).argmax()),
                       "spatial": int(np.asarray(spatial({"rgb": batch["rgb"]})["probabilities"]).mean(0).argmax())})
    labels = [classes.index(record.label_name) for record in records]
    chosen = select_videos(labels, np.array([v["fused"] for v in videos]), np.array([v["spatial"] for v in videos]),
                           args.videos)
    if not chosen:
        raise SystemExit(f"no test video where m-fusion is right and the spatial net wrong ({len(videos)} videos)")
    middle = args.clips // 2
    rows = [{"id": records[i].id, "true": classes[labels[i]], "fused": classes[videos[i]["fused"]],
             "spatial": classes[videos[i]["spatial"]], "frame": videos[i]["rgb"][middle],
             "maps": effect_maps(videos[i]["probed"]["xs"][middle], videos[i]["probed"]["xt"][middle], scales)}
            for i in chosen]
    render(rows, args.out)
    fused_right = sum(v["fused"] == label for v, label in zip(videos, labels))
    spatial_right = sum(v["spatial"] == label for v, label in zip(videos, labels))
    print(f"{len(videos)} test videos: m-fusion right on {fused_right}, spatial on {spatial_right}")
    for row in rows:
        ratio = row["maps"]["ratio"][np.isfinite(row["maps"]["ratio"])]
        print(f"{row['id']}: true {row['true']}, m-fusion {row['fused']}, spatial {row['spatial']}; "
              f"product / x_s over the map x{row['maps']['overall']:.2f}; locations amplified (log2 > 0) "
              f"{int((ratio > 0).sum())}, suppressed {int((ratio < 0).sum())}, emptied "
              f"{int(np.isneginf(row['maps']['ratio']).sum())} of {row['maps']['ratio'].size}")
    print(f"wrote {args.out}")
    return 0
