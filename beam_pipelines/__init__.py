"""Beam jobs: synthetic benchmark, dataset readers, ingest, re-split and batch prediction.

The shared command-line start comes first: TensorFlow's startup notices are discarded in the
job's process and in every worker that imports this package (`--verbose` keeps them).
"""
import tfx_models.cli  # noqa: F401  (imported for its quiet TensorFlow start)
