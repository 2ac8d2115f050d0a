"""Small Keras layers, one idea each, with get_config: common (tower normalisation), fusion, time, gates."""
