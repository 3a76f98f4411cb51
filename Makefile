VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test install install-dev install-ray lint bench model clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .  # the `explorer` command
	touch $@

# numba compiles at install, into its disk cache, so that a first click does not wait for it;
# again whenever the compiled code changes
$(VENV)/.compiled: $(VENV)/.installed explorer/analysis/*.py
	$(PY) -W ignore -m explorer.analysis.warmup
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# the optional Ray extra (pyproject's [ray]): the --engine ray paths; its tests skip without it
# (.ci/run installs it and requires them)
$(VENV)/.installed-ray: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q --no-build-isolation -e ".[ray]"
	touch $@

install: $(VENV)/.installed $(VENV)/.compiled
install-dev: $(VENV)/.installed-dev
install-ray: $(VENV)/.installed-ray

run: install
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install-dev install-ray
	$(PY) benchmarks/bench_embedding.py
	$(PY) benchmarks/bench_verification.py
	$(PY) benchmarks/bench_exactness.py
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_projection.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_faces.py
	$(PY) benchmarks/bench_ray.py

model: install
	$(PY) scripts/train_default_model.py

clean:
	rm -rf .cache tests/artifacts
