"""The old path of tfx_models.export.runner, kept only because beam_pipelines/ imports it (changed on another branch).

Remove this file once beam_pipelines imports tfx_models.export.runner.
"""
from tfx_models.export.runner import SavedModelRunner

__all__ = ["SavedModelRunner"]
