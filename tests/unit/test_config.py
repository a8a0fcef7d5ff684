from pathlib import Path

import pytest
import yaml

from trajpipe.config import Config, load_config, parse_overrides
from trajpipe.errors import TrajpipeError

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_documents_exactly_the_defaults():
    documented = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    assert documented == {key: getattr(Config(), key) for key in Config.keys()}


def test_overrides_are_coerced_to_field_types():
    cfg = load_config(overrides=parse_overrides(["conf=0.4", "imgsz=320", "classes=person, car", "draw_hud=false",
                                                 "tracker=botsort", "model=null"]))
    assert cfg.conf == 0.4 and cfg.imgsz == 320 and cfg.classes == ["person", "car"]
    assert cfg.draw_hud is False and cfg.tracker == "botsort" and cfg.model is None


def test_yaml_file_then_cli_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("conf: 0.5\nclasses: [person]\n")
    cfg = load_config(path, {"conf": "0.6"})
    assert cfg.conf == 0.6 and cfg.classes == ["person"]


@pytest.mark.parametrize("overrides, message", [
    ({"confidence": "0.3"}, "unknown config key 'confidence'"),
    ({"conf": "2"}, "conf"),
    ({"conf": "high"}, "expected float"),
    ({"imgsz": "33"}, "multiple of 32"),
    ({"imgsz": "1.5"}, "expected int"),
    ({"draw_hud": "maybe"}, "expected bool"),
    ({"lost_track_ttl": "-1"}, "lost_track_ttl"),
    ({"history_seconds": "0.1", "min_track_age": "1"}, "history_seconds"),
])
def test_invalid_config_is_a_clear_error(overrides, message):
    with pytest.raises(TrajpipeError, match=message):
        load_config(overrides=overrides)


def test_bad_override_syntax_and_files(tmp_path):
    with pytest.raises(TrajpipeError, match="key=value"):
        parse_overrides(["conf"])
    with pytest.raises(TrajpipeError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(TrajpipeError, match="mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("conf: [0.3\n")
    with pytest.raises(TrajpipeError, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")
