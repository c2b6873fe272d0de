"""Benchmark: run the solved Residual Networks notebook as a learner would (full training, no grading mode).

    python benchmarks/train_resnet50.py [--lang en] [--out benchmarks/results/training_residual_networks.json]

Solves the student notebook with the reference answers, executes it top to bottom in a fresh
kernel, and reads from its outputs: seconds per epoch (Keras' progress lines), the training
accuracy of each epoch, and the test accuracy before and after the notebook recomputes the
BatchNorm statistics (section 6.1). Takes several minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def stream_text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def epochs_from(fit_output: str) -> list[dict[str, float]]:
    fit_output = re.sub(r"\x1b\[[0-9;]*m", "", fit_output)  # Keras colours its progress bar
    rows = []
    for chunk in re.split(r"Epoch \d+/\d+", fit_output)[1:]:
        last = chunk.replace("\r", "\n").strip().splitlines()[-1]
        seconds = re.search(r" (\d+(?:\.\d+)?)(m?s) ", last)
        accuracy = re.search(r"accuracy: ([\d.]+)", last)
        value = float(seconds.group(1)) / (1000 if seconds.group(2) == "ms" else 1) if seconds else float("nan")
        rows.append({"seconds": value, "train_accuracy": float(accuracy.group(1)) if accuracy else float("nan")})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", default="en", choices=("en", "ru"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "training_residual_networks.json")
    args = parser.parse_args(argv)

    import nbformat
    import tensorflow as tf

    from autograder.authoring.execute import execute
    from autograder.authoring.solve import solve

    path = ROOT / "notebooks" / args.lang / "residual_networks.ipynb"
    notebook = solve(nbformat.read(path, as_version=4), "residual_networks")
    start = time.perf_counter()
    execute(notebook, path.parent, timeout=3600, grading=False)
    total = time.perf_counter() - start

    fit = next(c for c in notebook.cells if c.cell_type == "code" and "model.fit(" in c.source)
    # check.say("evaluation", ...): "Test Accuracy = 0.9167" in English, "…: 0,9167" in Russian
    accuracies = [float(m.replace(",", ".")) for c in notebook.cells if c.cell_type == "code"
                  for m in re.findall(r"(?:Test Accuracy = |Точность на тестовой выборке: )([\d.,]+)", stream_text(c))]
    errors = [o["ename"] for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    epochs = epochs_from(stream_text(fit))
    seconds = sorted(row["seconds"] for row in epochs)
    result = {
        "command": "python benchmarks/train_resnet50.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__},
        "notebook": str(path.relative_to(ROOT)),
        "total_seconds": round(total, 1),
        "epochs": epochs,
        "median_epoch_seconds": seconds[len(seconds) // 2] if seconds else None,
        "test_accuracy_before_refresh": accuracies[0] if accuracies else None,
        "test_accuracy_after_refresh": accuracies[-1] if len(accuracies) > 1 else None,
        "errors": errors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("total_seconds", "median_epoch_seconds", "test_accuracy_before_refresh",
                                                "test_accuracy_after_refresh", "errors")}))
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
