# The two commands: `make run` and `make test`. Everything lives in .venv/ and var/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run serve test install lint check-content clean

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

# Production-like on ${HOST:-127.0.0.1}:${PORT:-8000}: DEBUG off, granian (SERVER=gunicorn for gunicorn), hashed and
# compressed static files, the page cache, JSON logs; DATABASE_URL and REDIS_URL from the environment (see carepath/serve.py).
serve: install
	$(BIN)/python -m carepath.serve

# The whole suite, on SQLite unless DATABASE_URL names another database.
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check carepath

# The demo files, then `carepath check_content` over the library loaded into a throwaway SQLite database.
check-content: install
	$(BIN)/python -m carepath.conditions.demo.check
	tmp=$$(mktemp -d) && export CAREPATH_VAR_DIR=$$tmp DEBUG=true && $(BIN)/carepath migrate --noinput -v0 && \
	  $(BIN)/carepath load_demo -v0 && $(BIN)/carepath check_content; status=$$?; rm -rf $$tmp; exit $$status

clean:
	rm -rf $(VENV) var build *.egg-info
