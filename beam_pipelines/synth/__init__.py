"""The synthetic action benchmark: procedurally rendered videos with true flow.

UCF-101 and HMDB-51 cannot be downloaded here, so this benchmark is the
project's embedded default. Classes are built so that some need the temporal
stream, some the spatial stream and some either (see classes.py).
"""
from beam_pipelines.synth.classes import CLASSES, markdown_table
from beam_pipelines.synth.generate import generate
from beam_pipelines.synth.render import FLOW_BOUND, PROFILES, RenderedClip, render_clip

__all__ = ["CLASSES", "FLOW_BOUND", "PROFILES", "RenderedClip", "generate", "markdown_table", "render_clip"]
