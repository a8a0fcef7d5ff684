"""One typed configuration: defaults here, documented in configs/default.yaml, overridable by
a YAML file and by ``key=value`` pairs on the command line (as Ultralytics does)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import TrajpipeError
from .registry import CAMERA_MOTION
from .resources import resolve

MCAP_IMAGES = ("raw", "annotated", "none")  # what --output-mcap records as the camera image
DEFAULT_CLASSES = ["person", "bicycle", "car", "motorcycle", "bus", "truck"]


@dataclass
class Config:
    model: str | None = None  # detector weights; None: weights/yolov8n_int8.tflite, else Ultralytics' yolo26n.pt
    tracker: str = "configs/tracker.yaml"  # trajpipe's ByteTrack settings | bytetrack | botsort | an Ultralytics tracker YAML
    conf: float = 0.1  # detection confidence threshold (low: the tracker's second stage uses the low-score boxes)
    iou: float = 0.7  # NMS IoU threshold
    imgsz: int | None = None  # detector input size; None: the model's own
    device: str | None = None  # detector device as Ultralytics spells it (cpu, 0, cuda:0, mps); None: Ultralytics' choice
    classes: list[str] = field(default_factory=lambda: list(DEFAULT_CLASSES))  # COCO class names to keep; [] keeps all
    forecaster: str = "lstm"  # lstm | cv | path to a forecaster checkpoint (.pt or .onnx)
    forecaster_weights: str = "weights/forecaster.pt"  # checkpoint used by forecaster=lstm
    forecast_modes: int = 3  # alternative futures per forecast, most probable first (0: none)
    min_track_age: float = 0.8  # seconds a track must have been seen before it is forecast
    history_seconds: float = 6.0  # how much past each track keeps
    lost_track_ttl: float = 2.0  # seconds after its last sighting that a lost track is forgotten
    adapt_to_scene: bool = False  # refit the shrinkage towards CV and the sigma scale on this scene's finished forecasts
    keep_hidden_tracks: bool = False  # keep tracks the tracker has lost (visible: false), position and forecast continued
    trail_seconds: float = 2.0  # length of the drawn past trail
    draw_boxes: bool = True
    draw_hud: bool = True
    draw_uncertainty: bool = True  # ring of one standard deviation around each forecast's end point
    mcap_image: str = "raw"  # --output-mcap's image topic: raw | annotated (the overlay drawn in) | none
    camera_motion: str = "flow"  # flow | translation | none: compensate the camera's own motion (pan, zoom, roll, perspective; translation: pans only)
    homography: str | None = None  # file with a 3x3 image->ground matrix (.npy, .json, text)
    homography_points: list[list[float]] | None = None  # or >= 4 rows [u, v, x, y]: pixel (u, v) is ground (x, y)
    loop: bool = False  # video files: play again from the start at the end (soak tests, demos)
    reconnect_timeout: float = 30.0  # live sources: give up after the stream has been lost this long
    reconnect_max_delay: float = 4.0  # live sources: longest wait between reconnection attempts
    read_timeout: float = 5.0  # live sources: a stream silent this long counts as lost
    outage_grace: float = 5.0  # live sources: keep tracks through outages up to this long
    serve: str | None = None  # live view in the browser at [HOST:]PORT (docs/live.md); None: off. Host default 127.0.0.1
    serve_fps: float = 15.0  # live view: most video frames a second sent to viewers
    serve_width: int = 960  # live view: frames scaled down to at most this many pixels wide
    serve_token: str | None = None  # live view: token every request needs; None: generated for non-loopback hosts
    serve_max_clients: int = 8  # live view: most open streams (a page uses two), 503 beyond

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def merged(self, overrides: dict[str, Any]) -> "Config":
        """A copy with ``overrides`` applied and validated. Unknown keys are an error."""
        unknown = sorted(set(overrides) - set(self.keys()))
        if unknown:
            raise TrajpipeError(f"unknown config key {unknown[0]!r}; valid keys: {', '.join(self.keys())}")
        cfg = dataclasses.replace(self, **{k: _coerce(k, v) for k, v in overrides.items()})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        def bad(key: str, why: str) -> TrajpipeError:
            return TrajpipeError(f"invalid value for {key}={getattr(self, key)!r}: {why}")

        if not 0.0 <= self.conf <= 1.0:
            raise bad("conf", "must be between 0 and 1")
        if not 0.0 < self.iou <= 1.0:
            raise bad("iou", "must be in (0, 1]")
        if not 0 <= self.forecast_modes <= 20:
            raise bad("forecast_modes", "must be between 0 and 20")
        if self.imgsz is not None and (self.imgsz < 32 or self.imgsz % 32):
            raise bad("imgsz", "must be a positive multiple of 32")
        for key in ("min_track_age", "history_seconds", "lost_track_ttl", "trail_seconds", "outage_grace"):
            if getattr(self, key) < 0:
                raise bad(key, "must be >= 0 seconds")
        if self.history_seconds < self.min_track_age:
            raise bad("history_seconds", "must be >= min_track_age")
        for key in ("reconnect_timeout", "reconnect_max_delay", "read_timeout"):
            if getattr(self, key) <= 0:
                raise bad(key, "must be > 0 seconds")
        if self.homography is not None and self.homography_points is not None:
            raise bad("homography", "set homography or homography_points, not both")
        if self.mcap_image not in MCAP_IMAGES:
            raise bad("mcap_image", f"must be one of {', '.join(MCAP_IMAGES)}")
        if self.camera_motion not in CAMERA_MOTION:
            raise bad("camera_motion", f"must be one of {', '.join(CAMERA_MOTION)}")
        if not self.tracker:
            raise bad("tracker", "must be bytetrack, botsort or a tracker YAML path")
        if not self.forecaster:
            raise bad("forecaster", "must be lstm, cv or a checkpoint path")
        if self.serve is not None:
            serve_address(self.serve)
        if self.serve_fps <= 0:
            raise bad("serve_fps", "must be > 0 frames a second")
        if self.serve_width < 16:
            raise bad("serve_width", "must be >= 16 pixels")
        if self.serve_max_clients < 1:
            raise bad("serve_max_clients", "must be >= 1")
        if self.serve_token is not None and not self.serve_token.strip():
            raise bad("serve_token", "must not be empty")


def serve_address(text: str) -> tuple[str, int]:
    """``"8090"`` -> ``("127.0.0.1", 8090)``; ``"0.0.0.0:8090"``, ``"[::1]:8090"`` -> (host, port)."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise TrajpipeError(f"invalid value for serve={text!r}: expected [HOST:]PORT, e.g. 8090 or 0.0.0.0:8090")
    return host, int(port)


