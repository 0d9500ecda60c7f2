"""The application layer: the command line, live wiring, benchmarks and research tools.

The only part of obflow that imports everything (engine core, connectors, replay,
strategies); the engine core imports nothing from here (an import-linter contract in
``make test`` holds it to that).
"""
