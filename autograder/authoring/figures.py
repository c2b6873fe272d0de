"""Draw the course's figures in English and Russian with matplotlib.

Writes ``<out>/en/<name>`` and ``<out>/ru/<name>`` for every name in ``FIGURES`` and keeps the
vanishing-gradient measurement in ``<out>/vanishing_gradients.json`` so that a rebuild needs no
TensorFlow::

    python -m autograder.authoring.figures [--out DIR] [--remeasure] [--check]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from autograder import paths
from autograder.learner.i18n import LANGUAGES

IMAGES = paths.IMAGES
JSON_NAME = "vanishing_gradients.json"
GENERATED_BY = "python -m autograder.authoring.figures --remeasure"
FIGURES = (
    "vanishing_gradients.png",
    "skip_connection.png",
    "identity_block.png",
    "convolutional_block.png",
    "resnet50_stages.png",
    "plain_vs_residual_unit.png",
    "resnet34.png",
)
DPI = 120
PNG_TOL = 2.0  # RMS over 0..255 pixel values, for matplotlib.testing.compare.compare_images
NUM_RTOL = 1e-3

# Measurement set-up: deep enough that a sigmoid net loses many orders of magnitude of gradient.
DEPTH, WIDTH, BATCH, CLASSES, SEED = 30, 64, 64, 10, 0

# Defaults first, so that a user's matplotlibrc cannot change the pixels; bundled DejaVu Sans has Cyrillic.
STYLE = {
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "axes.formatter.use_locale": False,
    "savefig.dpi": DPI,
}

INK, RED, BLUE = "#333333", "#c0392b", "#1f77b4"
PLUS_R = 0.12  # radius of the ⊕ node, inches
COLORS = {  # layer kinds, and (fill, edge) of the two block kinds, shared by all diagrams
    "conv": "#c6dbef",
    "bn": "#fdd9b5",
    "relu": "#f6cbc6",
    "other": "#e4e4e4",
    "id": ("#d3ecd3", "#2e7d32"),
    "cb": ("#e3daf2", "#5e35b1"),
}

LABELS = {
    "en": {
        "vg_title": "Gradient norm per layer at initialization",
        "vg_sub": "{depth} dense layers of width {width}, sigmoid, one fixed random batch",
        "vg_x": "layer (1 = closest to the input)",
        "vg_y": "gradient norm ‖∂L/∂W‖",
        "vg_plain": "plain network",
        "vg_res": "residual network",
        "vg_vanish": "vanishing gradients:\nabout {ratio} times smaller\nat layer 1 than at layer {last}",
        "plain_path": "Plain path",
        "skip_path": "With a skip connection",
        "linear": "Linear",
        "relu": "ReLU",
        "skip": "skip connection",
        "id_title": "Identity block",
        "cb_title": "Convolutional block",
        "conv1": "CONV2D\n1×1",
        "conv1_s": "CONV2D\n1×1, stride s",
        "convf": "CONV2D\nf×f, same",
        "bn": "BatchNorm",
        "shortcut": "shortcut",
        "shortcut_id": "shortcut (no layers): $X$",
        "r50_title": "ResNet-50 for 64×64×3 images",
        "zeropad": "ZeroPad 3×3",
        "stage": "Stage {n}",
        "conv7": "CONV 7×7, /2",
        "maxpool": "MaxPool 3×3, /2",
        "conv_block": "CONV BLOCK",
        "id_block": "ID BLOCK ×{n}",
        "avgpool": "AvgPool 2×2",
        "flatten": "Flatten",
        "dense6": "Dense, softmax (6)",
        "input": "input",
        "unit_plain": "Plain: two 3×3 conv layers",
        "unit_res": "Residual unit",
        "conv3": "Conv 3×3",
        "learns_plain": "learns $H(x)$ directly",
        "learns_res": "learns the residual $F(x) = H(x) - x$",
        "r34_title": "ResNet-34: 3 + 4 + 6 + 3 residual units of two 3×3 convolutions",
        "r34_conv7": "7×7 conv, 64, /2",
        "r34_pool": "MaxPool 3×3, /2",
        "r34_unit": "residual unit: two 3×3 convolutions with the given number of filters; /2: stride 2",
        "r34_gap": "global\naverage pool",
        "r34_dense": "Dense,\nsoftmax",
        "r34_id": "identity shortcut",
        "r34_proj": "projection shortcut: 1×1 conv, stride 2 (filters double)",
    },
    "ru": {
        "vg_title": "Норма градиента по слоям при инициализации",
        "vg_sub": "{depth} полносвязных слоёв шириной {width}, сигмоида, фиксированный случайный мини-батч",
        "vg_x": "слой (1\u00a0— ближайший ко входу)",
        "vg_y": "норма градиента ‖∂L/∂W‖",
        "vg_plain": "обычная сеть",
        "vg_res": "остаточная сеть",
        "vg_vanish": "исчезающие градиенты:\nв слое 1 примерно в {ratio} раз\nменьше, чем в слое {last}",
        "plain_path": "Обычный путь",
        "skip_path": "С обходным (skip-) соединением",
        "linear": "Линейный слой",
        "relu": "ReLU",
        "skip": "skip-соединение",
        "id_title": "Тождественный блок",
        "cb_title": "Свёрточный блок",
        "conv1": "Свёртка\n1×1",
        "conv1_s": "Свёртка\n1×1, шаг s",
        "convf": "Свёртка\nf×f, same",
        "bn": "Пакетная\nнормализация",
        "shortcut": "обходное соединение",
        "shortcut_id": "обходное соединение (без слоёв): $X$",
        "r50_title": "ResNet-50 для изображений 64×64×3",
        "zeropad": "ZeroPad 3×3",
        "stage": "Стадия {n}",
        "conv7": "Свёртка 7×7, /2",
        "maxpool": "MaxPool 3×3, /2",
        "conv_block": "Свёрточный\nблок",
        "id_block": "Тождественный\nблок ×{n}",
        "avgpool": "AvgPool 2×2",
        "flatten": "Flatten",
        "dense6": "Dense, softmax (6)",
        "input": "вход",
        "unit_plain": "Обычные слои: две свёртки 3×3",
        "unit_res": "Остаточный блок",
        "conv3": "Свёртка 3×3",
        "learns_plain": "выучивают $H(x)$ напрямую",
        "learns_res": "выучивает остаток $F(x) = H(x) - x$",
        "r34_title": "ResNet-34: 3 + 4 + 6 + 3 остаточных блока из двух свёрток 3×3",
        "r34_conv7": "свёртка 7×7, 64, /2",
        "r34_pool": "MaxPool 3×3, /2",
        "r34_unit": "остаточный блок: две свёртки 3×3 с указанным числом фильтров; /2: шаг 2",
        "r34_gap": "глобальный\nусредняющий\nпулинг",
        "r34_dense": "Dense,\nsoftmax",
        "r34_id": "тождественное обходное соединение",
        "r34_proj": "обходное соединение с проекцией: свёртка 1×1, шаг 2 (число фильтров удваивается)",
    },
}


# ---------------------------------------------------------------- measurement


def measure_gradients() -> dict:
    """‖∂loss/∂kernel‖ of every hidden layer, at initialization, for a plain and a residual net."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # lazy: redrawing from the json must not need TensorFlow

    def norms(residual: bool) -> dict[str, float]:
        tf.keras.utils.set_random_seed(SEED)  # same weights and batch for both nets
        x = tf.random.normal((BATCH, WIDTH), dtype=tf.float64)
        y = tf.random.uniform((BATCH,), 0, CLASSES, dtype=tf.int32)
        # float64: in float32 the plain net's first-layer gradient underflows to exactly 0.
        layers = [tf.keras.layers.Dense(WIDTH, dtype="float64") for _ in range(DEPTH)]
        head = tf.keras.layers.Dense(CLASSES, dtype="float64")
        with tf.GradientTape() as tape:
            h = x
            for layer in layers:
                # Activation before the Dense keeps the branch output zero-mean, so the residual
                # stream does not drift (the "pre-activation" ordering of He et al., 2016).
                branch = layer(tf.sigmoid(h))
                h = h + branch if residual else branch
            logits = head(h)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        grads = tape.gradient(loss, [layer.kernel for layer in layers])
        return {str(i): float(tf.norm(g)) for i, g in enumerate(grads, start=1)}

    return {
        "_generated_by": GENERATED_BY,
        "_setup": {
            "depth": DEPTH,
            "width": WIDTH,
            "batch": BATCH,
            "classes": CLASSES,
            "seed": SEED,
            "dtype": "float64",
            "init": "Keras Dense defaults (glorot_uniform kernel, zero bias)",
            "plain": "h = Dense(sigmoid(h))",
            "residual": "h = h + Dense(sigmoid(h))",
            "value": "Frobenius norm of d(cross-entropy)/d(kernel) per layer",
        },
        "plain": norms(residual=False),
        "residual": norms(residual=True),
    }


