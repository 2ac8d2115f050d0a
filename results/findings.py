"""The papers' findings, one paired comparison each, on the benchmark's results profile.

    OUT=out/findings results/findings.sh        # trains and evaluates what the rows need, then:
    python -m results.findings --root out/findings
    OUT=out/wherewhen results/wherewhen.sh      # the "wherewhen" set's findings (issue 38), then:
    python -m results.findings --root out/wherewhen --table wherewhen

The results profile tests 630 UCF-like videos a split (504 HMDB-like), so one split tells
effects of a few points; every row here is split 1. Rows whose runs are not made yet are
listed as not measured.
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from results.d3d_table import lambda_row
from results.findings_table import Finding, Row, markdown

STREAMS = "eval/s1/s_d05_2400+s_d05_1200+t_d05_4800/ucf101_split_1"
COMMAND = "OUT=out/findings results/findings.sh"
SPATIAL = Row(STREAMS, "Spatial", "spatial")
TEMPORAL = Row(STREAMS, "Temporal: optical flow stacking, L=10, mean subtraction", "temporal")
AVERAGING = Row(STREAMS, "Two-stream: fusion by averaging", "averaging")
CONV_FUSION = Row("eval/s1/conv_fusion/ucf101_split_1", "conv_fusion: conv fusion at conv5", "conv fusion")
# Rows scored at 25 frames x the centre crop (findings.sh steps 3-8).
CHEAP = "eval/s1/streams_25x1_svm_oof/ucf101_split_1"
SVM_25X1 = Row(CHEAP, "Two-stream: fusion by SVM", "SVM fusion")
AVERAGING_25X1 = Row(CHEAP, "Two-stream: fusion by averaging", "averaging")
SVM_OOF_25X1 = Row(CHEAP, "Two-stream: fusion by SVM on out-of-fold scores", "SVM, out-of-fold")
CONV5_25X1 = Row("eval/s1/conv_fusion_25x1/ucf101_split_1", "conv_fusion: conv fusion at conv5", "ReLU5")
PARK = "eval/s1/park/park/ucf101_split_1"
D3D = "d3d/eval/s1/ucf101_split_1"
STRONG_TEACHER = "d3d_teacher4800"  # findings.sh step 11: D3D from a teacher trained 4800 steps
SIAMESE = "siamese/eval"  # the multi-view set's view-1 test videos: 630, as the UCF-like set's


def one_row(split_dir: str, name: str) -> Row:
    """The one row an evaluation of one run wrote (its label is the run's)."""
    return Row(split_dir, "", name)


HMDB_ALONE = one_row("multitask/eval/hmdb51/hmdb_only/s1/hmdb51_split_1", "HMDB-like alone")
SZ, FPZ, PARK_ET_AL, STROUD = ("Simonyan & Zisserman 2014", "Feichtenhofer et al. 2016", "Park et al. 2016",
                               "Stroud et al. (D3D)")


def table_2(run: str, label: str, finding: str) -> Finding:
    """Simonyan & Zisserman's Table 2: a temporal net that uses the UCF-like set against the HMDB-like
    net trained alone, on the HMDB-like test videos."""
    return Finding(SZ, finding, "a > b", one_row(f"multitask/eval/hmdb51/{run}/s1/hmdb51_split_1", label),
                   HMDB_ALONE, COMMAND)


def table_1a(dropout: str, folder: str = "pretrain", note: str = "") -> list[Finding]:
    """Table 1a's two claims at one dropout ratio. Against the last layer the paper's rows are
    about equal at 0.5 (70.8% and 72.7%) and 12.9 points apart at 0.9 (72.8% and 59.9%)."""
    fine_tuned = one_row(f"{folder}/eval/finetune_d{dropout}/ucf101_split_1", "fine-tuned")
    claim, relation = ("a ~ b", "~") if dropout == "0.5" else ("a > b", ">")
    return [Finding(SZ, f"pre-training > training from scratch (Table 1a, dropout {dropout}{note})", "a > b",
                    fine_tuned, one_row(f"{folder}/eval/scratch_d{dropout}/ucf101_split_1", "from scratch"), COMMAND),
            Finding(SZ, f"fine-tuning {relation} training the last layer only (Table 1a, dropout {dropout}{note})",
                    claim, fine_tuned, one_row(f"{folder}/eval/last_layer_d{dropout}/ucf101_split_1", "last layer"),
                    COMMAND)]


FINDINGS = [
    Finding(SZ, "temporal > spatial on motion", "a > b", TEMPORAL, SPATIAL, COMMAND, cue="motion only"),
    Finding(SZ, "fusion > each stream", "a > b", AVERAGING, TEMPORAL, COMMAND),
    Finding(SZ, "fusion > each stream", "a > b", AVERAGING, SPATIAL, COMMAND),
    Finding(SZ, "SVM >= averaging", "a >= b", SVM_25X1, AVERAGING_25X1, COMMAND),
    Finding(SZ, "SVM >= averaging (the SVM fit on out-of-fold scores)", "a >= b", SVM_OOF_25X1, AVERAGING_25X1,
            COMMAND),
    table_2("multitask", "multi-task, HMDB-like head", "multi-task helps the small set (Table 2)"),
    table_2("multitask_9600", "multi-task x2, HMDB-like head",
            "multi-task helps the small set (Table 2; multi-task trained twice as long)"),
    table_2("multitask_half_rate", "multi-task at half the rate, HMDB-like head",
            "multi-task helps the small set (Table 2; multi-task at half the learning rate)"),
    table_2("hmdb_finetuned", "fine-tuned from UCF-like", "fine-tuning from the large set helps the small set (Table 2)"),
    table_2("hmdb_plus_ucf", "+ UCF-like classes", "adding the large set's classes helps the small set (Table 2)"),
    *[finding for dropout in ("0.5", "0.9") for finding in table_1a(dropout)],
    *table_1a("0.9", "pretrain_ft_lr_1e-3", "; pre-trained nets from 1e-3"),
    Finding(FPZ, "conv fusion at ReLU5 ~ late fusion (about half the parameters)", "a ~ b", CONV_FUSION, AVERAGING,
            COMMAND),
    Finding(FPZ, "ReLU5 >= earlier layers (Table 2)", "a >= b", CONV5_25X1,
            one_row("eval/s1/conv_fusion_conv3/ucf101_split_1", "ReLU3"), COMMAND),
    Finding(FPZ, "ReLU5 >= earlier layers (Table 2)", "a >= b", CONV5_25X1,
            one_row("eval/s1/conv_fusion_conv4/ucf101_split_1", "ReLU4"), COMMAND),
    Finding(FPZ, "ReLU5 >= later layers (Table 2)", "a >= b", CONV5_25X1,
            one_row("eval/s1/conv_fusion_fc6/ucf101_split_1", "FC6"), COMMAND),
    Finding(FPZ, "3D conv + 3D pooling > 2D (Table 3, T=5)", "a > b",
            one_row("eval/s1/T5_3d_conv_3d_pool/ucf101_split_1", "3D conv + 3D pool"),
            one_row("eval/s1/T5_2d_conv_2d_pool/ucf101_split_1", "2D conv + 2D pool"), COMMAND),
    Finding(PARK_ET_AL, "amplification helps S", "a > b", Row(PARK, "S amp (flow gate)", "S amplified"),
            Row(PARK, "S", "S"), COMMAND),
    Finding(PARK_ET_AL, "amplification helps S (against S trained as many more steps)", "a > b",
            Row(PARK, "S amp (flow gate)", "S amplified"),
            one_row("eval/s1/s_continued/ucf101_split_1", "S, trained as long"), COMMAND),
    Finding(PARK_ET_AL, "m-fusion helps S+T", "a > b", Row(PARK, "S+T+M-fuse conv5", "S+T+M (conv5)"),
            Row(PARK, "S+T", "S+T"), COMMAND),
    Finding(PARK_ET_AL, "m-fusion helps S+T", "a > b", Row(PARK, "S+T+M-fuse fc7", "S+T+M (fc7)"),
            Row(PARK, "S+T", "S+T"), COMMAND),
    *[Finding(PARK_ET_AL, f"m-fusion exchanges knowledge: training the towers through the product helps ({layer})",
              "a > b", Row(PARK, f"M-fuse {layer}", f"M-fuse {layer}"),
              Row(PARK, f"M-fuse {layer}, towers frozen", "towers frozen"), COMMAND) for layer in ("conv5", "fc7")],
    Finding(STROUD, "distilled student > same student without distillation", "a > b",
            Row(D3D, "d3d_mse", "D3D"), Row(D3D, "student", "S3D-G"), COMMAND),
    Finding(STROUD, "distilled student > same student without distillation (both from the trained student)",
            "a > b", Row(D3D, "d3d_mse_continued", "D3D, continued"),
            Row(D3D, "student_continued", "S3D-G, continued"), COMMAND),
    Finding(STROUD, "distilled student > auxiliary-flow student", "a > b", Row(D3D, "d3d_mse", "D3D"),
            Row(D3D, "aux", "aux-flow"), COMMAND),
    Finding(STROUD, "D3D approaches the two-stream model (RGB only at test time)", "a >= b",
            Row(D3D, "d3d_mse", "D3D"), Row(D3D, "fusion_student", "S3D-G two-stream"), COMMAND),
    Finding("Siamese multi-view", "beats softmax on the unseen view (labels on view 0 only)", "a > b",
            one_row(f"{SIAMESE}/siamese/view1/multiview_view1_split_1", "Siamese"),
            one_row(f"{SIAMESE}/view0_softmax/view1/multiview_view1_split_1", "softmax"), COMMAND),
]


# The "wherewhen" set's findings (issue 38), from the root of results/wherewhen.sh: each on the class
# family the paper's argument is about, judged against that family's ceilings.
WHEREWHEN_COMMAND = "OUT=out/wherewhen results/wherewhen.sh"
WW_STREAMS = "eval/s1/streams_svm/ucf101_split_1"


def ww_run(name: str, label: str) -> Row:
    return one_row(f"eval/s1/{name}/ucf101_split_1", label)


def ww(paper: str, finding: str, claim: str, a: Row, b: Row, cue: str) -> Finding:
    return Finding(paper, finding, claim, a, b, WHEREWHEN_COMMAND, cue=cue)


WW_CONV5 = ww_run("conv_fusion_conv5", "ReLU5")
WHEREWHEN = [
    ww(FPZ, "conv fusion at ReLU5 > late fusion by averaging (what moves where)", "a > b", WW_CONV5,
       Row(WW_STREAMS, "Two-stream: fusion by averaging", "averaging"), "where"),
    ww(FPZ, "conv fusion at ReLU5 > late fusion by SVM (what moves where)", "a > b", WW_CONV5,
       Row(WW_STREAMS, "Two-stream: fusion by SVM", "SVM"), "where"),
    *[ww(FPZ, f"ReLU5 >= {name} (Table 2)", "a >= b", WW_CONV5, ww_run(f"conv_fusion_{layer}", name), "where")
      for layer, name in (("conv3", "ReLU3"), ("conv4", "ReLU4"), ("fc6", "FC6"))],
    ww(FPZ, "3D conv + 3D pooling > 2D conv + 2D pooling (Table 3, T=5)", "a > b",
       ww_run("T5_3d_conv_3d_pool", "3D conv + 3D pool"), ww_run("T5_2d_conv_2d_pool", "2D conv + 2D pool"), "when"),
    *[ww(PARK_ET_AL, f"m-fusion at {layer} > additive fusion at conv5 (towers trained through both)", "a > b",
         ww_run(f"m_fusion_{layer}", f"M-fuse {layer}"), ww_run("sum_conv5", "sum at conv5"), "where")
      for layer in ("conv5", "fc7")],
    ww(FPZ, "conv fusion at ReLU5 > late fusion by averaging, towers trained through the fusion", "a > b",
       ww_run("conv_fusion_conv5_towers", "ReLU5, towers trained"),
       Row(WW_STREAMS, "Two-stream: fusion by averaging", "averaging"), "where"),
]
WW_D3D = "d3d_crop96/eval/s1/ucf101_split_1"
STRONG_TEACHER = "d3d_teacher4800"  # findings.sh step 11: D3D from a teacher trained 4800 steps
WHEREWHEN += [
    finding
    for cue in ("where", "when")
    for finding in (
        ww(STROUD, "distilled student > same student without distillation", "a > b", Row(WW_D3D, "d3d_mse", "D3D"),
           Row(WW_D3D, "student", "S3D-G"), cue),
        ww(STROUD, "distilled student > auxiliary-flow student (neither weight tuned)", "a > b",
           Row(WW_D3D, "d3d_mse", "D3D"), Row(WW_D3D, "aux", "aux-flow"), cue),
        ww(STROUD, "D3D approaches the two-stream model (RGB only at test time)", "a >= b",
           Row(WW_D3D, "d3d_mse", "D3D"), Row(WW_D3D, "fusion_student", "S3D-G two-stream"), cue))]
TABLES = {"papers": "FINDINGS and D3D at the validated lambda, also with the stronger teacher (results/findings.sh)",
          "wherewhen": "the where/when set's findings (results/wherewhen.sh)"}


def d3d_rows(split_dir: str, weight: float, name: str, when: str) -> list[Finding]:
    """D3D's three claims for D3D (MSE) at `weight` against the student, the aux-flow student and
    the two-stream model of one D3D table's evaluation."""
    d3d = Row(split_dir, "d3d_mse" if weight == 1 else lambda_row(weight), name)
    return [Finding(STROUD, "distilled student > same student without distillation" + when, "a > b", d3d,
                    Row(split_dir, "student", "S3D-G"), COMMAND),
            Finding(STROUD, "distilled student > auxiliary-flow student" + when, "a > b", d3d,
                    Row(split_dir, "aux", "aux-flow"), COMMAND),
            Finding(STROUD, "D3D approaches the two-stream model (RGB only at test time)" + when, "a >= b", d3d,
                    Row(split_dir, "fusion_student", "S3D-G two-stream"), COMMAND)]


def d3d_at_validated_lambda(root: str) -> list[Finding]:
    """D3D's claims again at the lambda chosen on held-out training groups (findings.sh step 9), or
    none before that choice is made."""
    path = os.path.join(root, "d3d", "lambda.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        weight = json.load(f)["weight"]
    return d3d_rows(D3D, weight, f"D3D, lambda {weight:g}",
                    f" (lambda {weight:g}, chosen on held-out training groups)")


def d3d_with_the_stronger_teacher(root: str) -> list[Finding]:
    """The same claims with the teacher trained 4800 steps (findings.sh step 11), at the one weight that
    table ran D3D at besides 1: the chosen lambda. None before that table exists."""
    path = os.path.join(root, STRONG_TEACHER, "d3d_table.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        weights = json.load(f)["mse_weights"]
    if len(weights) != 1:
        return []
    weight = weights[0]
    return d3d_rows(f"{STRONG_TEACHER}/eval/s1/ucf101_split_1", weight, f"D3D, lambda {weight:g}, teacher x4",
                    f" (lambda {weight:g}, teacher trained 4800 steps)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.findings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="out/findings", help="the OUT of results/findings.sh or results/wherewhen.sh")
    parser.add_argument("--table", choices=sorted(TABLES), default="papers",
                        help="; ".join(f"{name}: {what}" for name, what in TABLES.items()))
    parser.add_argument("--out", help="markdown file (default <root>/findings.md, with findings.json beside it)")
    args = cli.add_flags(parser).parse_args(argv)
    findings = WHEREWHEN if args.table == "wherewhen" else \
        FINDINGS + d3d_at_validated_lambda(args.root) + d3d_with_the_stronger_teacher(args.root)
    text, data = markdown(args.root, findings)
    out = args.out or os.path.join(args.root, "findings.md")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(data, f, indent=1)
    print(text + f"\nwrote {out}")


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
