"""Training package: data on the 8 Cityscapes categories, models, losses, metrics and the CLIs."""
