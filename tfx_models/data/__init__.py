"""Inputs: the tf.data training pipeline, the pair sampler, test-time samplers and their stacking."""
