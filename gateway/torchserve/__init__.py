"""The TorchServe adapter: the only part of the gateway that knows TorchServe's API (its HTTP client and
keys, management calls, the answer codes, and the lost-request workaround for TorchServe 0.12)."""
