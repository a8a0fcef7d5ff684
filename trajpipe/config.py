"""One typed configuration: defaults here, documented in configs/default.yaml, overridable by
a YAML file and by ``key=value`` pairs on the command line (as Ultralytics does)."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import TrajpipeError
from .registry import CAMERA_MOTION
from .resources import existing_file

MCAP_IMAGES = ("raw", "annotated", "none")  # what --output-mcap records as the camera image
DEFAULT_CLASSES = ["person", "bicycle", "car", "motorcycle", "bus", "truck"]


def _key(default: Any, meaning: str, allowed: str) -> Any:
    """A config field with what it means and the values it takes (``run --help`` lists both)."""
    metadata = {"meaning": meaning, "allowed": allowed}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


SECONDS = ">= 0 (seconds)"
FLAG = "true | false"


@dataclass
class Config:
    model: str | None = _key(None, "detector weights; null: weights/yolov8n_int8.tflite, else Ultralytics' yolo26n.pt",
                             "a weights path (.tflite, .pt, ...) | null")
    tracker: str = _key("configs/tracker.yaml", "tracker settings: trajpipe's ByteTrack ones, or Ultralytics' stock ones",
                        "bytetrack | botsort | a tracker YAML path")
    conf: float = _key(0.1, "detection confidence threshold (low: the tracker's second stage uses the low-score boxes)",
                       "0 to 1")
    iou: float = _key(0.7, "NMS IoU threshold", "above 0, up to 1")
    imgsz: int | None = _key(None, "detector input size; null: the model's own", "a multiple of 32 | null")
    device: str | None = _key(None, "detector device as Ultralytics spells it; null: Ultralytics' choice",
                              "cpu | 0 | cuda:0 | mps | ... | null")
    detector_runtime: str = _key("auto", "what runs the detector network; auto: the runtime measured fastest on this "
                                 "machine (LiteRT at 1..cores threads, OpenVINO where installed; timed once, cached) for "
                                 ".tflite/.onnx weights when imgsz/device ask for nothing else, else Ultralytics",
                                 "auto | litert | openvino | ultralytics | a candidate: litert:2, litert:1x2, ...")
    detector_threads: int | None = _key(None, "the detector runtime's thread count (litert, openvino); null: measured "
                                        "with the runtime (auto, litert) or the runtime's own (openvino)",
                                        "1 or more | null")
    classes: list[str] = _key(DEFAULT_CLASSES, "COCO class names to keep", "names, comma-separated | [] (keeps all)")
    forecaster: str = _key("lstm", "the forecaster", "lstm | cv | a checkpoint path (.pt, .onnx)")
    forecaster_weights: str = _key("weights/forecaster.pt", "the checkpoint forecaster=lstm uses", "a .pt path")
    forecast_modes: int = _key(3, "alternative futures per forecast, most probable first", "0 (none) to 20")
    min_track_age: float = _key(0.8, "seconds a track must have been seen before it is forecast", SECONDS)
    history_seconds: float = _key(6.0, "seconds of past each track keeps", ">= min_track_age (seconds)")
    lost_track_ttl: float = _key(2.0, "seconds after its last sighting that a lost track is forgotten", SECONDS)
    adapt_to_scene: bool = _key(True, "refit the shrinkage towards CV and the sigma scale on this scene's finished "
                                "forecasts (docs/model.md)", FLAG)
    keep_hidden_tracks: bool = _key(False, "keep tracks the tracker has lost (visible: false), position and forecast "
                                    "continued from the last sighting (docs/outputs.md)", FLAG)
    reassociate: bool = _key(False, "a new track inside a lost person's continued forecast takes their id (docs/outputs.md)",
                             FLAG)
    trail_seconds: float = _key(2.0, "length of the drawn past trail (0: none)", SECONDS)
    draw_boxes: bool = _key(True, "draw boxes with id and class", FLAG)
    draw_hud: bool = _key(True, "draw the frame / FPS / tracks panel", FLAG)
    draw_uncertainty: bool = _key(True, "ring of one standard deviation around each forecast's end point", FLAG)
    mcap_image: str = _key("raw", "the image --output-mcap records (annotated: the overlay drawn in)",
                           " | ".join(MCAP_IMAGES))
    camera_motion: str = _key("flow", "compensate the camera's own motion (flow: pan, zoom, roll, perspective; "
                              "translation: pans only; none: a fixed camera)", " | ".join(CAMERA_MOTION))
    homography: str | None = _key(None, "file with a 3x3 image->ground matrix", "a .npy, .json or text file | null")
    homography_points: list[list[float]] | None = _key(None, "pixel (u, v) lies at ground point (x, y)",
                                                       ">= 4 rows [u, v, x, y] | null")
    loop: bool = _key(False, "video files: play again from the start at the end (soak tests, demos)", FLAG)
    reconnect_timeout: float = _key(30.0, "live sources: give up after the stream has been lost this long", "> 0 (seconds)")
    reconnect_max_delay: float = _key(4.0, "live sources: longest wait between reconnection attempts", "> 0 (seconds)")
    read_timeout: float = _key(5.0, "live sources: a stream silent this long counts as lost", "> 0 (seconds)")
    outage_grace: float = _key(5.0, "live sources: keep tracks through outages up to this long", SECONDS)
    serve: str | None = _key(None, "live view in the browser (docs/live.md); null: off", "[HOST:]PORT (host default 127.0.0.1) | null")
    serve_fps: float = _key(15.0, "live view: most video frames a second sent to each viewer", "> 0")
    serve_width: int = _key(960, "live view: frames scaled down to at most this many pixels wide", ">= 16")
    serve_token: str | None = _key(None, "live view: the token every request needs; null: generated for non-loopback hosts",
                                   "text | null")
    serve_max_clients: int = _key(8, "live view: most open streams (a page uses two), 503 beyond", ">= 1")
    ros2: bool = _key(False, "publish markers and predicted objects as ROS 2 topics over DDS (docs/robotics.md)", FLAG)
    ros2_domain_id: int | None = _key(None, "ROS 2 domain; null: $ROS_DOMAIN_ID, else 0", "0-232 | null")
    ros2_namespace: str = _key("/trajpipe", "topics <namespace>/markers and <namespace>/objects", "a ROS 2 namespace")
    ros2_frame_id: str | None = _key(None, "header frame_id; null: world (with a pose), ground (homography) or camera (pixels)",
                                     "a frame name | null")
    ros2_localhost: bool = _key(True, "DDS on the loopback interface only (unless CYCLONEDDS_URI configures Cyclone)", FLAG)
    ros2_wait: float = _key(0.0, "seconds to wait for a subscriber on each topic before the first frame", SECONDS)
    ros2_odometry: str | None = _key(None, "listening (ros2:TOPIC sources): nav_msgs/Odometry topic for the pose, e.g. /odom",
                                     "a topic | null")
    foxglove: str | None = _key(None, "Foxglove WebSocket server at [HOST:]PORT (host default 127.0.0.1); null: off",
                                "PORT | HOST:PORT | null")

    @classmethod
    def keys(cls) -> list[str]:
        """The config's keys, in the order they are declared.

        Returns:
            The key names (what ``key=value`` overrides and YAML files may set).
        """
        return [f.name for f in fields(cls)]

    def merged(self, overrides: dict[str, Any]) -> "Config":
        """A copy with ``overrides`` applied and validated.

        Args:
            overrides: ``{key: value}``; values may be strings as on the command line (``"0.3"``).

        Returns:
            The new config (this one is left as it is).

        Raises:
            TrajpipeError: an unknown key, or a value out of its range.
        """
        unknown = sorted(set(overrides) - set(self.keys()))
        if unknown:
            close = _closest_key(str(unknown[0]))
            hint = f"did you mean {close!r}? " if close else ""
            raise TrajpipeError(f"unknown config key {unknown[0]!r}; {hint}valid keys: {', '.join(self.keys())}")
        cfg = dataclasses.replace(self, **{k: _coerce(k, v) for k, v in overrides.items()})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check every key's value; a :class:`TrajpipeError` names the first one out of its range."""
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
        if not re.fullmatch(r"auto|ultralytics|litert(:\d+(x\d+)?)?|openvino(:\d+)?", str(self.detector_runtime)):
            raise bad("detector_runtime", "must be auto, litert, openvino, ultralytics or a candidate such as litert:1x2")
        if self.detector_threads is not None and self.detector_threads < 1:
            raise bad("detector_threads", "must be >= 1 (or null)")
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
        if self.foxglove is not None:
            serve_address(self.foxglove, "foxglove")
        if self.ros2_domain_id is not None and not 0 <= self.ros2_domain_id <= 232:
            raise bad("ros2_domain_id", "must be between 0 and 232")
        if self.ros2_wait < 0:
            raise bad("ros2_wait", "must be >= 0 seconds")
        if self.serve_fps <= 0:
            raise bad("serve_fps", "must be > 0 frames a second")
        if self.serve_width < 16:
            raise bad("serve_width", "must be >= 16 pixels")
        if self.serve_max_clients < 1:
            raise bad("serve_max_clients", "must be >= 1")
        if self.serve_token is not None and not self.serve_token.strip():
            raise bad("serve_token", "must not be empty")


