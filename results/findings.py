"""The papers' findings, one paired comparison each, on the benchmark's results profile.

    OUT=out/findings results/findings.sh        # trains and evaluates what the rows need, then:
    python -m results.findings --root out/findings

The results profile tests 630 UCF-like videos a split (504 HMDB-like), so one split tells
effects of a few points; every row here is split 1. Rows whose runs are not made yet are
listed as not measured.
"""
from __future__ import annotations

import argparse
import json
import os

from results.findings_table import Finding, Row, markdown

STREAMS = "eval/s1/s_d05_2400+s_d05_1200+t_d05_4800/ucf101_split_1"
STREAMS_COMMAND = "OUT=out/findings results/findings.sh"
SPATIAL = Row(STREAMS, "Spatial", "spatial")
TEMPORAL = Row(STREAMS, "Temporal: optical flow stacking, L=10, mean subtraction", "temporal")
AVERAGING = Row(STREAMS, "Two-stream: fusion by averaging", "averaging")
CONV_FUSION = Row("eval/s1/conv_fusion/ucf101_split_1", "conv_fusion: conv fusion at conv5", "conv fusion")
NOT_RUN = "not run yet"


def _planned(paper: str, finding: str, a: str, b: str) -> Finding:
    """A finding the results profile has no runs for yet: listed, not measured."""
    return Finding(paper, finding, "a > b", Row("missing", a, a), Row("missing", b, b), NOT_RUN)


FINDINGS = [
    Finding("Simonyan & Zisserman 2014", "temporal > spatial on motion", "a > b", TEMPORAL, SPATIAL,
            STREAMS_COMMAND, cue="motion only"),
    Finding("Simonyan & Zisserman 2014", "fusion > each stream", "a > b", AVERAGING, TEMPORAL, STREAMS_COMMAND),
    Finding("Simonyan & Zisserman 2014", "fusion > each stream", "a > b", AVERAGING, SPATIAL, STREAMS_COMMAND),
    _planned("Simonyan & Zisserman 2014", "SVM >= averaging", "SVM fusion", "averaging"),
    _planned("Simonyan & Zisserman 2014", "multi-task helps the small set", "multi-task", "HMDB-like alone"),
    _planned("Simonyan & Zisserman 2014", "fine-tuning >= last layer (Table 1a)", "fine-tuned", "last layer"),
    Finding("Feichtenhofer et al. 2016", "conv fusion at ReLU5 ~ late fusion (about half the parameters)",
            "a ~ b", CONV_FUSION, AVERAGING, STREAMS_COMMAND),
    _planned("Feichtenhofer et al. 2016", "ReLU5 >= earlier layers", "ReLU5", "ReLU3"),
    _planned("Feichtenhofer et al. 2016", "3D conv + 3D pooling > 2D", "3D conv + 3D pool", "2D"),
    _planned("Park et al. 2016", "amplification helps S", "S amplified", "S"),
    _planned("Park et al. 2016", "m-fusion helps S+T", "S+T+M", "S+T"),
    _planned("Stroud et al. (D3D)", "distilled student > same student without distillation", "D3D", "S3D-G"),
    _planned("Stroud et al. (D3D)", "distilled student > auxiliary-flow student", "D3D", "aux-flow"),
    _planned("Stroud et al. (D3D)", "decoded-flow EPE lower for D3D", "D3D", "S3D-G"),
    _planned("Siamese multi-view", "beats softmax on the unseen view", "Siamese", "softmax"),
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.findings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="out/findings", help="the OUT of results/findings.sh")
    parser.add_argument("--out", help="markdown file (default <root>/findings.md, with findings.json beside it)")
    args = parser.parse_args(argv)
    text, data = markdown(args.root, FINDINGS)
    out = args.out or os.path.join(args.root, "findings.md")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(data, f, indent=1)
    print(text + f"\nwrote {out}")


if __name__ == "__main__":
    main()
