"""FastAPI gateway in front of TorchServe: the public /predict PNG contract."""