# ---------------------------------------------------------------- drawing helpers


def _canvas(w: float, h: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)  # Agg without touching pyplot's global backend
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, w), ylim=(0, h))  # one data unit is one inch, so box sizes and font sizes are comparable
    ax.set_axis_off()
    return fig, ax


def _text(ax: Axes, x: float, y: float, s: str, size: float = 9, **kw) -> None:
    ax.text(x, y, s, **{"ha": "center", "va": "center", "fontsize": size, "linespacing": 1.15, **kw})


def _box(ax: Axes, x, y, w, h, text, fill, *, edge=INK, size=9, rotate=False, z=2) -> None:
    """Rounded box centred at (x, y) with centred (optionally vertical) text."""
    style = {"boxstyle": "round,pad=0,rounding_size=0.06", "fc": fill, "ec": edge, "lw": 1.0, "zorder": z}
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, **style))
    if text:
        _text(ax, x, y, text, size, rotation=90 if rotate else 0, rotation_mode="anchor", zorder=z + 1)


def _arrow(ax: Axes, *points, color=INK, ls="-", lw=1.2) -> None:
    """Polyline through `points` with an arrow head at the last one (right-angle routing for shortcuts)."""
    if len(points) > 2:
        xs, ys = zip(*points[:-1], strict=True)
        ax.plot(xs, ys, color=color, ls=ls, lw=lw, solid_capstyle="butt", zorder=1)
    style = {"arrowstyle": "-|>", "mutation_scale": 11, "color": color, "ls": ls, "lw": lw, "shrinkA": 0, "shrinkB": 0}
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], zorder=1, **style))


