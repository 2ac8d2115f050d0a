"""Ablation of m_fusion_fc7.py: both towers frozen up to fc7, so only a linear classifier on the
fixed product x_s * x_t trains (what m-fusion at fc7 was before issue 27)."""
import dataclasses

from tfx_models.experiments.m_fusion_fc7 import CONFIG as TRAINED

CONFIG = dataclasses.replace(TRAINED, name="m_fusion_fc7_frozen",
                             fusion=dataclasses.replace(TRAINED.fusion, train_from_fusion=True))
