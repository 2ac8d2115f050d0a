"""The training loop, its strategies and the divergence guard."""
