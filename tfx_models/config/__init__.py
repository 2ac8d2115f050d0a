"""Typed experiment configs: one ExperimentConfig per run, overridable from the command line.

A leaf package (it imports nothing else of tfx_models); this module is its public face.
"""
from tfx_models.config.checks import validate
from tfx_models.config.overrides import SECTIONS, from_dict, load_experiment, override, to_dict
from tfx_models.config.sections import (ARCHITECTURES, CLIP_ARCHITECTURES, FLOW_SCALE, INITS, PRECISIONS, STRATEGIES,
                                        AmplificationConfig, DataConfig, DistillConfig, ExperimentConfig, FlowAuxConfig,
                                        FusionConfig, ModelConfig, SiameseConfig, TrainConfig)

__all__ = ["ARCHITECTURES", "CLIP_ARCHITECTURES", "FLOW_SCALE", "INITS", "PRECISIONS", "SECTIONS", "STRATEGIES",
           "AmplificationConfig", "DataConfig", "DistillConfig", "ExperimentConfig", "FlowAuxConfig", "FusionConfig",
           "ModelConfig", "SiameseConfig", "TrainConfig", "from_dict", "load_experiment", "override", "to_dict",
           "validate"]