def _plus(ax: Axes, x: float, y: float, r: float = PLUS_R) -> None:
    """The ⊕ node, drawn rather than typeset so it looks the same at every size."""
    ax.add_patch(Circle((x, y), r, fc="white", ec=INK, lw=1.2, zorder=3))
    ax.plot([x - 0.6 * r, x + 0.6 * r, None, x, x], [y, y, None, y - 0.6 * r, y + 0.6 * r], color=INK, lw=1.2, zorder=4)


def _layers(t: dict, *keys: str, oneline: bool = False) -> list:
    """``(text, fill)`` boxes for label keys (``"+"`` gives a ⊕); the fill follows the layer kind."""

    def kind(key: str) -> str:
        return "conv" if key.startswith(("conv", "linear")) else key if key in ("bn", "relu") else "other"

    return [None if k == "+" else (t[k].replace("\n", " ") if oneline else t[k], COLORS[kind(k)]) for k in keys]


def _chain(ax: Axes, x: float, y: float, items: list, *, w: float, h: float, gap: float, **box_kw) -> list[float]:
    """Boxes ``(text, fill)`` and ⊕ nodes (``None``) left to right from `x`, joined by arrows; returns centres."""
    centres = []
    for item in items:
        half = PLUS_R if item is None else w / 2
        if centres:
            _arrow(ax, (x - gap, y), (x, y))
        _plus(ax, x + half, y) if item is None else _box(ax, x + half, y, w, h, *item, **box_kw)
        centres.append(x + half)
        x += 2 * half + gap
    return centres


