"""``trajpipe train`` on JSON lines: short recordings validate on their tracks, too-short ones say what a
track needs; every ``train`` / ``eval`` flag is documented with its help text."""

import argparse
import json
import re

import numpy as np
import pytest

from conftest import REPO
from trajpipe.app.cli import build_parser, main
from trajpipe.training.data import TrackTable
from trajpipe.training.windows import make_windows, split_table

WINDOW = 20  # 8 observed + 12 forecast steps


def table(frames: int, tracks: int, present=None) -> TrackTable:
    """Tracks walking in a line at 1 m/s, present on ``present`` frames (default all)."""
    t = np.arange(frames)[:, None, None] * 0.4
    pos = np.concatenate([t + np.zeros((1, tracks, 1)), np.arange(tracks)[None, :, None] + 0 * t], axis=2)
    if present is not None:
        pos[~present] = np.nan
    return TrackTable("clip", pos, np.full((frames, tracks), np.nan), 0.4)


def test_a_long_recording_is_split_in_time():
    train, val = split_table(table(200, 3), 0.2)
    assert train.pos.shape[:2] == (160, 3) and val.pos.shape[:2] == (40, 3)


def test_a_short_recording_validates_on_its_long_tracks():
    """13.6 s of video (34 steps of 0.4 s): no 8 s window fits in its last 20 %; its tracks are split."""
    train, val = split_table(table(34, 10), 0.2)
    assert train.pos.shape[:2] == (34, 8) and val.pos.shape[:2] == (34, 2)
    assert len(make_windows(train)) > 0 and len(make_windows(val)) > 0


def test_tracks_too_short_for_a_window_are_an_error_saying_how_long(tmp_path, capsys):
    records = [{"frame": i, "timestamp": i / 25, "tracks": [{"id": 1, "class": "person", "box": [i, 10, i + 20, 60]}]}
               for i in range(100)]  # 4 s: half a window
    data = tmp_path / "short.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    code = main(["train", "--format", "jsonl", "--data", str(data), "--extra-train", "none", "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "tracks seen for 8 s (8 observed + 12 forecast steps of 0.4 s)" in err[0] and str(data) in err[0]
    assert not (tmp_path / "m.pt").exists()


def _flags(command: str) -> list[argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices[command]._actions
            if a.option_strings and a.help != argparse.SUPPRESS and "-h" not in a.option_strings]


@pytest.mark.parametrize("command", ["train", "eval"])
def test_every_flag_is_documented_with_its_help(command):
    pages = {name: " ".join((REPO / "docs" / name).read_text().split()) for name in ("cli.md", "forecasters.md")}
    missing = []
    for action in _flags(command):
        assert action.help, f"{command} {action.option_strings[0]} has no help text"
        help_text = " ".join(action.help.split())
        flag = re.compile(rf"`{re.escape(action.option_strings[0])}[` ]")
        if not any(flag.search(text) and help_text in text for text in pages.values()):
            missing.append(action.option_strings[0])
    assert missing == [], f"trajpipe {command} flags not on docs/cli.md or docs/forecasters.md with their help: {missing}"
