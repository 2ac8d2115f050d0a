"""Ablation of m_fusion_conv5.py: both towers frozen up to conv5, so only the layers after the
product train."""
import dataclasses

from tfx_models.experiments.m_fusion_conv5 import CONFIG as TRAINED

CONFIG = dataclasses.replace(TRAINED, name="m_fusion_conv5_frozen",
                             fusion=dataclasses.replace(TRAINED.fusion, train_from_fusion=True))
