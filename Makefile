# trajpipe developer targets. Each one installs what it needs first and skips what is already done.
VENV   ?= .venv
PYTHON ?= python3
SHARED ?= ../shared
BIN     = $(VENV)/bin

.PHONY: install assets demo test readme-image

install: $(VENV)/.installed

# torch is pinned and installed first so pip takes the CPU-machine wheels from local disk.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e ".[litert,dev]"
	touch $@

# Bundled weights and sample videos, where this workplace provides them; elsewhere trajpipe falls
# back to Ultralytics' own weights download and you bring your own video.
assets:
	@mkdir -p weights videos
	@if [ -d "$(SHARED)" ]; then \
		for f in $(SHARED)/weights/*.tflite; do [ -f "weights/$$(basename $$f)" ] || cp "$$f" weights/; done; \
		for f in $(SHARED)/videos/*.mp4; do [ -f "videos/$$(basename $$f)" ] || cp "$$f" videos/; done; \
	else \
		echo "note: $(SHARED) not found: no bundled weights or videos; trajpipe will download yolo26n.pt and needs your own video"; \
	fi

demo: install assets
	@mkdir -p runs
	$(BIN)/trajpipe run videos/concourse.mp4 --output-video runs/concourse_trajpipe.mp4 --output-jsonl runs/concourse_trajpipe.jsonl

test: install assets
	$(BIN)/python -m pytest

# The README picture: frame 150 of the annotated concourse video.
readme-image: install assets
	@mkdir -p runs
	$(BIN)/trajpipe run videos/concourse.mp4 --max-frames 151 --output-video runs/readme.mp4 --output-jsonl none --quiet
	$(BIN)/python -c "import cv2; c = cv2.VideoCapture('runs/readme.mp4'); c.set(cv2.CAP_PROP_POS_FRAMES, 150); ok, f = c.read(); cv2.imwrite('docs/concourse.png', f)"
