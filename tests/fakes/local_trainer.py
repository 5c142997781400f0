"""A stand-in for `python -m agent.training.local_lora --job-dir DIR`, keeping its contract: reads
DIR/train.jsonl and DIR/params.json, appends DIR/progress.jsonl, resumes from DIR/checkpoint/, writes
DIR/result.json and exits 0; on failure one line on stderr and a non-zero exit.

The test steers it with files in DIR: `fail` (fail at once), `pause-at` (a step number: wait there
until `go` appears, so the test can kill it mid-run)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

STEPS = 4


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-dir", type=Path, required=True)
    folder = parser.parse_args().job_dir
    params = json.loads((folder / "params.json").read_text())
    examples = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines() if line.strip()]
    if (folder / "fail").exists() or not examples:
        print(f"cannot train {params['base']}: the stand-in was told to fail", file=sys.stderr)
        return 3
    checkpoint = folder / "checkpoint"
    start = int((checkpoint / "step").read_text()) if checkpoint.is_dir() else 0
    pause_at = int((folder / "pause-at").read_text()) if (folder / "pause-at").exists() else None
    for step in range(start + 1, STEPS + 1):
        if step == pause_at:
            while not (folder / "go").exists():
                time.sleep(0.02)
        line = {"step": step, "steps": STEPS, "epoch": step / STEPS * params["epochs"], "loss": 1.0 / step}
        with (folder / "progress.jsonl").open("a") as out:
            out.write(json.dumps(line) + "\n")
        checkpoint.mkdir(exist_ok=True)
        (checkpoint / "step").write_text(str(step))
    (folder / "adapter.gguf").write_bytes(b"GGUF")
    (folder / "result.json").write_text(json.dumps({"adapter": "adapter.gguf", "cpu_seconds": 12.5}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
