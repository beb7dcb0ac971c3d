"""The gateway's routes, one module each."""
