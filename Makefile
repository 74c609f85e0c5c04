# framecast: `make demo` and `make test` are the whole quick start.
VENV := .venv
BIN  := $(VENV)/bin
DEMO_PROMPT ?= a blue circle turns into a red square, then the text Hello framecast appears, in 5 seconds

.PHONY: setup demo test test-fast bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	@$(BIN)/framecast doctor --quiet
	@echo "==> free preview"
	@$(BIN)/framecast render "$(DEMO_PROMPT)" --tier free
	@echo "==> the one-off premium trial (watermarked)"
	@$(BIN)/framecast render "show the quadratic formula, in 4 seconds" --trial

test: setup
	@$(BIN)/python -m pytest -n 2 -q

test-fast: setup
	@$(BIN)/python -m pytest -n 2 -q -m "not slow"

bench: setup
	@for b in benchmarks/*.py; do echo "==> $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache
