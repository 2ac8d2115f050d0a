"""Run directories: the contract between training, evaluation and export (run_dir, checkpoints)."""
from tfx_models.runs.run_dir import (CONFIG_FILE, RUN_INFO_FILE, check_flow_scale, checkpoint_dir, load_model_from_run,
                                     make_run_info, num_classes, read_config, read_run_info, record_in_run_info,
                                     streams_of, tensorboard_dir, trained_to, write_run_files)

__all__ = ["CONFIG_FILE", "RUN_INFO_FILE", "check_flow_scale", "checkpoint_dir", "load_model_from_run", "make_run_info",
           "num_classes", "read_config", "read_run_info", "record_in_run_info", "streams_of", "tensorboard_dir",
           "trained_to", "write_run_files"]
