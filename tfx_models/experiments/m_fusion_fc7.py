"""Multiplicative fusion at fc7 (Park et al. 2016), otherwise as m_fusion_conv5.py: the product of the
two towers' fc7 vectors (after ReLU), dropout, then a softmax classifier, with both towers trained
through the product. fusion.combine=true averages its softmax with both streams'.
m_fusion_fc7_frozen.py is the frozen ablation."""
import dataclasses

from tfx_models.experiments.m_fusion_conv5 import CONFIG as CONV5

CONFIG = dataclasses.replace(CONV5, name="m_fusion_fc7", fusion=dataclasses.replace(CONV5.fusion, layer="fc7"))
