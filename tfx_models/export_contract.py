"""The old path of tfx_models.export.contract, kept only because beam_pipelines/ imports it (changed on another branch).

Remove this file once beam_pipelines imports tfx_models.export.contract.
"""
from tfx_models.export.contract import DEFAULT_SIGNATURE, Preprocessing, read_preprocessing, resolve_export

__all__ = ["DEFAULT_SIGNATURE", "Preprocessing", "read_preprocessing", "resolve_export"]
