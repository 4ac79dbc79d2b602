# The two set-up commands of the README. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# torch: a plain `pip install torch==X` resolves to the CUDA build on Linux (about 2.7 GB of
# nvidia wheels), so without a GPU the CPU wheel is asked for by name: its "+cpu" local version
# (from a wheel directory or index that has it), else PyTorch's CPU index. TORCH_VARIANT=cuda
# (the default where nvidia-smi is on the PATH) installs the plain, CUDA-enabled wheel.
TORCH_VERSION := 2.13.0
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_VARIANT ?= $(if $(shell command -v nvidia-smi 2>/dev/null),cuda,cpu)
ifeq ($(TORCH_VARIANT),cuda)
TORCH_INSTALL := $(PY) -m pip install --quiet torch==$(TORCH_VERSION)
else ifeq ($(TORCH_VARIANT),cpu)
TORCH_INSTALL := $(PY) -m pip install --quiet torch==$(TORCH_VERSION)+cpu \
	|| $(PY) -m pip install --quiet torch==$(TORCH_VERSION) --index-url $(TORCH_CPU_INDEX)
else
$(error TORCH_VARIANT must be cpu or cuda, got '$(TORCH_VARIANT)')
endif

.PHONY: demo test venv clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(TORCH_INSTALL)
	$(PY) -m pip install --quiet -e ".[dev,sweep]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) examples/burgers.py

test: venv
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
