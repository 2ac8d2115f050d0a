"""The old path of tfx_models.data.video_file, kept only because beam_pipelines/ imports it (changed on another branch).

Remove this file once beam_pipelines imports tfx_models.data.video_file.
"""
from tfx_models.data.video_file import UnusableVideoError, video_test_inputs

__all__ = ["UnusableVideoError", "video_test_inputs"]
