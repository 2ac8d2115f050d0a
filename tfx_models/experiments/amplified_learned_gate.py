"""Feature amplification with a learned gate (Park et al. 2016), otherwise as amplified_flow_gate.py:
the gate is a 1x1 conv + sigmoid on the temporal tower's conv5 maps, normalised to average 1 and
started at exactly 1 (the plain spatial net). Both towers come from trained single-stream runs
(fusion.spatial_run, fusion.temporal_run) and stay frozen up to conv5; the gate and the spatial
layers after conv5 train. amplification.activation=softmax gates by a softmax over the conv5
locations instead."""
import dataclasses

from tfx_models.config import AmplificationConfig
from tfx_models.experiments.amplified_flow_gate import CONFIG as FLOW_GATE

CONFIG = dataclasses.replace(FLOW_GATE, name="amplified_learned_gate",
                             amplification=AmplificationConfig(gate="learned", activation="sigmoid"))
