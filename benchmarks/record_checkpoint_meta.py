"""Record in the shipped forecaster checkpoint what `trajpipe train` now writes into every new one:
the trajpipe version, the training date and every training file (`trajpipe info` prints them).

The default checkpoint (trajpipe/weights/forecaster.pt, linked as weights/forecaster.pt) was trained
before `trajpipe train` recorded these. What is known about it, and how:
- trajpipe version 0.1.0: the version in pyproject.toml at commit b684f38, which added the checkpoint;
- trained on 2026-11-26: the date of that commit (the hour is not known);
- the 31 Stanford Drone Dataset files of ../shared/data/trajnet_sdd as extra training data (the
  default --extra-train then, docs/model.md): the checkpoint's train_samples, 79 076, is exactly two
  noise copies of 30 553 ETH/UCY (all scenes' train files) + 8 985 SDD training windows.

Only ``meta`` is rewritten, never the weights: the file is written next to the original, read back,
checked tensor by tensor against the original, then moved over it. A checkpoint that is not the one
described (a retrained forecaster.pt: other train_samples or val_ade) is left alone, and keys already
recorded are never overwritten, so running this twice changes nothing.

    .venv/bin/python benchmarks/record_checkpoint_meta.py [CHECKPOINT]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SDD = "../shared/data/trajnet_sdd"
SDD_FILES = [  # sorted(glob("../shared/data/trajnet_sdd/*.txt")) as the training run read them
    "bookstore_0.txt", "bookstore_1.txt", "bookstore_2.txt", "bookstore_3.txt", "coupa_3.txt", "deathCircle_0.txt",
    "deathCircle_1.txt", "deathCircle_2.txt", "deathCircle_3.txt", "deathCircle_4.txt", "gates_0.txt", "gates_1.txt",
    "gates_3.txt", "gates_4.txt", "gates_5.txt", "gates_6.txt", "gates_7.txt", "gates_8.txt", "hyang_4.txt",
    "hyang_5.txt", "hyang_6.txt", "hyang_7.txt", "hyang_9.txt", "nexus_0.txt", "nexus_1.txt", "nexus_2.txt",
    "nexus_3.txt", "nexus_4.txt", "nexus_7.txt", "nexus_8.txt", "nexus_9.txt",
]
# the checkpoint described above, recognised by its training notes
IDENTITY = {"train_samples": 79076, "val_ade": 0.4793110056170474}
KNOWN = {
    "trajpipe_version": "0.1.0",
    "trained_at": "2026-11-26",
    "extra_train": [f"{SDD}/{name}" for name in SDD_FILES],
    "provenance": "trajpipe_version, trained_at (day only) and extra_train recorded afterwards by "
                  "benchmarks/record_checkpoint_meta.py from the repository history (commit b684f38) and train_samples",
}


def record(path: Path) -> str:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    meta = ckpt["meta"]
    if any(meta.get(key) != value for key, value in IDENTITY.items()):
        return f"{path}: not the checkpoint of commit b684f38 ({IDENTITY}); left alone"
    missing = {key: value for key, value in KNOWN.items() if key not in meta}
    if not missing:
        return f"{path}: already recorded"
    ckpt["meta"] = {**meta, **missing}
    target = path.resolve()  # through the repository's link, onto the packaged file
    partial = target.with_name(target.name + ".partial")
    torch.save(ckpt, partial)
    written = torch.load(partial, map_location="cpu", weights_only=True)
    original = torch.load(path, map_location="cpu", weights_only=True)
    same = all(torch.equal(written["state_dict"][k], original["state_dict"][k]) for k in original["state_dict"])
    if not same or written["state_dict"].keys() != original["state_dict"].keys() or written["config"] != original["config"]:
        partial.unlink()
        raise SystemExit(f"{path}: the rewritten file's weights differ; nothing changed")
    os.replace(partial, target)
    return f"{path}: recorded {', '.join(missing)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", default=str(REPO / "trajpipe" / "weights" / "forecaster.pt"))
    print(record(Path(parser.parse_args().checkpoint)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
