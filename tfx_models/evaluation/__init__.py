"""The 25 x 10 test protocol, metrics, late fusion of two streams' scores, gate pictures."""
