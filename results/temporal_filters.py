"""Simonyan & Zisserman's Fig. 4: the temporal ConvNet's first-layer filters, and whether they vary in time.

    python -m results.temporal_filters --run RUN_DIR --out PNG [--draws 20]

The paper shows conv1 of the temporal net, one column per filter and one row per input channel,
and reads it as spatial and temporal derivatives of flow (like MBH descriptors). This draws the
same grid from a trained temporal run's conv1 kernel [k,k,2L,F]. The rows follow the input's
channel order, which is the paper's Eq. 1 and media.stacking's: x_1, y_1, x_2, y_2, ..., x_L, y_L.

A picture is not evidence, so it also prints statistics of the same kernel beside those of fresh
draws of the run's own initialiser (mean and spread over --draws seeds):
- per filter and component (x or y), the spatial mean of each time step's k x k slice gives a
  sequence of L numbers. How often does it change sign along time? A filter that is constant in
  time never does; a temporal derivative does once; noise changes sign at half the L-1 steps.
- the share of filters whose sequence changes sign at all, for either component, and the share of
  sequences that change sign at most once (constant or derivative-like in time);
- per input channel, how many filters have a slice of one sign (a blob, not an edge);
- the correlation of one weight with the same weight one time step on, and with its right-hand
  neighbour: random kernels have none, smooth filters (and derivatives of smooth filters) have some.
"""
from __future__ import annotations

import argparse

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import matplotlib

matplotlib.use("Agg")  # files only
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfx_models import kinds  # noqa: F401,E402 (registers the kinds runs.load_model_from_run builds)
from tfx_models import runs  # noqa: E402


def filter_grid(kernel: np.ndarray, gap: int = 1) -> np.ndarray:
    """kernel [k,k,C,F] -> one image, NaN between cells: cell (row c, column f) = kernel[:, :, c, f]."""
    size, _, channels, filters = kernel.shape
    step = size + gap
    grid = np.full((channels * step - gap, filters * step - gap), np.nan, np.float32)
    for c in range(channels):
        for f in range(filters):
            grid[c * step:c * step + size, f * step:f * step + size] = kernel[:, :, c, f]
    return grid


def channel_names(channels: int) -> list[str]:
    return [f"{'xy'[c % 2]}{c // 2 + 1}" for c in range(channels)]


def time_courses(kernel: np.ndarray) -> np.ndarray:
    """[L, 2, F]: the spatial mean of each field's x and y slice, per filter."""
    return kernel.mean(axis=(0, 1)).reshape(kernel.shape[2] // 2, 2, kernel.shape[3])


def sign_changes(kernel: np.ndarray) -> np.ndarray:
    """[2, F]: how many times each filter's x and y time course changes sign (a zero keeps the sign before it)."""
    signs = np.sign(time_courses(kernel))
    for t in range(1, len(signs)):
        signs[t] = np.where(signs[t] == 0, signs[t - 1], signs[t])
    return ((signs[1:] * signs[:-1]) < 0).sum(axis=0)


def one_signed(kernel: np.ndarray, share: float = 0.7) -> np.ndarray:
    """[C]: per input channel, how many filters' slices are blobs of one sign (|mean| > share x RMS)."""
    rms = np.sqrt(np.mean(np.square(kernel), axis=(0, 1)))
    return (np.abs(kernel.mean(axis=(0, 1))) > share * rms).sum(axis=1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def statistics(kernel: np.ndarray) -> dict[str, float]:
    changes = sign_changes(kernel)
    fields = kernel.reshape(*kernel.shape[:2], kernel.shape[2] // 2, 2, kernel.shape[3])
    return {"share of filters changing sign in time": float((changes > 0).any(axis=0).mean()),
            "sign changes per time course": float(changes.mean()),
            "share of time courses with at most one sign change": float((changes <= 1).mean()),
            "correlation with the next time step": correlation(fields[:, :, :-1], fields[:, :, 1:]),
            "correlation with the right-hand neighbour": correlation(kernel[:, :-1], kernel[:, 1:])}


def random_statistics(shape, init: str, draws: int) -> dict[str, tuple[float, float]]:
    """Each statistic's mean and standard deviation over `draws` seeds of the initialiser."""
    initializer = keras.initializers.get(init)
    samples = [statistics(np.asarray(type(initializer).from_config({**initializer.get_config(), "seed": seed})(shape)))
               for seed in range(draws)]
    return {key: (float(np.mean([s[key] for s in samples])), float(np.std([s[key] for s in samples])))
            for key in samples[0]}


def conv1_kernel(run: str) -> tuple[np.ndarray, dict]:
    model, info = runs.load_model_from_run(run)
    if info.get("stream") != "temporal":
        raise ValueError(f"--run {run}: a {info.get('stream')} run; Fig. 4 shows the temporal net's filters")
    tower = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return np.asarray(tower.get_layer("conv1").get_weights()[0]), info


def render(kernel: np.ndarray, title: str, path: str) -> None:
    """Each filter scaled by its largest weight, so weak filters show; red > 0, blue < 0, white gaps."""
    scaled = kernel / np.maximum(np.abs(kernel).max(axis=(0, 1, 2), keepdims=True), 1e-12)
    size, _, channels, filters = kernel.shape
    fig, ax = plt.subplots(figsize=(2 + filters * 0.42, 1.5 + channels * 0.42))
    ax.imshow(np.ma.masked_invalid(filter_grid(scaled)), cmap="RdBu_r", vmin=-1, vmax=1,
              interpolation="nearest")
    step = size + 1
    ax.set_xticks(np.arange(filters) * step + size // 2, [str(f + 1) for f in range(filters)], fontsize=7)
    ax.set_yticks(np.arange(channels) * step + size // 2, channel_names(channels), fontsize=7)
    ax.set_xlabel("filter")
    ax.set_ylabel("input channel (x, y of field 1..L)")
    ax.set_title(title, fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=80)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a trained temporal stream run (CNN-M conv1 [k,k,2L,F])")
    parser.add_argument("--out", required=True, help="PNG path")
    parser.add_argument("--draws", type=int, default=20, help="random initialisations to compare with")
    args = cli.add_flags(parser).parse_args(argv)
    kernel, info = conv1_kernel(args.run)
    init = runs.read_config(args.run).model.init
    render(kernel, f"conv1 of the temporal net: {kernel.shape[3]} filters x {kernel.shape[2]} channels, "
                   f"{kernel.shape[0]}x{kernel.shape[1]} each (L={info['length']})", args.out)
    print(f"wrote {args.out}")
    trained, random = statistics(kernel), random_statistics(kernel.shape, init, args.draws)
    print(f"| statistic | trained | {init}, {args.draws} draws: mean (std) |\n|---|---|---|")
    for key, value in trained.items():
        print(f"| {key} | {value:.3f} | {random[key][0]:.3f} ({random[key][1]:.3f}) |")
    print("x, y sign changes per filter:", " ".join(f"{x}/{y}" for x, y in sign_changes(kernel).T))
    print("one-signed slices per channel:", " ".join(f"{name} {count}" for name, count in
                                                      zip(channel_names(kernel.shape[2]), one_signed(kernel))))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