def _column(ax: Axes, x: float, ys: list[float], items: list, *, bw: float, bh: float, skip: str | None) -> None:
    """Top-to-bottom path: boxes ``(text, fill)``, math labels (str) and ⊕ (``None``, only drawn with a `skip`).

    With `skip`, a shortcut labelled `skip` leaves the path below the first item and enters the ⊕ from the right.
    """
    prev = None
    for yi, item in zip(ys, items, strict=True):
        if item is None and skip is None:
            continue  # keep the residual version's positions, so that side-by-side columns line up
        half = PLUS_R if item is None else 0.14 if isinstance(item, str) else bh / 2
        if prev is not None:
            _arrow(ax, (x, prev), (x, yi + half))
        if item is None:
            _plus(ax, x, yi)
        elif isinstance(item, str):
            _text(ax, x, yi, item, 12)
        else:
            _box(ax, x, yi, bw, bh, *item, size=10)
        prev = yi - half
    if skip is not None:
        y0, y1, side, green = ys[0] - 0.22, ys[items.index(None)], x + bw / 2 + 0.4, COLORS["id"][1]
        ax.plot([x], [y0], "o", ms=4, color=INK)
        _arrow(ax, (x, y0), (side, y0), (side, y1), (x + PLUS_R, y1), color=green)
        math = "$" in skip
        _text(
            ax, side + 0.1, (y0 + y1) / 2, skip, 12 if math else 10, ha="left", color=green, rotation=0 if math else 90
        )


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})  # no version/timestamp: stable bytes
    return path


# ---------------------------------------------------------------- figures


