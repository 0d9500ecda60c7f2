"""obflow package."""
