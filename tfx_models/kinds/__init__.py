"""The model kinds, one module per family; importing this package registers every kind.

The factory side of tfx_models.registry: the registry imports no model, each
kind registers itself at the bottom of its module, and this package imports
them all so a stage that looks a kind up finds it (docs/adding_a_model_family.md).
"""
from tfx_models.kinds import amplification, clip, conv_fusion, d3d, d3d_aux, siamese, two_stream
from tfx_models.registry import KINDS, ModelKind, get, kind_of

__all__ = ["KINDS", "ModelKind", "amplification", "clip", "conv_fusion", "d3d", "d3d_aux", "get", "kind_of", "siamese",
           "two_stream"]
