# telescrub — the two commands in the README are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out/sample
SHARED ?= ../shared
TEST_WORKERS ?= 2

.PHONY: setup run test lint eval bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,aws,gcp,objstore-test]'
	touch $(STAMP)

setup: $(STAMP)

## Set everything up and scrub sample_data/ into $(OUT) with the public demo key.
run: $(STAMP)
	$(BIN)/telescrub run 'sample_data/*.jsonl' 'sample_data/*.jsonl.gz' 'sample_data/*.csv' 'sample_data/*.log' --output $(OUT) --demo-key --mode overwrite

## The whole test suite: lint, types, unit, transform and end-to-end tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy src/telescrub pipelines classifiers deploy/dataflow/flex_main.py tools/evaluate.py tools/eval_metrics.py tools/output_digest.py
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy src/telescrub pipelines classifiers deploy/dataflow/flex_main.py tools/evaluate.py tools/eval_metrics.py tools/output_digest.py

## Scrub every corpus in ../shared/corpora and print leakcheck per truth file.
eval: $(STAMP)
	$(BIN)/python tools/evaluate.py --shared $(SHARED) --out eval

bench: $(STAMP)
	$(BIN)/python tools/bench.py $(BENCH_ARGS)

clean:
	rm -rf out eval/runs build *.egg-info bench/data
