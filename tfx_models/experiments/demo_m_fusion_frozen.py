"""Ablation of demo_m_fusion.py: both towers frozen up to the fusion point, so only what follows
the product trains (at fc7, a linear classifier on the fixed x_s * x_t). It shows what training
through the product adds."""
import dataclasses

from tfx_models.experiments.demo_m_fusion import CONFIG as TRAINED

CONFIG = dataclasses.replace(TRAINED, name="demo_m_fusion_frozen",
                             fusion=dataclasses.replace(TRAINED.fusion, train_from_fusion=True))
