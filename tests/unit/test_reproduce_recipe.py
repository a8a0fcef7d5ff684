"""docs/model.md's "Reproduce" commands rebuild the shipped checkpoints: the training recipe each
checkpoint stores (``meta.train_config``) is what its documented command asks for, and no documented
command writes over a shipped file."""

from __future__ import annotations

import re
import shlex
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from trajpipe.app.cli import build_parser
from trajpipe.training.train_config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
MODEL_MD = REPO / "docs" / "model.md"
NOT_RECIPE = {"progress"}  # a progress bar changes nothing learnt


def documented_train_commands() -> list[list[str]]:
    """Every ``trajpipe train`` command of model.md's Reproduce section, as argv after ``trajpipe``."""
    section = MODEL_MD.read_text().split("## Reproduce", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(command, comments=True)
            if argv[:2] == [".venv/bin/trajpipe", "train"]:
                commands.append(argv[1:])
    return commands


def recipe(argv: list[str]) -> tuple[dict, object]:
    """(the TrainConfig as a dict, the parsed args) that ``trajpipe train`` builds from ``argv``."""
    args = build_parser().parse_args(argv)
    config = {k: getattr(args, k) for k in TrainConfig.__dataclass_fields__ if hasattr(args, k)}
    return {k: v for k, v in {**vars(TrainConfig()), **config}.items() if k not in NOT_RECIPE}, args


def stored(path: Path) -> dict:
    meta = torch.load(path, map_location="cpu", weights_only=False)["meta"]
    return meta


def command_for(out_contains: str) -> list[str]:
    matches = [argv for argv in documented_train_commands() if out_contains in argv[argv.index("--out") + 1]]
    assert len(matches) == 1, (out_contains, documented_train_commands())
    return matches[0]


def test_the_documented_default_model_command_is_the_shipped_recipe():
    meta = stored(REPO / "weights" / "forecaster.pt")
    config, args = recipe(command_for("forecaster.pt"))
    assert config == {k: v for k, v in meta["train_config"].items() if k not in NOT_RECIPE}
    assert args.data == meta["data"] and args.scene is None and meta["scene_left_out"] is None
    assert args.extra_train is None and len(meta["extra_train"]) == 31  # the default: SDD's 31 files


@pytest.mark.parametrize("cell, shipped", [("lstm", "weights/eth_ucy/{scene}.pt"), ("gru", "weights/eth_ucy/gru/{scene}.pt"),
                                           ("rnn", "weights/eth_ucy/rnn/{scene}.pt")])
def test_the_documented_leave_one_out_commands_are_the_shipped_recipes(cell, shipped):
    config, args = recipe(command_for(f"/{cell}/"))
    assert args.scene == ["eth", "hotel", "univ", "zara1", "zara2"]
    for scene in args.scene:
        meta = stored(REPO / shipped.format(scene=scene))
        assert config == {k: v for k, v in meta["train_config"].items() if k not in NOT_RECIPE}, scene
        assert meta["scene_left_out"] == scene and args.data == meta["data"]


def test_no_documented_command_writes_over_a_shipped_file():
    for argv in documented_train_commands():
        out = argv[argv.index("--out") + 1]
        assert out.startswith("runs/"), argv
        plot = argv[argv.index("--plot") + 1] if "--plot" in argv else out
        assert plot.startswith("runs/"), argv
    assert "weights_new" not in MODEL_MD.read_text()
    assert {f.name for f in fields(TrainConfig)} >= {"noise_range", "noise_feature", "cv_shrink"}