_TYPES = {f.name: f.type for f in fields(Config)}


def _coerce(key: str, value: Any) -> Any:
    """Turn a YAML/CLI value into the field's type, with a clear error when it can't be."""
    kind = _TYPES[key]
    if isinstance(value, str) and kind == "str | None":
        # Taken as written, except YAML's nulls: YAML would read a token "yes" as true and "1:30" as 90.
        return None if value.strip() in ("", "~", "null", "Null", "NULL") else value
    if isinstance(value, str) and kind != "str":
        value = yaml.safe_load(value) if value.strip() else None
    try:
        if value is None:
            if "None" in kind:
                return None
            raise ValueError
        if kind.startswith("list[list"):
            rows = [[float(x) for x in row] for row in value]
            return rows
        if kind.startswith("list"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)):
                raise ValueError
            return [str(x).strip() for x in items if str(x).strip()]
        if kind.startswith("bool"):
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind.startswith("int"):
            if isinstance(value, bool) or float(value) != int(value):
                raise ValueError
            return int(value)
        if kind.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        expected = kind.replace(" | None", " or null")
        raise TrajpipeError(f"invalid value for {key}={value!r}: expected {expected}") from None


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["conf=0.4", "classes=person,car"]`` -> ``{"conf": "0.4", "classes": "person,car"}``."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TrajpipeError(f"expected key=value, got {pair!r}")
        overrides[key.strip()] = value
    return overrides


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the YAML file at ``path`` (if any; ``configs/default.yaml`` is also found where the
    working directory has none: the package ships it), then ``overrides``."""
    values: dict[str, Any] = {}
    if path is not None:
        path = resolve(path)
        if not path.is_file():
            raise TrajpipeError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise TrajpipeError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise TrajpipeError(f"config file {path} must be a mapping of key: value")
        values.update(loaded)
    values.update(overrides or {})
    return Config().merged(values)
