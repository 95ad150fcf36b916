"""Library behind the DVC stages: data sources, normalization, augmentation, models, training,
evaluation and export. Stage scripts in `stages/` are thin wrappers around these modules."""
