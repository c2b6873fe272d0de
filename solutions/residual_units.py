"""Reference answers for the Residual Units lesson.

Each public name matches the ``grade_id`` of an answer cell. ``python -m autograder solve``
pastes the source of these classes into the student notebook, so they may only use names
that the notebook's import cell defines.
"""

from tensorflow.keras import Model
from tensorflow.keras.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    MaxPool2D,
)

__all__ = ["ResidualBlock", "ResNet"]


class ResidualBlock(Model):
    def __init__(self, filters, kernel_size):
        super().__init__()
        self.conv1 = Conv2D(filters, kernel_size, padding="same")
        self.bn1 = BatchNormalization()

        self.conv2 = Conv2D(filters, kernel_size, padding="same")
        self.bn2 = BatchNormalization()

        self.act = Activation("relu")
        self.add = Add()

    def call(self, input_tensor):
        x = self.conv1(input_tensor)
        x = self.bn1(x)
        x = self.act(x)

        x = self.conv2(x)
        x = self.bn2(x)
        x = self.add([x, input_tensor])
        x = self.act(x)
        return x


class ResNet(Model):
    def __init__(self, num_classes):
        super().__init__()
        self.conv = Conv2D(64, 7, padding="same")
        self.bn = BatchNormalization()
        self.act = Activation("relu")
        self.max_pool = MaxPool2D((3, 3))

        self.id1a = ResidualBlock(64, 3)
        self.id1b = ResidualBlock(64, 3)

        self.global_pool = GlobalAveragePooling2D()
        self.classifier = Dense(num_classes, activation="softmax")

    def call(self, inputs):
        x = self.conv(inputs)
        x = self.bn(x)
        x = self.act(x)
        x = self.max_pool(x)

        x = self.id1a(x)
        x = self.id1b(x)

        x = self.global_pool(x)
        x = self.classifier(x)
        return x
