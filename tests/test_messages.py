"""Every message of the checks reads right in both languages, whatever number is filled in.

The plural forms and the digit grouping come from Babel (CLDR); here they are checked against
the Russian and English forms written out by hand, for the counts where Russian changes form.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

import pytest

from autograder.learner.i18n import LANGUAGES, MESSAGES, message, plural_categories

COUNTS = (0, 1, 2, 5, 11, 21, 22, 25, 101, 172)
# Russian grammar, written out: the form a noun takes after each count (one: 1, 21, 101; few: 2–4, 22, 172).
RU_CATEGORY = {0: "many", 1: "one", 2: "few", 5: "many", 11: "many", 21: "one", 22: "few", 25: "many", 101: "one",
               172: "few"}
NO_BREAK_SPACES = "\u00a0\u202f"  # CLDR's Russian group separator: a no-break space (narrow in some versions)


def fields(template: str) -> list[tuple[str, str]]:
    """The fields of a message template with their format specs, nested fields included, in order."""
    found: list[tuple[str, str]] = []
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None:
            found.append((name, spec or ""))
            found.extend(fields(spec or ""))
    return found


def numeric_fields(key: str) -> set[str]:
    return {name for lang in LANGUAGES for name, spec in fields(MESSAGES[key][lang])
            if spec == "n" or spec.startswith("plural:")}


def float_fields(key: str) -> set[str]:
    return {name for lang in LANGUAGES for name, spec in fields(MESSAGES[key][lang]) if spec[-1:] in tuple("eEfFgG%")}


def sample(key: str, count: int) -> dict[str, object]:
    """Values for every field of ``key``: ``count`` for the numbers, 0.25 for the floats, words for the rest."""
    names = {name for lang in LANGUAGES for name, _ in fields(MESSAGES[key][lang])}
    numbers, floats = numeric_fields(key), float_fields(key)
    return {name: count if name in numbers else 0.25 if name in floats else f"<{name}>" for name in names}


def ru(one: str, few: str, many: str) -> Callable[[int], str]:
    """The Russian form for a count, from the table above (not from Babel)."""
    return lambda n: {"one": one, "few": few, "many": many}[RU_CATEGORY[n]]


def en(one: str, other: str) -> Callable[[int], str]:
    return lambda n: one if n == 1 else other


# For each message with a number: the text it must contain for count n, in each language. Every number
# field of the message is filled with the same n (so "n of n values").
EXPECTED: dict[str, dict[str, Callable[[int], str]]] = {
    "at_line": {"en": lambda n: f"Line {n} of the function", "ru": lambda n: f"Строка {n} функции"},
    "at_line_method": {"en": lambda n: f"Line {n} of `<method>`", "ru": lambda n: f"Строка {n} метода `<method>`"},
    "values_off": {
        "en": lambda n: f"{n} of {n} {en('value', 'values')(n)} {en('differs', 'differ')(n)} from the expected",
        "ru": lambda n: f"{n} из {n}\u00a0{ru('значения', 'значений', 'значений')(n)} "
                        f"{ru('отличается', 'отличаются', 'отличаются')(n)} от ожидаемых",
    },
    "layer_count": {
        "en": lambda n: f"The model has {n} {en('layer', 'layers')(n)}, the reference has {n}.",
        "ru": lambda n: f"В модели {n}\u00a0{ru('слой', 'слоя', 'слоёв')(n)}, а в эталонной\u00a0— {n}.",
    },
    "layer_where": {"en": lambda n: f"Layer {n} of {n} (<stage>)", "ru": lambda n: f"Слой {n} из {n} (<stage>)"},
    "param_total": {"en": lambda n: f"expected {n}, found {n}.", "ru": lambda n: f"ожидалось {n}, найдено {n}."},
    "labels_not_one_hot_shape": {
        "en": lambda n: f"one row of {n} {en('number', 'numbers')(n)} per image",
        "ru": lambda n: f"по строке из {n}\u00a0{ru('числа', 'чисел', 'чисел')(n)} на изображение",
    },
    "labels_wrong": {
        "en": lambda n: f"{n} of {n} {en('label', 'labels')(n)} {en('differs', 'differ')(n)} from the file "
                        f"(first at image {n}",
        "ru": lambda n: f"{n} из {n}\u00a0{ru('метки', 'меток', 'меток')(n)} "
                        f"{ru('не совпадает', 'не совпадают', 'не совпадают')(n)} с файлом "
                        f"(первое расхождение\u00a0— изображение {n}",
    },
    "layer_count_class": {
        "en": lambda n: f"<where>: {n} <cls> {en('layer is', 'layers are')(n)} used, expected {n}.",
        "ru": lambda n: f"<where>: {ru('используется', 'используются', 'используется')(n)} {n}\u00a0"
                        f"{ru('слой', 'слоя', 'слоёв')(n)} <cls>, а ожидалось {n}.",
    },
    "mistake_missing_bn": {
        "en": lambda n: f"{n} BatchNormalization {en('layer is', 'layers are')(n)} used, expected {n}.",
        "ru": lambda n: f"слоёв BatchNormalization: {n}, а нужно {n}.",
    },
    "dense_units": {
        "en": lambda n: f"the Dense layer has {n} {en('unit', 'units')(n)}, expected {n}:",
        "ru": lambda n: f"у слоя Dense {n}\u00a0{ru('нейрон', 'нейрона', 'нейронов')(n)}, а нужно {n}:",
    },
    "resnet_block_count": {
        "en": lambda n: f"ResNet uses {n} residual {en('block', 'blocks')(n)}, expected {n}:",
        "ru": lambda n: f"ResNet использует {n}\u00a0"
                        f"{ru('остаточный блок', 'остаточных блока', 'остаточных блоков')(n)}, а нужно {n}:",
    },
    "mnist_loaded": {
        "en": lambda n: f"MNIST: {n} training and {n} test {en('image', 'images')(n)} of 28×28 pixels.",
        "ru": lambda n: f"MNIST: {n}\u00a0{ru('обучающее', 'обучающих', 'обучающих')(n)} и {n}\u00a0"
                        f"{ru('тестовое изображение', 'тестовых изображения', 'тестовых изображений')(n)} "
                        "размером 28×28",
    },
    "mnist_fallback": {
        "en": lambda n: f"; {n} training and {n} test {en('image', 'images')(n)}, see data/README.md",
        "ru": lambda n: f"; {n}\u00a0{ru('обучающее', 'обучающих', 'обучающих')(n)} и {n}\u00a0"
                        f"{ru('тестовое', 'тестовых', 'тестовых')(n)}, см. data/README.md",
    },
    "layers": {"en": lambda n: f"Layers: {n}", "ru": lambda n: f"Число слоёв: {n}"},
    "parameters": {"en": lambda n: f"Parameters: {n}", "ru": lambda n: f"Число параметров: {n}"},
    "output_truncated": {
        "en": lambda n: f"[output truncated: showing the first {n} of {n} {en('character', 'characters')(n)}]",
        "ru": lambda n: f"[вывод сокращён: показаны первые {n} из {n}\u00a0{ru('символа', 'символов', 'символов')(n)}]",
    },
    "kernel_time_limit": {"en": lambda n: f"time limit of {n}\u00a0s ran out", "ru": lambda n: f"работы ({n}\u00a0с)"},
    "kernel_ignored_interrupt": {
        "en": lambda n: f"its time limit of {n}\u00a0s and did not stop within {n}\u00a0s of being interrupted",
        "ru": lambda n: f"дольше отведённых {n}\u00a0с и не остановилась за {n}\u00a0с после прерывания",
    },
    "job_timeout": {"en": lambda n: f"stopped after {n}\u00a0s", "ru": lambda n: f"остановлена через {n}\u00a0с"},
    "not_kept_too_many": {"en": lambda n: f"More than {n} files:", "ru": lambda n: f"Файлов больше {n}:"},
    "not_kept_out_of_time": {"en": lambda n: f"more than {n}\u00a0s:", "ru": lambda n: f"больше {n}\u00a0с:"},
    "not_kept_too_big": {
        "en": lambda n: f"larger than {n}\u00a0MiB: {n} {en('file', 'files')(n)} (",
        "ru": lambda n: f"больше {n}\u00a0МиБ: {n}\u00a0{ru('файл', 'файла', 'файлов')(n)} (",
    },
    "not_kept_over_total": {
        "en": lambda n: f"beyond the folder's {n}\u00a0MiB: {n} {en('file', 'files')(n)} (",
        "ru": lambda n: f"сверх {n}\u00a0МиБ на папку: {n}\u00a0{ru('файл', 'файла', 'файлов')(n)} (",
    },
    "not_kept_not_plain": {"en": lambda n: f"special files: {n} (", "ru": lambda n: f"специальные файлы: {n} ("},
    "cli.grading": {
        "en": lambda n: f"grading {n} {en('submission', 'submissions')(n)} on",
        "ru": lambda n: f"{ru('проверяется', 'проверяются', 'проверяется')(n)} {n}\u00a0"
                        f"{ru('работа', 'работы', 'работ')(n)} на",
    },
    "cli.local_cluster": {
        "en": lambda n: f"a local Dask cluster of {n} {en('worker', 'workers')(n)}",
        "ru": lambda n: f"локальном кластере Dask ({n}\u00a0{ru('исполнитель', 'исполнителя', 'исполнителей')(n)})",
    },
    "cli.worker_lost": {
        "en": lambda n: f"was lost {n} {en('time', 'times')(n)} (",
        "ru": lambda n: f"потерян {n}\u00a0{ru('раз', 'раза', 'раз')(n)} (",
    },
    "cli.submission_too_many": {
        "en": lambda n: f"more than {n} {en('file', 'files')(n)}",
        "ru": lambda n: f"больше {n}\u00a0{ru('файла', 'файлов', 'файлов')(n)}",
    },
    "cli.service.status": {
        "en": lambda n: f"{n} waiting, {n} being graded, oldest waiting {n}\u00a0s; {n} graded",
        "ru": lambda n: f"в очереди {n}, на проверке {n}, самое долгое ожидание {n}\u00a0с; проверено {n}",
    },
    "service.queued": {
        "en": lambda n: f"at most {n} {en('submission', 'submissions')(n)} of yours per lesson in {n} "
                        f"{en('minute', 'minutes')(n)}.",
        "ru": lambda n: f"не больше {n}\u00a0{ru('вашей работы', 'ваших работ', 'ваших работ')(n)} за "
                        f"{n}\u00a0{ru('минуту', 'минуты', 'минут')(n)}.",
    },
    "service.refused": {
        "en": lambda n: f"at most {n} {en('submission', 'submissions')(n)} of yours per lesson in {n} "
                        f"{en('minute', 'minutes')(n)}.",
        "ru": lambda n: f"не больше {n}\u00a0{ru('вашей работы', 'ваших работ', 'ваших работ')(n)} за "
                        f"{n}\u00a0{ru('минуту', 'минуты', 'минут')(n)}.",
    },
    "not_kept_too_deep": {
        "en": lambda n: f"deeper than {n} {en('level', 'levels')(n)}: {n} (",
        "ru": lambda n: f"глубже {n}\u00a0{ru('уровня', 'уровней', 'уровней')(n)} вложенности: {n} (",
    },
}


def test_every_message_exists_in_both_languages_and_formats() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), key
        assert {name for name, _ in fields(texts["en"])} == {name for name, _ in fields(texts["ru"])}, key
        for lang in LANGUAGES:
            text = message(key, lang, **sample(key, 3))
            assert "{" not in text and "}" not in text and "#" not in text, (key, lang, text)


def test_plural_fields_give_one_form_per_cldr_category() -> None:
    assert plural_categories("en") == ("one", "other")
    assert plural_categories("ru") == ("one", "few", "many", "other")
    for key, texts in MESSAGES.items():
        for lang in LANGUAGES:
            for name, spec in fields(texts[lang]):
                if spec.startswith("plural:"):
                    forms = spec.removeprefix("plural:").split("|")
                    # Russian "other" is for fractions only: counts never need it.
                    assert len(forms) in {"en": (2,), "ru": (3, 4)}[lang], (key, lang, name, forms)
                    assert all("#" in form for form in forms) or not any("#" in form for form in forms), (key, name)


def test_every_message_with_a_number_is_checked_here() -> None:
    assert {key for key in MESSAGES if numeric_fields(key)} == set(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_numbers_agree_with_their_words(key: str, lang: str) -> None:
    for n in COUNTS:
        text = message(key, lang, **sample(key, n))
        assert EXPECTED[key][lang](n) in text, (n, text)


def test_russian_counts_by_hand_match_babel() -> None:
    from babel import Locale

    assert {n: Locale.parse("ru").plural_form(n) for n in COUNTS} == RU_CATEGORY


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_large_numbers_are_grouped_per_language(key: str) -> None:
    # Numbers inside code (`np.eye(6)`) stay as Python writes them.
    english = re.sub(r"`[^`]*`", "", message(key, "en", **sample(key, 23_600_006)))
    russian = re.sub(r"`[^`]*`", "", message(key, "ru", **sample(key, 23_600_006)))
    assert "23,600,006" in english and "23600006" not in english
    groups = re.findall(rf"23[{NO_BREAK_SPACES}]600[{NO_BREAK_SPACES}]006", russian)
    assert groups and "23,600,006" not in russian and "23 600 006" not in russian, russian


def test_the_broken_messages_of_the_review() -> None:
    """The cases named in the review and the issue, as a learner would read them."""
    values = {"what": "X", "maxdiff": 0.5, "where": "w", "expected": 1.0, "found": 2.0}
    assert "1 из 48\u00a0значений отличается от ожидаемых" in message("values_off", "ru", count=1, total=48, **values)
    assert "2 из 21\u00a0значения отличаются" in message("values_off", "ru", count=2, total=21, **values)
    assert "1 of 48 values differs" in message("values_off", "en", count=1, total=48, **values)
    assert "В модели 172\u00a0слоя, а в эталонной\u00a0— 177." in message("layer_count", "ru", found=172, expected=177)
    assert "слоёв BatchNormalization: 0, а нужно 1." in message("mistake_missing_bn", "ru", where="W", found=0,
                                                                expected=1)
    assert message("param_total", "ru", expected=23_600_006, found=23_587_712).replace("\u202f", "\u00a0") == (
        "Общее число параметров: ожидалось 23\u00a0600\u00a0006, найдено 23\u00a0587\u00a0712.")
    assert message("mnist_loaded", "ru", train=60_000, test=10_000).replace("\u202f", "\u00a0") == (
        "MNIST: 60\u00a0000\u00a0обучающих и 10\u00a0000\u00a0тестовых изображений размером 28×28\u00a0пикселей.")
    assert message("mnist_loaded", "en", train=60_000, test=10_000) == (
        "MNIST: 60,000 training and 10,000 test images of 28×28 pixels.")


def test_decimal_sign_follows_the_language() -> None:
    assert "(минимум -0,25)" in message("negative_after_relu", "ru", found=-0.25)
    assert "(smallest -0.25)" in message("negative_after_relu", "en", found=-0.25)
    assert "от 0 до 255" in message("images_not_scaled", "ru", array="X", low=0.0, high=255.0)
