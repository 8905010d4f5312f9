# The two commands: `make run` and `make test`. Everything lives in .venv/ and var/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install lint check-content clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Development server with the embedded SQLite database under var/; the demo library loads only into an empty one.
run: install
	DEBUG=true $(BIN)/carepath migrate --noinput
	DEBUG=true $(BIN)/carepath load_demo --if-empty
	DEBUG=true $(BIN)/carepath build_vocabulary --if-empty
	DEBUG=true $(BIN)/carepath runserver 127.0.0.1:$(PORT)

# The whole suite, on SQLite unless DATABASE_URL names another database.
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check carepath

check-content: install
	$(BIN)/python -m carepath.conditions.demo.check

clean:
	rm -rf $(VENV) var build *.egg-info
