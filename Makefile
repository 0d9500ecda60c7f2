# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := build/demo

.PHONY: demo test lint bench clean wheelhouse

# numba's cache tracks only the file of each compiled function, not the modules it inlines or
# whose constants it uses: after any source change, drop the whole cache.
SOURCES := $(shell find engine connectors replay strategies -name '*.py')
NUMBA_STAMP := build/.numba-cache-stamp
$(NUMBA_STAMP): $(SOURCES)
	@find engine connectors replay strategies -name '*.nb[ic]' -delete
	@mkdir -p build && touch $(NUMBA_STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) $(NUMBA_STAMP)
	$(BIN)/obflow synth --out $(DEMO) --events 200000 --levels 10 --seed 7
	$(BIN)/obflow replay --config configs/replay_synth.toml --data $(DEMO) --out build/report

test: $(STAMP) $(NUMBA_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: $(STAMP) $(NUMBA_STAMP)
	$(BIN)/obflow bench --json build/bench.json

# Every wheel the image needs, for `docker build --build-arg PIP_NO_INDEX=1 .` offline.
wheelhouse: $(STAMP)
	$(BIN)/pip download --dest wheelhouse --only-binary=:all: .
	$(BIN)/pip wheel --no-deps --wheel-dir wheelhouse .

clean:
	rm -rf $(VENV) build .pytest_cache