def _vanishing_gradients(t: dict, m: dict) -> Figure:
    fig = Figure(figsize=(7.5, 4.3), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    plain, res = ({int(k): v for k, v in m[key].items()} for key in ("plain", "residual"))
    layers = sorted(plain)
    ax.semilogy(layers, [plain[i] for i in layers], "o-", ms=4, color=RED, label=t["vg_plain"])
    ax.semilogy(layers, [res[i] for i in layers], "s-", ms=4, color=BLUE, label=t["vg_res"])
    ratio = f"$10^{{{round(math.log10(plain[layers[-1]] / plain[layers[0]]))}}}$"
    # Text in the empty triangle between the two curves, arrow to the plain net's first layer.
    first = (layers[0], plain[layers[0]])
    ax.annotate(t["vg_vanish"].format(ratio=ratio, last=layers[-1]), xy=first, xytext=(2, math.sqrt(first[1])),
                fontsize=9, va="center", color=RED, arrowprops={"arrowstyle": "->", "color": RED})  # fmt: skip
    setup = m.get("_setup", {})
    sub = t["vg_sub"].format(depth=setup.get("depth", len(layers)), width=setup.get("width", WIDTH))
    ax.set_title(f"{t['vg_title']}\n{sub}", fontsize=10)
    ax.set(xlabel=t["vg_x"], ylabel=t["vg_y"], xlim=(0, layers[-1] + 1), xticks=[1, *range(5, layers[-1] + 1, 5)])
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    return fig


def _skip_connection(t: dict) -> Figure:
    fig, ax = _canvas(7.2, 5.3)
    a = ["$a^{[l]}$", *_layers(t, "linear", "relu"), "$a^{[l+1]}$", *_layers(t, "linear", "+", "relu"), "$a^{[l+2]}$"]
    ys = [4.55 - 0.53 * i for i in range(len(a))]
    for x, title, skip, extra in ((1.8, t["plain_path"], None, ""), (5.0, t["skip_path"], t["skip"], " + a^{[l]}")):
        _text(ax, x, 5.0, title, 11, weight="bold", va="baseline")
        _column(ax, x, ys, a, bw=1.7, bh=0.36, skip=skip)
        _text(ax, x, 0.28, f"$a^{{[l+2]}} = g(z^{{[l+2]}}{extra})$", 12)
    return fig


def _block(t: dict, conv: bool) -> Figure:
    """Identity block or (`conv`) convolutional block: main path left to right, shortcut above it."""
    fill, edge = COLORS["cb" if conv else "id"]
    y, top = 1.05, (2.45 if conv else 2.25)
    fig, ax = _canvas(8.0, top + 0.9)
    frame = {"boxstyle": "round,pad=0,rounding_size=0.12", "fc": fill, "ec": edge, "lw": 1.5, "alpha": 0.55}
    ax.add_patch(FancyBboxPatch((0.45, 0.12), 7.05, top + 0.18, zorder=0, **frame))
    _text(ax, 4.0, top + 0.62, t["cb_title" if conv else "id_title"], 12, weight="bold", color=edge)
    keys = ("conv1_s" if conv else "conv1", "bn", "relu", "convf", "bn", "relu", "conv1", "bn", "+", "relu")
    centres = _chain(ax, 0.85, y, _layers(t, *keys), w=0.5, h=1.55, gap=0.17, rotate=True)
    _text(ax, 0.2, y, "$X$", 12)
    _arrow(ax, (0.32, y), (0.85, y))
    _arrow(ax, (centres[-1] + 0.25, y), (7.75, y))
    split, plus_x = 0.6, centres[-2]
    ax.plot([split], [y], "o", ms=4, color=INK)
    if conv:  # CONV2D + BatchNorm on the shortcut, centred between the split and the ⊕
        mid, sw = (split + plus_x) / 2, 2.2
        sc = _chain(ax, mid - sw - 0.3, top, _layers(t, "conv1_s", "bn", oneline=True), w=sw, h=0.36, gap=0.6)
        _arrow(ax, (split, y), (split, top), (sc[0] - sw / 2, top))
        _arrow(ax, (sc[1] + sw / 2, top), (plus_x, top), (plus_x, y + PLUS_R))
        _text(ax, mid, top - 0.32, t["shortcut"], color=edge)
    else:
        _arrow(ax, (split, y), (split, top), (plus_x, top), (plus_x, y + PLUS_R))
        _text(ax, (split + plus_x) / 2, top + 0.12, t["shortcut_id"], va="bottom", color=edge)
    return fig


def _resnet50(t: dict) -> Figure:
    """Left-to-right chain wrapped onto two rows, so that stage boxes stay wide enough for their labels."""
    fig, ax = _canvas(8.0, 5.9)
    sh, narrow, wide, gap, x0, rows_y = 2.05, 0.45, 1.55, 0.45, 0.75, (4.15, 1.45)
    _text(ax, 4.0, 5.62, t["r50_title"], 12, weight="bold")
    _text(ax, 0.4, rows_y[0] + 0.08, t["input"] + "\n64×64×3", 8.5, va="bottom")

    def narrow_box(key: str):
        return lambda cx, y: _box(ax, cx, y, narrow, sh, t[key], COLORS["other"], rotate=True)

    def stage(n: int, inner: list):  # inner: (text, fill, edge, height, font size) boxes, top to bottom
        def draw(cx: float, y: float) -> None:
            _box(ax, cx, y, wide, sh, "", "white", edge="#999999")
            _text(ax, cx, y + sh / 2 - 0.18, t["stage"].format(n=n), weight="bold")
            top = y + sh / 2 - 0.38
            for text, fill, edge, h, size in inner:
                _box(ax, cx, top - h / 2, wide - 0.14, h, text, fill, edge=edge, size=size)
                top -= h + 0.07

        return draw

    stem = [(text, fill, INK, 0.42 if "\n" in text else 0.3, 8) for text, fill in _layers(t, "conv7", "bn", "relu")]
    stem.append((t["maxpool"], COLORS["other"], INK, 0.3, 8))
    columns = [(narrow, None, narrow_box("zeropad"), 0), (wide, "15×15×64", stage(1, stem), 0)]  # (w, shape, draw, row)
    stages = [("64, 64, 256", 1, 2, "15×15×256"), ("128, 128, 512", 2, 3, "8×8×512"),
              ("256, 256, 1024", 2, 5, "4×4×1024"), ("512, 512, 2048", 2, 2, "2×2×2048")]  # fmt: skip
    for n, (filters, s, ids, shape) in enumerate(stages, start=2):
        inner = [(t["conv_block"], *COLORS["cb"], 0.5, 8.5), (t["id_block"].format(n=ids), *COLORS["id"], 0.5, 8.5),
                 (f"[{filters}]\ns = {s}", "white", "white", 0.42, 8.5)]  # fmt: skip
        columns.append((wide, shape, stage(n, inner), 0 if n <= 3 else 1))
    for key, shape in (("avgpool", "1×1×2048"), ("flatten", "2048"), ("dense6", "6")):
        columns.append((narrow, shape, narrow_box(key), 1))
    x, row, prev = x0, 0, (0.1, rows_y[0])
    for width, shape, draw, r in columns:
        y = rows_y[r]
        if r != row:  # wrap: right of the last box, down between the rows, back to the left margin
            mid, x, row = sum(rows_y) / 2 - 0.02, x0, r
            _arrow(ax, prev, (prev[0] + 0.2, prev[1]), (prev[0] + 0.2, mid), (0.35, mid), (0.35, y), (x, y))
        else:
            _arrow(ax, prev, (x, y))
        draw(x + width / 2, y)
        if shape:
            _text(ax, x + width / 2, y - sh / 2 - 0.2, shape, weight="bold")
        prev, x = (x + width, y), x + width + gap
    _arrow(ax, prev, (prev[0] + 0.3, prev[1]))
    return fig


def _plain_vs_residual(t: dict) -> Figure:
    fig, ax = _canvas(7.6, 5.6)
    items = ["$x$", *_layers(t, "conv3", "bn", "relu", "conv3", "bn", "+", "relu", oneline=True)]
    ys = [4.95 - 0.5 * i - (0.05 if i else 0) for i in range(len(items))] + [0.7]
    for x, title, skip, formula, learns in ((1.9, t["unit_plain"], None, "$y = H(x)$", t["learns_plain"]),
                                            (5.4, t["unit_res"], "$x$", r"$y = \mathrm{ReLU}(F(x) + x)$",
                                             t["learns_res"])):  # fmt: skip
        _text(ax, x, 5.3, title, 11, weight="bold", va="baseline")
        _column(ax, x, ys, [*items, formula], bw=2.3, bh=0.36, skip=skip)
        _text(ax, x, 0.3, learns, 10)
    return fig


def _resnet34(t: dict) -> Figure:
    """One row per stage (stem on the first, head on the last); every unit ends in its own ⊕."""
    fig, ax = _canvas(8.0, 5.5)
    uw, uh, sw, pr, x0 = 0.84, 0.56, 1.25, 0.07, 0.45
    _text(ax, 4.0, 5.27, t["r34_title"], 10.5, weight="bold")
    rows = [  # (stem, filters, units, head)
        ([(t["r34_conv7"], COLORS["conv"]), (t["r34_pool"], COLORS["other"])], 64, 3, []),
        ([], 128, 4, []),
        ([], 256, 6, []),
        ([], 512, 3, [(t["r34_gap"], COLORS["other"]), (t["r34_dense"], COLORS["other"])]),
    ]
    prev = None
    for r, (stem, f, n, head) in enumerate(rows):
        y, x = 4.55 - r * 1.08, x0
        if prev is None:
            _text(ax, 0.15, y, "$x$", 12)
            _arrow(ax, (0.27, y), (x, y))
        else:  # wrap like text: from the previous row's end down between the rows and back to the left
            mid, grey = y + uh / 2 + 0.33, {"color": "#888888", "lw": 1.0}
            _arrow(ax, prev, (prev[0] + 0.1, prev[1]), (prev[0] + 0.1, mid), (0.15, mid), (0.15, y), (x, y), **grey)
        x = _chain(ax, x, y, stem, w=sw, h=uh, gap=0.25, size=8)[-1] + sw / 2 + 0.25 if stem else x
        if stem:
            _arrow(ax, (x - 0.25, y), (x, y))
        for u in range(n):
            proj = u == 0 and r > 0  # the filter count doubles: the shortcut needs a 1×1 conv with stride 2
            _box(ax, x + uw / 2, y, uw, uh, f"3×3, {f}{', /2' if proj else ''}\n3×3, {f}", COLORS["conv"], size=7.5)
            plus_x = x + uw + 0.07 + pr
            ax.plot([x + uw, plus_x - pr], [y, y], color=INK, lw=1.2)
            _plus(ax, plus_x, y, pr)
            kind, top = COLORS["cb" if proj else "id"][1], y + uh / 2 + 0.13
            _arrow(ax, (x - 0.1, y), (x - 0.1, top), (plus_x, top), (plus_x, y + pr), color=kind,
                   ls="--" if proj else "-", lw=1.1)  # fmt: skip
            x = plus_x + pr
            if u < n - 1 or head:
                _arrow(ax, (x, y), (x + 0.17, y))
                x += 0.17
        if head:
            x = _chain(ax, x, y, head, w=sw, h=uh, gap=0.25, size=8)[-1] + sw / 2
            _arrow(ax, (x, y), (x + 0.25, y))
        prev = (x, y)
    legend = [("-", COLORS["id"][1], "r34_id"), ("--", COLORS["cb"][1], "r34_proj"), (None, None, "r34_unit")]
    for i, (ls, color, key) in enumerate(legend):
        ly = 0.66 - 0.24 * i
        if ls:
            ax.plot([0.45, 0.85], [ly, ly], ls=ls, color=color, lw=1.3)
        else:
            _box(ax, 0.65, ly, 0.4, 0.18, "", COLORS["conv"])
        _text(ax, 0.95, ly, t[key], 8.5, ha="left")
    return fig


def build_figures(out_root: Path, langs: Sequence[str] = LANGUAGES, measurement: dict | None = None) -> list[Path]:
    """Draw every figure for every language under `out_root`; measure with TensorFlow if no `measurement`."""
    out_root = Path(out_root)
    written = []
    if measurement is None:
        measurement = measure_gradients()
        json_path = out_root / JSON_NAME
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(measurement, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(json_path)
    drawers = {
        "vanishing_gradients.png": lambda t: _vanishing_gradients(t, measurement),
        "skip_connection.png": _skip_connection,
        "identity_block.png": lambda t: _block(t, conv=False),
        "convolutional_block.png": lambda t: _block(t, conv=True),
        "resnet50_stages.png": _resnet50,
        "plain_vs_residual_unit.png": _plain_vs_residual,
        "resnet34.png": _resnet34,
    }
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        for lang in langs:
            for name in FIGURES:
                written.append(_save(drawers[name](LABELS[lang]), out_root / lang / name))
    return written


# ---------------------------------------------------------------- command line


def _check(out_root: Path) -> list[str]:
    """Mismatches between the committed files under `out_root` and a fresh build."""
    from matplotlib.testing.compare import compare_images

    problems = []
    json_path = out_root / JSON_NAME
    if not json_path.exists():
        return [f"{json_path}: missing (run with --remeasure)"]
    committed = json.loads(json_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        for actual in build_figures(Path(tmp), measurement=committed):
            expected = out_root / actual.relative_to(tmp)
            if not expected.exists():
                problems.append(f"{expected}: missing")
                continue
            try:
                diff = compare_images(str(expected), str(actual), tol=PNG_TOL)
            except Exception as exc:  # e.g. a different image size
                diff = str(exc)
            if diff:
                problems.append(f"{expected}: differs from a fresh drawing ({diff.splitlines()[0]})")
    fresh = measure_gradients()
    for net in ("plain", "residual"):
        old, new = committed.get(net, {}), fresh[net]
        if old.keys() != new.keys():
            problems.append(f"{json_path}: {net} has layers {sorted(old, key=int)}, measured {sorted(new, key=int)}")
            continue
        for k, v in new.items():
            if abs(v - old[k]) > NUM_RTOL * abs(old[k]):
                problems.append(f"{json_path}: {net} layer {k}: committed {old[k]:.6g}, measured {v:.6g}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.authoring.figures", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="output folder (default: %(default)s)")
    parser.add_argument("--remeasure", action="store_true", help="measure the gradients again and rewrite the json")
    parser.add_argument("--check", action="store_true", help="fail if the committed figures or numbers are stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = _check(args.out)
        for line in problems:
            print(line)
        return 1 if problems else 0
    json_path = args.out / JSON_NAME
    measurement = None
    if json_path.exists() and not args.remeasure:
        measurement = json.loads(json_path.read_text(encoding="utf-8"))
    for path in build_figures(args.out, measurement=measurement):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
