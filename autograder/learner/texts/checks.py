"""Texts of the checks, the lessons' own printed lines and the grader's notes on a submission, in every language.

Templates use the fields described in ``autograder.learner.i18n`` (numbers, plurals).
"""

TEXTS: dict[str, dict[str, str]] = {
    # --- calling the learner's code ---
    "not_callable": {
        "en": "`{name}` should be a function or a class, but it is {found}.",
        "ru": "Имя `{name}` должно обозначать функцию или класс, а сейчас это {found}.",
    },
    "raised": {
        "en": "`{name}` raised {exc}: {msg}",
        "ru": "При вызове `{name}` возникла ошибка {exc}: {msg}",
    },
    "at_line": {
        "en": "Line {line:n} of the function: `{code}`",
        "ru": "Строка {line:n} функции: `{code}`",
    },
    "stub_hint": {
        "en": "A `...` stub is still in place: replace every `...` with your code.",
        "ru": "В коде остались заглушки `...`: замените каждую из них своим кодом.",
    },
    "returned_none": {
        "en": "`{name}` returned None: did you forget `return X`?",
        "ru": "`{name}` возвращает None: не забыли написать `return X`?",
    },
    "returned_ellipsis": {
        "en": "`{name}` returned `...`: the stub is not filled in yet.",
        "ru": "`{name}` возвращает `...`: заглушка ещё не заменена вашим кодом.",
    },
    "not_defined": {
        "en": "`{name}` is not defined: the cell above that defines it has not been run, or it stopped with an "
        "error. Run that cell without an error first, then run this cell again.",
        "ru": "Имя `{name}` не определено: ячейка выше, в которой оно определяется, не выполнялась или завершилась "
        "с ошибкой. Сначала выполните её без ошибок, затем снова запустите эту ячейку.",
    },
    # --- one exercise uses another ---
    "uses_undefined": {
        "en": "`{caller}` calls `{name}`, which is not defined: run the cell above that defines `{name}` "
        "without an error first.",
        "ru": "`{caller}` вызывает `{name}`, но имя `{name}` не определено: сначала выполните без ошибок ячейку "
        "выше, в которой оно определяется.",
    },
    "uses_failing": {
        "en": "`{caller}` calls `{name}`, which does not pass its own checks yet: fix `{name}` first "
        "(the checks under it say more). {detail}",
        "ru": "`{caller}` вызывает `{name}`, а `{name}` пока не проходит свои проверки: сначала исправьте "
        "`{name}` (подробнее\u00a0— в проверках под заданием `{name}`). {detail}",
    },
    # --- tensors ---
    "not_tensor": {
        "en": "Expected a TensorFlow tensor (EagerTensor), found {found}. Build the block from Keras layers only.",
        "ru": "Ожидался тензор TensorFlow (EagerTensor), получено: {found}. Стройте блок только из слоёв Keras.",
    },
    "non_eager_value": {
        "en": "a value that is not an EagerTensor",
        "ru": "значение другого типа",
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
        "en": "{what}: {count:n} of {total:plural:# value|# values} {count:plural:differs|differ} from the expected "
        "values (largest difference {maxdiff:.4g}). "
        "First difference at {where}: expected {expected:.6g}, found {found:.6g}.",
        "ru": "{what}: {count:n} из {total:plural:#\u00a0значения|#\u00a0значений|#\u00a0значений} "
        "{count:plural:отличается|отличаются|отличаются} от ожидаемых (наибольшее расхождение {maxdiff:.4g}). "
        "Первое расхождение\u00a0— {where}: ожидалось {expected:.6g}, получено {found:.6g}.",
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
        "en": "Your output equals that of the block without its final ReLU: apply `Activation('relu')` after `Add()`.",
        "ru": "Ваш выход совпадает с выходом блока без последней ReLU: примените `Activation('relu')` после `Add()`.",
    },
    "mistake_relu_before_add": {
        "en": "Your output equals that of a block with a ReLU right after the third BatchNormalization: "
        "the third component has no activation; the ReLU comes only after the addition.",
        "ru": "Ваш выход совпадает с выходом блока, где ReLU стоит сразу после третьей пакетной нормализации: "
        "в третьей части активации нет, ReLU применяется только после сложения.",
    },
    "mistake_no_shortcut": {
        "en": "Your output equals that of the main path alone: add the shortcut with `Add()([X, X_shortcut])`.",
        "ru": "Ваш выход совпадает с выходом одного основного пути: "
        "прибавьте обходное соединение через `Add()([X, X_shortcut])`.",
    },
    "mistake_training_ignored": {
        "en": "Your output equals that of the block whose BatchNormalization layers ignore the `training` argument: "
        "call them as `BatchNormalization(axis=3)(X, training=training)`.",
        "ru": "Ваш выход совпадает с выходом блока, в котором пакетная нормализация не получает аргумент `training`: "
        "вызывайте её как `BatchNormalization(axis=3)(X, training=training)`.",
    },
    "mistake_shortcut_without_bn": {
        "en": "Your output equals that of the block without BatchNormalization on the shortcut: "
        "after the 1×1 shortcut convolution apply `BatchNormalization(axis=3)(X_shortcut, training=training)`.",
        "ru": "Ваш выход совпадает с выходом блока без пакетной нормализации в обходном соединении: "
        "после свёртки 1×1 примените `BatchNormalization(axis=3)(X_shortcut, training=training)`.",
    },
    "mistake_initializer_without_seed": {
        "en": "The values look like the output of the right block with differently initialized weights: "
        "pass `kernel_initializer=initializer(seed=0)` to every Conv2D.",
        "ru": "Значения похожи на выход правильного блока с другими начальными весами: "
        "передайте `kernel_initializer=initializer(seed=0)` в каждый Conv2D.",
    },
    "initializer_seed": {
        "en": "The kernel initializer was created as `initializer({found})`: pass "
        "`kernel_initializer=initializer(seed=0)` to every Conv2D, so that the weights are the ones the lesson "
        "asks for.",
        "ru": "Инициализатор весов создан вызовом `initializer({found})`: передайте "
        "`kernel_initializer=initializer(seed=0)` в каждый Conv2D, чтобы веса были такими, как требует задание.",
    },
    # --- models ---
    "not_model": {
        "en": "`{name}` should return a Keras Model, but it returned {found}.",
        "ru": "`{name}` должна возвращать модель Keras (Model), а вернула {found}.",
    },
    "layer_count": {
        "en": "The model has {found:plural:# layer|# layers}, the reference has {expected:n}.",
        "ru": "В модели {found:plural:#\u00a0слой|#\u00a0слоя|#\u00a0слоёв}, а в эталонной\u00a0— {expected:n}.",
    },
    "layer_where": {
        "en": "Layer {index:n} of {total:n} ({stage})",
        "ru": "Слой {index:n} из {total:n} ({stage})",
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
        "en": "Total number of parameters: expected {expected:n}, found {found:n}.",
        "ru": "Общее число параметров: ожидалось {expected:n}, найдено {found:n}.",
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
        "en": "{array} has shape {found}: labels must be one-hot encoded, one row of "
        "{classes:plural:# number|# numbers} per image (for example `np.eye({classes})[Y_orig.reshape(-1)]`).",
        "ru": "{array} имеет размерность {found}: метки нужно закодировать в формате one-hot, по строке из "
        "{classes:plural:#\u00a0числа|#\u00a0чисел|#\u00a0чисел} на изображение "
        "(например, `np.eye({classes})[Y_orig.reshape(-1)]`).",
    },
    "labels_not_one_hot": {
        "en": "{array}: every row must contain a single 1 and zeros elsewhere.",
        "ru": "{array}: в каждой строке должна быть одна единица, а остальные\u00a0— нули.",
    },
    "labels_wrong": {
        "en": "{array}: {count:n} of {total:plural:# label|# labels} {count:plural:differs|differ} from the file "
        "(first at image {index:n}: expected class {expected}, found {found}). "
        "Keep the images and labels in the file's order.",
        "ru": "{array}: {count:n} из {total:plural:#\u00a0метки|#\u00a0меток|#\u00a0меток} "
        "{count:plural:не совпадает|не совпадают|не совпадают} с файлом "
        "(первое расхождение\u00a0— изображение {index:n}: ожидался класс {expected}, найден {found}). "
        "Сохраняйте порядок изображений и меток из файла.",
    },
    "images_not_scaled": {
        "en": "{array}: values range from {low:.4g} to {high:.4g}; divide the pixels by 255 to bring them into [0, 1].",
        "ru": "{array}: значения лежат в диапазоне от {low:.4g} до {high:.4g}; разделите пиксели на 255, "
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
    # --- Residual Units lesson: subclassed Keras models ---
    "at_line_method": {
        "en": "Line {line:n} of `{method}`: `{code}`",
        "ru": "Строка {line:n} метода `{method}`: `{code}`",
    },
    "not_keras_model": {
        "en": "`{name}(...)` should create a Keras model (a subclass of `tf.keras.Model`), but it created {found}.",
        "ru": "Вызов `{name}(...)` должен создавать модель Keras (подкласс `tf.keras.Model`), а создаёт {found}.",
    },
    "where_block": {
        "en": "ResidualBlock({filters}, {kernel_size})",
        "ru": "ResidualBlock({filters}, {kernel_size})",
    },
    "where_resnet": {
        "en": "ResNet({num_classes}), first layers",
        "ru": "ResNet({num_classes}), первые слои",
    },
    "where_resnet_head": {
        "en": "ResNet({num_classes}), output layer",
        "ru": "ResNet({num_classes}), выходной слой",
    },
    "where_conv": {
        "en": "{where}, convolution {index}",
        "ru": "{where}, свёртка {index}",
    },
    "hint_block_conv": {
        "en": "Create both convolutions from the block's arguments: `Conv2D(filters, kernel_size, padding='same')`.",
        "ru": "Создайте обе свёртки из аргументов блока: `Conv2D(filters, kernel_size, padding='same')`.",
    },
    "hint_stem_conv": {
        "en": "The first convolution of ResNet is `Conv2D(64, 7, padding='same')`.",
        "ru": "Первая свёртка ResNet\u00a0— `Conv2D(64, 7, padding='same')`.",
    },
    "layer_count_class": {
        "en": "{where}: {found:plural:# {cls} layer is|# {cls} layers are} used, expected {expected:n}. {hint}",
        "ru": "{where}: "
        "{found:plural:используется #\u00a0слой|используются #\u00a0слоя|используется #\u00a0слоёв} {cls}, "
        "а ожидалось {expected:n}. {hint}",
    },
    "mistake_missing_bn": {
        "en": "{where}: batch normalization is missing — "
        "{found:plural:# BatchNormalization layer is|# BatchNormalization layers are} used, expected {expected:n}. "
        "Every convolution is followed by its own `BatchNormalization()`, applied before "
        "the ReLU (and, in the block's second half, before the addition).",
        "ru": "{where}: не хватает пакетной нормализации\u00a0— слоёв BatchNormalization: {found:n}, "
        "а нужно {expected:n}. "
        "После каждой свёртки идёт своя `BatchNormalization()`, до ReLU "
        "(а во второй половине блока\u00a0— до сложения).",
    },
    "mistake_kernel_size": {
        "en": "{where}: wrong kernel size — expected kernel_size={expected}, found {found}. {hint}",
        "ru": "{where}: неверный размер ядра\u00a0— ожидался kernel_size={expected}, найден {found}. {hint}",
    },
    "conv_setting": {
        "en": "{where}: expected {attr}={expected}, found {attr}={found}. {hint}",
        "ru": "{where}: ожидалось {attr}={expected}, найдено {attr}={found}. {hint}",
    },
    "weights_mismatch": {
        "en": "{where}: the layers with weights do not line up with the reference model, so its weights cannot be "
        "copied into yours. Expected, in order: {expected}. Found: {found}.",
        "ru": "{where}: слои с весами не соответствуют эталонной модели, поэтому её веса нельзя скопировать в вашу. "
        "Ожидалось по порядку: {expected}. Найдено: {found}.",
    },
    "mistake_block_no_skip": {
        "en": "The output equals that of the block without its skip connection: add the block's input to the output "
        "of the second batch normalization, `x = self.add([x, input_tensor])`, before the last ReLU.",
        "ru": "Выход совпадает с выходом блока без обходного соединения: прибавьте вход блока к выходу второй пакетной "
        "нормализации, `x = self.add([x, input_tensor])`, перед последней ReLU.",
    },
    "mistake_block_relu_before_add": {
        "en": "The output equals that of a block with a ReLU between the second batch normalization and the addition: "
        "the activation in the block's second half comes only after `self.add([x, input_tensor])`.",
        "ru": "Выход совпадает с выходом блока, где ReLU стоит между второй пакетной нормализацией и сложением: "
        "во второй половине блока активация применяется только после `self.add([x, input_tensor])`.",
    },
    "mistake_block_no_final_relu": {
        "en": "The output equals that of the block without the ReLU after the addition: finish with `x = self.act(x)` "
        "after `self.add(...)`.",
        "ru": "Выход совпадает с выходом блока без ReLU после сложения: завершите блок строкой `x = self.act(x)` "
        "после `self.add(...)`.",
    },
    "mistake_block_relu_before_bn": {
        "en": "The output equals that of a block that applies the ReLU before the first batch normalization: "
        "the order is convolution → batch normalization → ReLU.",
        "ru": "Выход совпадает с выходом блока, где ReLU применяется до первой пакетной нормализации: "
        "порядок такой: свёртка → пакетная нормализация → ReLU.",
    },
    "mistake_stem_no_relu": {
        "en": "The output equals that of a ResNet without the ReLU after its first batch normalization: the first "
        "layers are Conv2D → BatchNormalization → ReLU → MaxPool2D.",
        "ru": "Выход совпадает с выходом ResNet без ReLU после первой пакетной нормализации: первые слои\u00a0— "
        "Conv2D → BatchNormalization → ReLU → MaxPool2D.",
    },
    "mistake_no_softmax": {
        "en": "The softmax is missing: the output layer must be `Dense(num_classes, activation='softmax')`, "
        "so that each row of the output is a probability distribution over the classes.",
        "ru": "Не хватает softmax: выходной слой должен быть `Dense(num_classes, activation='softmax')`, "
        "чтобы каждая строка выхода была распределением вероятностей по классам.",
    },
    "dense_activation": {
        "en": "{where}: the Dense layer has activation '{found}'. The softmax is missing: use "
        "`Dense(num_classes, activation='softmax')`.",
        "ru": "{where}: у слоя Dense активация '{found}'. Не хватает softmax: используйте "
        "`Dense(num_classes, activation='softmax')`.",
    },
    "rows_not_probabilities": {
        "en": "The rows of the output are not probability distributions (row 0 sums to {total:.4g}, smallest value "
        "{low:.4g}). The softmax is missing: use `Dense(num_classes, activation='softmax')`.",
        "ru": "Строки выхода не являются распределениями вероятностей (сумма строки 0 равна {total:.4g}, "
        "наименьшее значение {low:.4g}). Не хватает softmax: используйте `Dense(num_classes, activation='softmax')`.",
    },
    "dense_units": {
        "en": "{where}: the Dense layer has {found:plural:# unit|# units}, expected {expected:n}: one per class, "
        "`Dense(num_classes, ...)`.",
        "ru": "{where}: у слоя Dense {found:plural:#\u00a0нейрон|#\u00a0нейрона|#\u00a0нейронов}, "
        "а нужно {expected:n}: по одному на класс, `Dense(num_classes, ...)`.",
    },
    "mistake_wrong_pooling": {
        "en": "Wrong pooling: the pooling layers in use are {found}, expected {expected}. After the first ReLU comes "
        "`MaxPool2D((3, 3))`, and after the residual blocks `GlobalAveragePooling2D()`.",
        "ru": "Неверный пулинг: используются слои пулинга {found}, а ожидались {expected}. После первой ReLU идёт "
        "`MaxPool2D((3, 3))`, а после остаточных блоков\u00a0— `GlobalAveragePooling2D()`.",
    },
    "pool_size": {
        "en": "MaxPool2D has pool_size={found}, expected {expected}: use `MaxPool2D((3, 3))`.",
        "ru": "У MaxPool2D pool_size={found}, а ожидалось {expected}: используйте `MaxPool2D((3, 3))`.",
    },
    "resnet_block_count": {
        "en": "ResNet uses {found:plural:# residual block|# residual blocks}, expected {expected:n}: "
        "`self.id1a = ResidualBlock(64, 3)` and `self.id1b = ResidualBlock(64, 3)`, applied one after the other.",
        "ru": "ResNet использует "
        "{found:plural:#\u00a0остаточный блок|#\u00a0остаточных блока|#\u00a0остаточных блоков}, "
        "а нужно {expected:n}: `self.id1a = ResidualBlock(64, 3)` и `self.id1b = ResidualBlock(64, 3)`, "
        "применённые один за другим.",
    },
    "resnet_block_wrong": {
        "en": "The residual blocks inside ResNet are not right yet; fix `ResidualBlock` first (its checks above "
        "say more). {detail}",
        "ru": "Остаточные блоки внутри ResNet пока неверны; сначала исправьте `ResidualBlock` (подробнее\u00a0— в его "
        "проверках выше). {detail}",
    },
    "mode_training": {
        "en": "training=True",
        "ru": "training=True",
    },
    "mode_inference": {
        "en": "training=False",
        "ru": "training=False",
    },
    # --- MNIST and its offline stand-in ---
    "mnist_loaded": {
        "en": "MNIST: {train:n} training and {test:plural:# test image|# test images} of 28×28 pixels.",
        "ru": "MNIST: {train:plural:#\u00a0обучающее|#\u00a0обучающих|#\u00a0обучающих} и "
        "{test:plural:#\u00a0тестовое изображение|#\u00a0тестовых изображения|#\u00a0тестовых изображений} "
        "размером 28×28\u00a0пикселей.",
    },
    "mnist_fallback": {
        "en": "NOT MNIST ({reason}): using the course's offline stand-in, the UCI handwritten digits 0–9 "
        "(1,797 images of 8×8 pixels enlarged to 28×28, CC BY 4.0; {train:n} training and "
        "{test:plural:# test image|# test images}, see data/README.md).",
        # 1 797 with a no-break space, as Babel groups the numbers filled in beside it.
        "ru": "ЭТО НЕ MNIST ({reason}): используется офлайн-замена из курса\u00a0— рукописные цифры 0–9 из набора UCI "
        "(1\u00a0797\u00a0изображений размером 8×8\u00a0пикселей, увеличенных до 28×28, лицензия CC BY 4.0; "
        "{train:plural:#\u00a0обучающее|#\u00a0обучающих|#\u00a0обучающих} и "
        "{test:plural:#\u00a0тестовое|#\u00a0тестовых|#\u00a0тестовых}, см. data/README.md).",
    },
    "mnist_reason_offline": {
        "en": "offline mode: {variable} is set",
        "ru": "офлайн-режим: задана переменная {variable}",
    },
    "mnist_reason_unreachable": {
        "en": "the MNIST download server cannot be reached",
        "ru": "сервер загрузки MNIST недоступен",
    },
    "mnist_reason_failed": {
        "en": "the download failed: {error}",
        "ru": "загрузка не удалась: {error}",
    },
    # --- grading ---
    "kernel_died": {
        "en": "The kernel died while running this cell ({reason}). Cells after it were not run; "
        "the grades of the cells before it are kept.",
        "ru": "Ядро завершилось аварийно во время выполнения этой ячейки ({reason}). Следующие ячейки "
        "не выполнялись; оценки предыдущих ячеек сохранены.",
    },
    "kernel_memory": {
        "en": "it used more than {limit:.1f} GiB of memory",
        "ru": "оно заняло больше {limit:.1f}\u00a0ГиБ памяти",
    },
    "kernel_exit": {
        "en": "exit code {code}",
        "ru": "код завершения {code}",
    },
    "kernel_signal": {
        "en": "killed by signal {signal}",
        "ru": "остановлено сигналом {signal}",
    },
    "not_run_after_death": {
        "en": "Not run: the kernel died in an earlier cell.",
        "ru": "Не выполнялась: ядро завершилось аварийно в одной из предыдущих ячеек.",
    },
    "output_truncated": {
        "en": "[output truncated: showing the first {kept:n} of {total:plural:# character|# characters}]",
        "ru": "[вывод сокращён: показаны первые {kept:n} из "
        "{total:plural:#\u00a0символа|#\u00a0символов|#\u00a0символов}]",
    },
    "hidden_failed": {
        "en": "hidden test on unseen inputs failed: {reason}",
        "ru": "скрытый тест на новых входных данных не пройден: {reason}",
    },
    "hidden_unusable": {
        "en": "the recording has no usable '{name}' ({error}).",
        "ru": "в записи нет пригодного значения '{name}' ({error}).",
    },
    "kernel_time_limit": {
        "en": "the submission's time limit of {seconds:n}\u00a0s ran out",
        "ru": "истекло время на проверку работы ({seconds:n}\u00a0с)",
    },
    "kernel_ignored_interrupt": {
        "en": "the cell ran past its time limit of {timeout:n}\u00a0s and did not stop within {grace:n}\u00a0s of "
        "being interrupted",
        "ru": "ячейка выполнялась дольше отведённых {timeout:n}\u00a0с и не остановилась за {grace:n}\u00a0с "
        "после прерывания",
    },
    "not_a_notebook": {
        "en": "not a valid notebook ({error})",
        "ru": "файл не является корректным ноутбуком ({error})",
    },
    "job_timeout": {
        "en": "grading was stopped after {seconds:n}\u00a0s",
        "ru": "проверка остановлена через {seconds:n}\u00a0с",
    },
    "output_removed": {
        "en": "[output removed: {types} cannot be shown safely]",
        "ru": "[вывод удалён: {types} нельзя показать безопасно]",
    },
    "not_kept_too_many": {
        "en": "More than {files:n} files: the rest, from {names} on, were not kept.",
        "ru": "Файлов больше {files:n}: остальные, начиная с {names}, не сохранены.",
    },
    "not_kept_out_of_time": {
        "en": "Collecting the files took more than {seconds:n}\u00a0s: the rest, from {names} on, were not kept.",
        "ru": "Сбор файлов занял больше {seconds:n}\u00a0с: остальные, начиная с {names}, не сохранены.",
    },
    "not_kept_too_big": {
        "en": "Not kept, larger than {size:n}\u00a0MiB: {count:plural:# file|# files} ({names}).",
        "ru": "Не сохранены файлы больше {size:n}\u00a0МиБ: {count:plural:#\u00a0файл|#\u00a0файла|#\u00a0файлов} "
        "({names}).",
    },
    "not_kept_over_total": {
        "en": "Not kept, beyond the folder's {total:n}\u00a0MiB: {count:plural:# file|# files} ({names}).",
        "ru": "Не сохранены сверх {total:n}\u00a0МиБ на папку: {count:plural:#\u00a0файл|#\u00a0файла|#\u00a0файлов} "
        "({names}).",
    },
    "not_kept_not_plain": {
        "en": "Not kept, links and special files: {count:n} ({names}).",
        "ru": "Не сохранены ссылки и специальные файлы: {count:n} ({names}).",
    },
    "not_kept_too_deep": {
        "en": "Not kept, folders nested deeper than {depth:plural:# level|# levels}: {count:n} ({names}).",
        "ru": "Не сохранены папки глубже {depth:plural:#\u00a0уровня|#\u00a0уровней|#\u00a0уровней} вложенности: "
        "{count:n} ({names}).",
    },
    # --- fast grading mode ---
    "fast_mode_fit": {
        "en": "[fast grading mode] while grading, fit only scores one small batch and does not train "
              "(no check uses trained weights).",
        "ru": "[быстрый режим проверки] здесь fit лишь оценивает модель на одном небольшом пакете и не обучает её: "
              "обученные веса ни одной проверке не нужны.",
    },
    # --- a check's name and its failure ---
    "check_failed": {
        "en": "{label} — {text}",
        "ru": "{label}\u00a0— {text}",
    },
    # --- lines the lessons' own code prints (check.say), and the expected-output blocks built from them ---
    "layers": {
        "en": "Layers: {count:n}",
        "ru": "Число слоёв: {count:n}",
    },
    "parameters": {
        "en": "Parameters: {count:n}",
        "ru": "Число параметров: {count:n}",
    },
    "output_shape": {
        "en": "Output shape: {shape}",
        "ru": "Размерность выхода: {shape}",
    },
    "row_sums": {
        "en": "Row sums: {sums}",
        "ru": "Суммы строк: {sums}",
    },
    "output_equals_input": {
        "en": "Output equals input: {equal}",
        "ru": "Выход совпадает со входом: {equal}",
    },
    "evaluation": {
        "en": "Loss = {loss:.4f}\nTest Accuracy = {accuracy:.4f}",
        "ru": "Значение функции потерь: {loss:.4f}\nТочность на тестовой выборке: {accuracy:.4f}",
    },
    "test_accuracy_percent": {
        "en": "accuracy: {percent:.2f}%",
        "ru": "Точность на тестовой выборке: {percent:.2f}%",
    },
    "input_image_shape": {
        "en": "Input image shape: {shape}",
        "ru": "Размерность входного изображения: {shape}",
    },
    "class_probabilities": {
        "en": "Class prediction vector [p(0), p(1), p(2), p(3), p(4), p(5)] = {probabilities}",
        "ru": "Вероятности классов [p(0), p(1), p(2), p(3), p(4), p(5)] = {probabilities}",
    },
    "predicted_class": {
        "en": "Class: {digit}",
        "ru": "Класс: {digit}",
    },
    # autograder.learner.datasets.describe(): which dataset the Residual Networks lesson trains on
    "dataset_signs": {
        "en": "original SIGNS dataset",
        "ru": "исходный набор данных SIGNS",
    },
    "dataset_digits": {
        "en": "bundled UCI digits 0–5 (substitute for SIGNS)",
        "ru": "цифры UCI 0–5 из комплекта курса (замена набора SIGNS)",
    },
    "dataset_file": {
        "en": "dataset from {name}",
        "ru": "набор данных из файла {name}",
    },
}
