"""TorchServe custom handler for the segmentation model."""
