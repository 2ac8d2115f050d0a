"""Batch prediction: classify many video files with an export, via Beam RunInference.

Each video is decoded, flowed and turned into the 25-frame x 10-crop test batch
exactly as the serving client does (tfx_models.video_inputs), then scored by
the export's serving_default signature. Videos that cannot be used (empty,
corrupt, too short) go to `<output>-dead_letter-00000-of-00001.jsonl` with the
reason, predictions to `<output>-predictions-00000-of-00001.<format>`, rows
sorted by path. Every input ends up in exactly one of the two outputs; the
counts are printed and written to `<output>-summary.json`.

Videos, outputs and the manifest go through Beam's FileSystems (beam_pipelines.storage:
local, gs://, s3://); the model through TensorFlow's (tf.saved_model.load). Each output is
written once, under its final name, by one step that gathers its rows: Beam's text sink
would rename temporary files, a copy and a batch delete on an object store.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import RunInference

from beam_pipelines.gather import GatherAll
from beam_pipelines.inference import SavedModelHandler
from beam_pipelines.ingest_transforms import local_file
from beam_pipelines.job import main as job_main
from beam_pipelines.job import dry_run_report, is_dry_run, run_pipeline
from beam_pipelines.options import is_dask, pipeline_options, quiet_beam_logs
from beam_pipelines.storage import BEAM, check_writable, dirname, is_remote, join
from media.storage import read_text, write_json, write_text
from media.flow import FlowEstimator
from media.video import VideoDecodeError
from tfx_models.export.contract import Preprocessing, read_preprocessing
from tfx_models.data.video_file import UnusableVideoError, video_test_inputs

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
DEAD_LETTER = "dead_letter"
NAMESPACE = "predict"


def list_videos(folder: str) -> list[str]:
    """Video files under `folder` (recursively, by extension), sorted."""
    found = [path for path in BEAM.list_files(folder) if path.lower().endswith(VIDEO_EXTENSIONS)]
    if not found:
        raise FileNotFoundError(f"--videos {folder}: no video files ({', '.join(VIDEO_EXTENSIONS)}) "
                                "there or below")
    return found


def read_manifest(path: str) -> list[str]:
    """Paths from a CSV with a `path` column; relative paths are taken from the CSV's folder."""
    if not BEAM.exists(path):
        raise FileNotFoundError(f"--manifest {path}: does not exist")
    reader = csv.DictReader(io.StringIO(read_text(BEAM, path)))
    if not reader.fieldnames or "path" not in reader.fieldnames:
        raise ValueError(f"{path}: line 1: the header needs a 'path' column, got {reader.fieldnames}")
    folder = dirname(path)
    paths = []
    for line, row in enumerate(reader, start=2):
        value = (row.get("path") or "").strip()
        if not value:
            raise ValueError(f"{path}: line {line}: empty 'path'")
        paths.append(value if is_remote(value) or value.startswith("/") else join(folder, value))
    if not paths:
        raise ValueError(f"{path}: lists no videos")
    return paths


class PrepareVideo(beam.DoFn):
    """path -> (path, test inputs); unusable files go to the dead-letter output."""

    def __init__(self, prep: Preprocessing, num_frames: int, crops: int):
        self._prep, self._num_frames, self._crops = prep, num_frames, crops
        self._read = Metrics.counter(NAMESPACE, "videos_read")
        self._failed = Metrics.counter(NAMESPACE, "videos_dead_lettered")

    def setup(self):
        self._estimator = FlowEstimator(self._prep.flow_algorithm)

    def process(self, path: str):
        self._read.inc()
        try:
            with local_file(path) as local:
                inputs = video_test_inputs(local, self._prep, num_frames=self._num_frames, crops=self._crops,
                                           estimator=self._estimator)
        except VideoDecodeError as err:
            self._failed.inc()
            stage = "validate" if isinstance(err, UnusableVideoError) else "decode"
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, {"path": path, "stage": stage, "reason": err.reason})
            return
        except Exception as err:  # flow/stacking/IO errors of one file must not fail the job
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, {"path": path, "stage": "preprocess",
                                                         "reason": f"{type(err).__name__}: {err}"})
            return
        yield path, inputs


def prediction_row(result, classes: tuple[str, ...], top: int) -> dict:
    """PredictionResult -> {"path", "top": [{"class", "score"}], "probabilities"}."""
    scores = result.inference["probabilities"]
    order = scores.argsort()[::-1][:top]
    row = {"path": result.example, "top": [{"class": classes[i], "score": float(scores[i])} for i in order],
           "probabilities": [float(s) for s in scores]}
    for key in sorted(result.inference):
        if key != "probabilities":
            row[key] = [float(s) for s in result.inference[key]]
    return row


