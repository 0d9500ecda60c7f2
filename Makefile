# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := build/demo
MODEL := build/model
MODEL_DATA := build/model-data

.PHONY: demo test lint bench clean wheelhouse

# numba's cache tracks only the file of each compiled function, not the modules it inlines or
# whose constants it uses: after any source change, drop the whole cache.
SOURCES := $(shell find engine connectors replay strategies examples -name '*.py')
NUMBA_STAMP := build/.numba-cache-stamp
$(NUMBA_STAMP): $(SOURCES)
	@find engine connectors replay strategies examples -name '*.nb[ic]' -delete
	@mkdir -p build && touch $(NUMBA_STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) $(NUMBA_STAMP) $(MODEL)/schema.json
	$(BIN)/obflow synth --out $(DEMO) --events 200000 --levels 10 --seed 7
	$(BIN)/obflow replay --config configs/replay_synth.toml --data $(DEMO) --out build/report

# The ML strategy's model, trained once on four synthetic days (walk-forward report in
# build/model/metrics.json). Delete build/model to retrain: a model of another feature
# schema is refused at load.
$(MODEL)/schema.json: | $(STAMP) $(NUMBA_STAMP)
	$(BIN)/obflow synth --out $(MODEL_DATA) --days 4 --events 200000 --levels 10 --seed 11
	$(BIN)/obflow features --data $(MODEL_DATA) --out $(MODEL_DATA)/features.parquet \
		--config configs/replay_synth.toml --sample 1s --quiet
	$(BIN)/obflow train --features $(MODEL_DATA)/features.parquet --out $(MODEL) \
		--config configs/train.toml

test: $(STAMP) $(NUMBA_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

bench: $(STAMP) $(NUMBA_STAMP)
	$(BIN)/obflow bench --json build/bench.json

# Every wheel the image needs, for `docker build --build-arg PIP_NO_INDEX=1 .` offline.
wheelhouse: $(STAMP)
	$(BIN)/pip download --dest wheelhouse --only-binary=:all: .
	$(BIN)/pip wheel --no-deps --wheel-dir wheelhouse .

clean:
	rm -rf $(VENV) build .pytest_cache
