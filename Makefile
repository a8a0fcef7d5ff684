# trajpipe developer targets. Each one installs what it needs first and skips what is already done.
VENV   ?= .venv
PYTHON ?= python3
SHARED ?= ../shared
DEMO_CLIP = videos/market_street_1906_10s.mp4
DEMO_VIDEO ?=
DEMO_ARGS  ?=
BIN     = $(VENV)/bin

NODE_CLIENT = examples/node

.PHONY: install assets demo test readme-image live-image node-client

install: $(VENV)/.installed

# torch is pinned and installed first so pip takes the CPU-machine wheels from local disk.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e ".[litert,dev]"
	touch $@

# Bundled detector weights and sample videos, copied from $(SHARED) when it exists. Without it the
# detector falls back to Ultralytics' own yolo26n.pt download and the demo runs on the committed
# public-domain clip videos/market_street_1906_10s.mp4.
assets:
	@mkdir -p weights videos
	@if [ -d "$(SHARED)" ]; then \
		for f in $(SHARED)/weights/*.tflite; do [ -f "weights/$$(basename $$f)" ] || cp "$$f" weights/; done; \
		for f in $(SHARED)/videos/*.mp4; do [ -f "videos/$$(basename $$f)" ] || cp "$$f" videos/; done; \
	else \
		echo "note: $(SHARED) not found: no bundled detector weights or concourse video; the demo runs on $(DEMO_CLIP) and the detector falls back to Ultralytics' yolo26n.pt download"; \
	fi

# The demo video: videos/concourse.mp4 when it is there, else the committed clip (override: make demo DEMO_VIDEO=...;
# extra options or key=value settings: make demo DEMO_ARGS="model=path/to/weights.tflite").
demo: install assets
	@mkdir -p runs
	@video="$(DEMO_VIDEO)"; [ -n "$$video" ] || { [ -f videos/concourse.mp4 ] && video=videos/concourse.mp4 || video=$(DEMO_CLIP); }; \
	name=$$(basename "$$video"); name=$${name%.*}; \
	echo "demo: $$video -> runs/$${name}_trajpipe.mp4 + .jsonl"; \
	$(BIN)/trajpipe run "$$video" --output-video "runs/$${name}_trajpipe.mp4" --output-jsonl "runs/$${name}_trajpipe.jsonl" $(DEMO_ARGS)

test: install assets node-client
	$(BIN)/python -m pytest

# The Node.js ONNX client's packages, for tests/e2e/test_node_client.py (skipped without node or them).
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's post-install step would fetch CUDA files.
node-client: $(NODE_CLIENT)/node_modules/.installed

$(NODE_CLIENT)/node_modules/.installed: $(NODE_CLIENT)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(NODE_CLIENT) && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && touch node_modules/.installed; \
	else \
		echo "note: npm not found: tests/e2e/test_node_client.py will be skipped"; \
	fi

# The README picture: frame 150 of the annotated concourse video.
readme-image: install assets
	@mkdir -p runs
	$(BIN)/trajpipe run videos/concourse.mp4 --max-frames 151 --output-video runs/readme.mp4 --output-jsonl none --quiet
	$(BIN)/python -c "import cv2; c = cv2.VideoCapture('runs/readme.mp4'); c.set(cv2.CAP_PROP_POS_FRAMES, 150); ok, f = c.read(); cv2.imwrite('docs/concourse.png', f)"

# The live view's picture (docs/live_view.png): the browser test's screenshot of the page during a run.
live-image: install assets
	TRAJPIPE_SCREENSHOT=docs/live_view.png $(BIN)/python -m pytest -q tests/e2e/test_serve_browser.py
