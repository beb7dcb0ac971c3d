"""Runs the product's services as local processes (TorchServe, gateway, app): `python -m stack`."""
