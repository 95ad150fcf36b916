"""What the course's notebooks reached with each model: the report shows it beside the pipeline's
own figure, with the data and set-up the course used."""

from __future__ import annotations

from dataclasses import dataclass

SPLITS = {"val": "validation", "test": "test"}
RATES = {"accuracy", "precision", "recall", "f1", "heldout_accuracy", "truth_table_accuracy"}


@dataclass(frozen=True)
class Reference:
    split: str  # "val" or "test"
    metric: str
    value: float
    data: str  # what the course trained on
    setup: str  # how, where it matters
    source: str  # the course notebook that printed it

    def shown(self) -> str:
        """The value as the course printed it: 98 %, 81.1 %, 1.29."""
        return f"{100 * self.value:g} %" if self.metric in RATES else f"{self.value:g}"

    def figure(self) -> str:
        """The value with what it measures: 98 % test accuracy."""
        return f"{self.shown()} {self.measure()}"

    def measure(self) -> str:
        """What the value measures: the split and the metric (validation accuracy)."""
        return f"{SPLITS[self.split]} {self.metric}"


# The course's own results, on its full data sets: the one place the report's comparisons come from.
# udacity/deep-learning-v2-pytorch, the solution notebooks below (as recorded in the project's notes).
COURSE = {
    "mlp": Reference(
        "test",
        "accuracy",
        0.98,
        "MNIST",
        "784-512-512-10",
        "convolutional-neural-networks/mnist-mlp/mnist_mlp_solution.ipynb",
    ),
    "cnn": Reference(
        "test",
        "accuracy",
        0.76,
        "CIFAR-10",
        "with augmentation",
        "convolutional-neural-networks/cifar-cnn/cifar10_cnn_augmentation.ipynb",
    ),
    "charrnn": Reference(
        "val",
        "loss",
        1.29,
        "anna.txt",
        "LSTM 512x2, 20 epochs",
        "recurrent-neural-networks/char-rnn/Character_Level_RNN_Solution.ipynb",
    ),
    "sentiment": Reference(
        "test",
        "accuracy",
        0.811,
        "25,000 movie reviews",
        "reviews.txt and labels.txt",
        "sentiment-rnn/Sentiment_RNN_Solution.ipynb",
    ),
}
