"""Language of the learner's notebook, and the messages the checks print in it.

Every message exists in both languages (a test enforces it). The language is taken from,
in order: the ``RESNET_COURSE_LANG`` environment variable, a ``course_lang`` file in the
working directory (written by the course build), or a ``ru``/``en`` folder in the path of
the working directory (the repository layout ``notebooks/<lang>/``); English otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

LANGUAGES = ("en", "ru")
LANG_ENV = "RESNET_COURSE_LANG"
LANG_FILE = "course_lang"

MESSAGES: dict[str, dict[str, str]] = {
    # --- calling the learner's code ---
    "not_callable": {
        "en": "`{name}` should be a function, but it is {found}.",
        "ru": "`{name}` должна быть функцией, а сейчас это {found}.",
    },
    "raised": {
        "en": "`{name}` raised {exc}: {msg}",
        "ru": "`{name}` завершилась с ошибкой {exc}: {msg}",
    },
    "at_line": {
        "en": "Line {line} of the function: `{code}`",
        "ru": "Строка {line} функции: `{code}`",
    },
    "stub_hint": {
        "en": "A `...` stub is still in place: replace every `...` with your code.",
        "ru": "В коде остались заглушки `...`: замените каждую из них своим кодом.",
    },
    "returned_none": {
        "en": "`{name}` returned None: did you forget `return X`?",
        "ru": "`{name}` вернула None: не забыли написать `return X`?",
    },
    "returned_ellipsis": {
        "en": "`{name}` returned `...`: the stub is not filled in yet.",
        "ru": "`{name}` вернула `...`: заглушка ещё не заполнена.",
    },
    # --- tensors ---
    "not_tensor": {
        "en": "Expected a TensorFlow tensor (EagerTensor), found {found}. Build the block from Keras layers only.",
        "ru": "Ожидался тензор TensorFlow (EagerTensor), получено {found}. Стройте блок только из слоёв Keras.",
    },
    "wrong_shape": {
        "en": "Output shape: expected {expected}, found {found}.",
        "ru": "Размерность выхода: ожидалась {expected}, получена {found}.",
    },
    "not_finite": {
        "en": "The output contains NaN or infinite values.",
        "ru": "На выходе есть NaN или бесконечные значения.",
    },
    "negative_after_relu": {
        "en": "The output has negative values (smallest {found:.4g}): "
        "the block must end with a ReLU after the addition.",
        "ru": "На выходе есть отрицательные значения (минимум {found:.4g}): "
        "блок должен заканчиваться ReLU после сложения.",
    },
    "values_off": {
        "en": "{what}: {count} of {total} values differ from the expected ones (largest difference {maxdiff:.4g}). "
        "First difference at {where}: expected {expected:.6g}, found {found:.6g}.",
        "ru": "{what}: {count} из {total} значений отличаются от ожидаемых (наибольшее расхождение {maxdiff:.4g}). "
        "Первое расхождение — {where}: ожидалось {expected:.6g}, получено {found:.6g}.",
    },
    "where_4d": {
        "en": "example {example}, row {row}, column {column}, channel {channel}",
        "ru": "пример {example}, строка {row}, столбец {column}, канал {channel}",
    },
    "where_nd": {
        "en": "index {index}",
        "ru": "индекс {index}",
    },
    "passed": {
        "en": "✔ {what}: all checks passed.",
        "ru": "✔ {what}: все проверки пройдены.",
    },
    # --- diagnosed mistakes (output matches a known wrong variant of the reference) ---
    "mistake_no_final_relu": {
        "en": "Your output equals the block without its final ReLU: apply `Activation('relu')` after `Add()`.",
        "ru": "Ваш выход совпадает с блоком без последней ReLU: примените `Activation('relu')` после `Add()`.",
    },
    "mistake_relu_before_add": {
        "en": "Your output equals the block with a ReLU right after the third BatchNormalization: "
        "the third component has no activation; the ReLU comes only after the addition.",
        "ru": "Ваш выход совпадает с блоком, где ReLU стоит сразу после третьей пакетной нормализации: "
        "в третьей части активации нет, ReLU применяется только после сложения.",
    },
    "mistake_no_shortcut": {
        "en": "Your output equals the main path alone: add the shortcut with `Add()([X, X_shortcut])`.",
        "ru": "Ваш выход совпадает с одним основным путём: "
        "прибавьте обходное соединение через `Add()([X, X_shortcut])`.",
    },
    "mistake_training_ignored": {
        "en": "Your output equals the block whose BatchNormalization layers ignore the `training` argument: "
        "call them as `BatchNormalization(axis=3)(X, training=training)`.",
        "ru": "Ваш выход совпадает с блоком, где пакетная нормализация не получает аргумент `training`: "
        "вызывайте её как `BatchNormalization(axis=3)(X, training=training)`.",
    },
    "mistake_shortcut_without_bn": {
        "en": "Your output equals the block without BatchNormalization on the shortcut: "
        "after the 1×1 shortcut convolution apply `BatchNormalization(axis=3)(X_shortcut, training=training)`.",
        "ru": "Ваш выход совпадает с блоком без пакетной нормализации в обходном соединении: "
        "после свёртки 1×1 примените `BatchNormalization(axis=3)(X_shortcut, training=training)`.",
    },
    "mistake_initializer_without_seed": {
        "en": "The values look like the right block with differently initialized weights: "
        "pass `kernel_initializer=initializer(seed=0)` to every Conv2D.",
        "ru": "Значения похожи на правильный блок с другими начальными весами: "
        "передайте `kernel_initializer=initializer(seed=0)` в каждый Conv2D.",
    },
    # --- models ---
    "not_model": {
        "en": "`{name}` should return a Keras Model, but it returned {found}.",
        "ru": "`{name}` должна возвращать модель Keras (Model), а вернула {found}.",
    },
    "layer_count": {
        "en": "The model has {found} layers, the reference has {expected}.",
        "ru": "В модели {found} слоёв, а в эталонной — {expected}.",
    },
    "layer_where": {
        "en": "Layer {index} of {total} ({stage})",
        "ru": "Слой {index} из {total} ({stage})",
    },
    "layer_class": {
        "en": "{where}: expected a {expected} layer, found {found}.",
        "ru": "{where}: ожидался слой {expected}, найден {found}.",
    },
    "layer_attr": {
        "en": "{where}, {expected_class}: expected {attr}={expected}, found {attr}={found}.",
        "ru": "{where}, {expected_class}: ожидалось {attr}={expected}, найдено {attr}={found}.",
    },
    "param_total": {
        "en": "Total number of parameters: expected {expected:,}, found {found:,}.",
        "ru": "Общее число параметров: ожидалось {expected:,}, найдено {found:,}.",
    },
    # --- data ---
    "not_four": {
        "en": "`{name}` should return four arrays (X_train, Y_train, X_test, Y_test), it returned {found}.",
        "ru": "`{name}` должна возвращать четыре массива (X_train, Y_train, X_test, Y_test), а вернула {found}.",
    },
    "array_shape": {
        "en": "{array}: expected shape {expected}, found {found}.",
        "ru": "{array}: ожидалась размерность {expected}, получена {found}.",
    },
    "labels_not_one_hot_shape": {
        "en": "{array} has shape {found}: labels must be one-hot encoded, one row of {classes} per image "
        "(for example `np.eye({classes})[Y_orig.reshape(-1)]`).",
        "ru": "{array} имеет размерность {found}: метки нужно закодировать в one-hot, по строке из {classes} "
        "чисел на изображение (например, `np.eye({classes})[Y_orig.reshape(-1)]`).",
    },
    "labels_not_one_hot": {
        "en": "{array}: every row must contain a single 1 and zeros elsewhere.",
        "ru": "{array}: в каждой строке должна быть одна единица, остальные нули.",
    },
    "labels_wrong": {
        "en": "{array}: {count} of {total} labels differ from the file (first at image {index}: "
        "expected class {expected}, found {found}). Keep the images and labels in the file's order.",
        "ru": "{array}: {count} из {total} меток не совпадают с файлом (первая — изображение {index}: "
        "ожидался класс {expected}, найден {found}). Сохраняйте порядок изображений и меток из файла.",
    },
    "images_not_scaled": {
        "en": "{array}: values range from {low:.4g} to {high:.4g}; divide the pixels by 255 to bring them into [0, 1].",
        "ru": "{array}: значения лежат от {low:.4g} до {high:.4g}; разделите пиксели на 255, "
        "чтобы получить диапазон [0, 1].",
    },
    "images_wrong": {
        "en": "{array}: the pixel values do not match the file divided by 255 (largest difference {maxdiff:.4g}).",
        "ru": "{array}: значения пикселей не совпадают с данными файла, делёнными на 255 "
        "(наибольшее расхождение {maxdiff:.4g}).",
    },
    "not_float": {
        "en": "{array} has dtype {found}: convert it to floating point (float32).",
        "ru": "{array} имеет тип {found}: приведите его к вещественному типу (float32).",
    },
    # --- fast grading mode ---
    "fast_mode_fit": {
        "en": "[fast grading mode] training is shortened to {steps} steps of 1 epoch while grading.",
        "ru": "[быстрый режим проверки] при проверке обучение сокращено до {steps} шагов одной эпохи.",
    },
}


def current_language(cwd: Path | None = None) -> str:
    """The learner's language: environment, course file, then the notebook's folder."""
    env = os.environ.get(LANG_ENV, "").strip().lower()
    if env in LANGUAGES:
        return env
    cwd = Path.cwd() if cwd is None else cwd
    marker = cwd / LANG_FILE
    if marker.is_file():
        text = marker.read_text(encoding="utf-8").strip().lower()
        if text in LANGUAGES:
            return text
    for part in reversed(cwd.parts):
        if part in LANGUAGES:
            return part
    return "en"


def message(key: str, lang: str | None = None, **fields: object) -> str:
    """The message ``key`` in ``lang`` (the current language by default), filled with ``fields``."""
    lang = lang or current_language()
    return MESSAGES[key][lang].format(**fields)