def _closest_key(name: str) -> str | None:
    """The config key ``name`` was most likely meant to be: a near spelling (``homograpy``), else the
    longest key it starts with (``confidence`` -> ``conf``)."""
    close = difflib.get_close_matches(name, Config.keys(), n=1, cutoff=0.6)
    if close:
        return close[0]
    prefixes = [key for key in Config.keys() if name.startswith(key)]
    return max(prefixes, key=len) if prefixes else None


def serve_address(text: str, key: str = "serve") -> tuple[str, int]:
    """``"8090"`` -> ``("127.0.0.1", 8090)``; ``"0.0.0.0:8090"``, ``"[::1]:8090"`` -> (host, port)."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise TrajpipeError(f"invalid value for {key}={text!r}: expected [HOST:]PORT, e.g. 8090 or 0.0.0.0:8090")
    return host, int(port)


_TYPES = {f.name: f.type for f in fields(Config)}


def _coerce(key: str, value: Any) -> Any:
    """Turn a YAML/CLI value into the field's type, with a clear error when it can't be."""
    kind = _TYPES[key]
    if isinstance(value, str) and kind == "str | None":
        # Taken as written, except YAML's nulls: YAML would read a token "yes" as true and "1:30" as 90.
        return None if value.strip() in ("", "~", "null", "Null", "NULL") else value
    try:
        if isinstance(value, str) and kind != "str":  # YAML, as in a --config file: "[[1, 2], [3, 4]]", "0.3"
            value = yaml.safe_load(value) if value.strip() else None
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
    except (TypeError, ValueError, yaml.YAMLError):  # a malformed YAML value says which key, not the parser's line
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
    """The configuration: defaults, then the YAML file at ``path``, then ``overrides``.

    Args:
        path: a YAML file of ``key: value`` (``configs/default.yaml`` is also found where the working
            directory has none: the package ships it), or None.
        overrides: ``{key: value}`` applied last, or None.

    Returns:
        The validated :class:`Config`.

    Raises:
        TrajpipeError: a missing or malformed file, an unknown key or a value out of its range.

    Example:
        >>> load_config(overrides={"conf": "0.3"}).conf
        0.3
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = existing_file(path, "config file")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise TrajpipeError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise TrajpipeError(f"config file {path} must be a mapping of key: value")
        values.update(loaded)
    values.update(overrides or {})
    return Config().merged(values)
