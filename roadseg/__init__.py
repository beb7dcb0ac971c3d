"""The torch-free core every part shares: categories, image I/O, eval preprocessing, model config, limits."""
