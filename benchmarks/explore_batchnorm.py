"""Exploration behind the lesson's training section: where does the test accuracy go?

    python benchmarks/explore_batchnorm.py [--epochs 10] [--schedule cosine|constant] [--lr 1e-3]
                                           [--refresh-bn] [--out FILE]

Trains the reference ResNet-50 on the bundled data and records, after every epoch, seconds,
training accuracy (batch statistics) and test accuracy in inference mode (moving BatchNorm
statistics, what ``evaluate`` reports); with ``--refresh-bn`` also the test accuracy after the
notebook's own ``refresh_batchnorm_statistics`` (taken from the lesson, not copied here).
Note that refreshing after every epoch also resets the moving averages the next epochs start from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def notebook_function(name: str):
    """A helper function defined in the lesson notebook's code (run in a namespace with its imports)."""
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "en" / "residual_networks.ipynb", as_version=4)
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and (cell.source.startswith(("import", "from")) or f"def {name}(" in cell.source):
            code = "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "from autograder")))
            exec(code.split("\n\n\nrefresh_batchnorm_statistics(model")[0], namespace)  # noqa: S102
    return namespace[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--refresh-bn", action="store_true",
                        help="also report accuracy after recomputing BatchNorm statistics")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from autograder.learner.datasets import dataset_files
    from solutions.residual_networks import ResNet50, load_dataset

    keras.utils.set_random_seed(args.seed)
    X_train, Y_train, X_test, Y_test = load_dataset(*dataset_files())
    steps = args.epochs * int(np.ceil(len(X_train) / args.batch_size))
    rate = keras.optimizers.schedules.CosineDecay(args.lr, steps) if args.schedule == "cosine" else args.lr

    model = ResNet50(input_shape=(64, 64, 3), classes=6)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy", metrics=["accuracy"])

    history: list[dict[str, float]] = []

    refresh = notebook_function("refresh_batchnorm_statistics")

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.start
            loss, accuracy = model.evaluate(X_test, Y_test, verbose=0)
            extra = {}
            if args.refresh_bn:
                refresh(model, X_train)
                extra["refreshed_test_accuracy"] = round(model.evaluate(X_test, Y_test, verbose=0)[1], 4)
            row = extra | {"epoch": epoch + 1, "seconds": round(seconds, 1),
                           "train_accuracy": round(logs["accuracy"], 4), "test_accuracy": round(accuracy, 4),
                           "test_loss": round(loss, 4)}
            history.append(row)
            print(json.dumps(row), flush=True)

    model.fit(X_train, Y_train, epochs=args.epochs, batch_size=args.batch_size, callbacks=[Record()], verbose=0)
    result = {
        "command": "python benchmarks/explore_batchnorm.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": vars(args) | {"out": str(args.out) if args.out else None},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__},
        "train_images": len(X_train),
        "test_images": len(X_test),
        "epochs": history,
        "final_test_accuracy": history[-1]["test_accuracy"],
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"final_test_accuracy": result["final_test_accuracy"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
