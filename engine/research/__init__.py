"""Research tools on the engine's own features: information coefficients, OFI regression."""
