"""SavedModel export for TF Serving: the contract, the writer, the loader (`python -m tfx_models.export`)."""