def csv_header(top: int) -> str:
    return ",".join(["path"] + [f"{kind}_{rank}" for rank in range(1, top + 1) for kind in ("class", "score")])


def csv_line(row: dict) -> str:
    buffer = io.StringIO()
    cells = [row["path"]] + [v for entry in row["top"] for v in (entry["class"], f"{entry['score']:.6f}")]
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def write_lines(lines: list[str], path: str, header: str | None) -> str:
    """One output file, its rows sorted (a rerun writes the same bytes), written whole."""
    write_text(BEAM, path, "".join(f"{line}\n" for line in ([header] if header else []) + sorted(lines)))
    return path


def output_name(output: str, kind: str, suffix: str) -> str:
    return f"{output}-{kind}-00000-of-00001{suffix}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m beam_pipelines.predict",
        description="Classify video files with an exported model (Beam RunInference). Standard Beam "
                    "PipelineOptions (--runner, --project, --temp_location, ...) pass through.")
    parser.add_argument("--model_dir", required=True, help="<base>/<name> (latest version) or <base>/<name>/<N>")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--videos", help="folder of video files (searched recursively)")
    source.add_argument("--manifest", help="CSV with a 'path' column")
    parser.add_argument("--output", required=True, help="output prefix (local or gs://)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--num_frames", type=int, default=25, help="test frames per video")
    parser.add_argument("--crops", type=int, choices=(1, 2, 5, 10), default=10, help="crops per frame")
    parser.add_argument("--top", type=int, default=5, help="classes listed per video")
    parser.add_argument("--max_rows", type=int, default=50, help="inputs per model call")
    return parser.parse_known_args(argv)


def run(argv=None) -> dict:
    """Runs the job; returns the counts {inputs, predictions, dead_letter}."""
    args, beam_argv = parse_args(argv)
    options = pipeline_options(beam_argv)
    if is_dask(options):
        raise ValueError(
            "the prediction job cannot run on Beam's DaskRunner, which would hand its dead letters to the "
            "model (tagged outputs), drop what RunInference's batching and WriteToText emit in finish_bundle, "
            "run only one of its two sinks and collect no metrics (the job's counts); use the local "
            "runner, Prism or Dataflow (docs/runners.md)")
    quiet_beam_logs()
    paths = list_videos(args.videos) if args.videos else read_manifest(args.manifest)
    check_writable(f"{args.output}-write-check")
    handler = SavedModelHandler(args.model_dir, max_rows=args.max_rows)
    prep = read_preprocessing(handler.export_dir)
    top = min(args.top, len(prep.classes))
    suffix = "." + args.format
    pipeline = beam.Pipeline(options=options)
    prepared = (pipeline
                | "Videos" >> beam.Create(paths)
                | "Prepare" >> beam.ParDo(PrepareVideo(prep, args.num_frames, args.crops))
                .with_outputs(DEAD_LETTER, main="inputs"))
    rows = (prepared.inputs
            | "Predict" >> RunInference(handler)
            | "Rows" >> beam.Map(prediction_row, prep.classes, top))
    if args.format == "jsonl":
        lines = rows | "Json" >> beam.Map(json.dumps)
        header = None
    else:
        lines = rows | "Csv" >> beam.Map(csv_line)
        header = csv_header(top)
    (lines
     | "GatherPredictions" >> GatherAll()
     | "WritePredictions" >> beam.Map(write_lines, output_name(args.output, "predictions", suffix), header))
    (prepared[DEAD_LETTER]
     | "DeadJson" >> beam.Map(json.dumps, sort_keys=True)
     | "GatherDead" >> GatherAll()
     | "WriteDead" >> beam.Map(write_lines, output_name(args.output, DEAD_LETTER, ".jsonl"), None))
    predicted = Metrics.counter(NAMESPACE, "predictions")
    rows | "Count" >> beam.Map(lambda _: predicted.inc())
    result = run_pipeline(pipeline, f"no {args.output}-summary.json, which is written last")
    if is_dry_run(options):
        report = dry_run_report(result)
        print(json.dumps(report, indent=2))
        return report
    counts = {"inputs": len(paths), "predictions": _counter(result, "predictions"),
              "dead_letter": _counter(result, "videos_dead_lettered"), "model": handler.export_dir}
    write_json(BEAM, args.output + "-summary.json", counts)
    print(json.dumps(counts, indent=2))
    return counts


def _counter(result, name: str) -> int:
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["counters"]
    return int(sum(c.committed or c.attempted or 0 for c in found))


def main(argv=None) -> int:
    return job_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
