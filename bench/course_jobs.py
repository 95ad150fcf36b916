"""The course's models as timing jobs for bench/course_time.py: each builds its model and data at
the size the course trains, and gives one training step and one validation batch to time."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: `bench.` and `pipeline.` import from the root

from pipeline.core import params  # noqa: E402
from pipeline.core.store import Split  # noqa: E402
from pipeline.data.augment import Policy, augment_batch  # noqa: E402
from pipeline.models import as_float, build_model  # noqa: E402
from pipeline.schema.runtime import AccelerateParams  # noqa: E402
from pipeline.training.charrnn import run_epoch  # noqa: E402
from pipeline.training.engine.loop import BINARY, MULTICLASS, OPTIMIZERS, evaluate, train_one_epoch  # noqa: E402
from pipeline.training.engine.runner import Runner  # noqa: E402
from pipeline.training.engine.runtime import seed_everything  # noqa: E402

Run = Callable[[int], None]  # runs k steps (or k validation batches)


@dataclass
class Job:
    """One model at the course's settings: k training steps or validation batches, and how many of each."""

    setting: str
    train: Run
    validate: Run | None
    steps_per_epoch: int
    val_batches: int
    epochs: int
    scale: float = 1.0  # step time = measured x scale (timed at a smaller batch)


def random_split(
    n: int,
    shape: tuple[int, ...],
    classes: int,
    gen: torch.Generator,
    high: int = 256,
    dtype: torch.dtype = torch.uint8,
    device: str | torch.device = "cpu",
) -> Split:
    return Split(
        torch.randint(0, high, (n, *shape), dtype=dtype, generator=gen).to(device),
        torch.randint(0, classes, (n,), generator=gen).to(device),
    )


def image_job(
    raw: dict,
    section: str,
    name: str,
    update: dict,
    spec: dict,
    policy: Policy,
    n_train: int,
    n_val: int,
    epochs: int,
    setting: str,
    device: torch.device,
    timing_batch: int | None = None,
) -> Job:
    """What pipeline.training.train.fit_images sets up (accelerator, optimizer, augmenting `prepare`),
    then pipeline.training.engine.loop.train_one_epoch over k batches and pipeline.training.engine.loop.evaluate over k batches
    (of `timing_batch` images when given, the figure then scaled to the real batch)."""
    p = params.entry(raw, section, name)
    p = type(p).model_validate(p.model_dump() | update)
    seed_everything(p.seed)
    model = build_model(p.arch, p, spec)
    runner = Runner.local(f"train.{name}", p.seed, device, params.section(raw, "accelerate", AccelerateParams))
    runner.model(model)
    accel = runner.accel
    optimizer = OPTIMIZERS[p.optimizer]([t for t in model.parameters() if t.requires_grad], p)
    shuffle, aug_gen, gen = (torch.Generator().manual_seed(s) for s in (p.seed, policy.seed, 0))
    shape, classes = tuple(spec["input_shape"]), len(spec["classes"])
    batch = timing_batch or p.batch_size

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return accel.prepare_input(augment_batch(as_float(accel.to_device(x)), policy, aug_gen))

    def train(k: int) -> None:
        data = accel.place(random_split(k * batch, shape, classes, gen))
        train_one_epoch(model, data, optimizer, batch, shuffle, MULTICLASS, prepare, runner=runner)

    def validate(k: int) -> None:
        evaluate(model, accel.place(random_split(k * batch, shape, classes, gen)), batch)

    return Job(
        setting,
        train,
        validate,
        math.ceil(n_train / p.batch_size),
        math.ceil(n_val / p.batch_size),
        epochs,
        p.batch_size / batch,
    )


def image_spec(shape: list[int], classes: int) -> dict:  # any mean and std: the data is random
    return {
        "input_shape": shape,
        "classes": [str(c) for c in range(classes)],
        "mean": [0.5] * shape[0],
        "std": [0.25] * shape[0],
    }


def policy(raw: dict, dataset: str) -> Policy:
    return Policy.from_params(SimpleNamespace(**raw["augment"][dataset]))


def mlp(raw: dict, device: torch.device) -> Job:
    return image_job(
        raw,
        "train",
        "mlp",
        {"dataset": "mnist", "momentum": 0.0, "batch_size": 20, "epochs": 50},
        image_spec([1, 28, 28], 10),
        policy(raw, "mnist"),
        48_000,
        12_000,
        50,
        "MNIST 48,000/12,000, 784-512-512-10, SGD lr 0.01, batch 20, 50 epochs",
        device,
    )


def fashion_mlp(raw: dict, device: torch.device) -> Job:
    return image_job(
        raw,
        "train",
        "fashion_mlp",
        {"dataset": "fashion_mnist", "epochs": 30},
        image_spec([1, 28, 28], 10),
        policy(raw, "fashion_mnist"),
        48_000,
        12_000,
        30,
        "Fashion-MNIST 48,000/12,000, 784-256-128-64-10, Adam, batch 64, 30 epochs",
        device,
    )


def cnn(raw: dict, device: torch.device) -> Job:
    return image_job(
        raw,
        "train",
        "cnn",
        {"dataset": "cifar10", "momentum": 0.0, "batch_size": 20, "epochs": 30},
        image_spec([3, 32, 32], 10),
        policy(raw, "cifar10"),
        40_000,
        10_000,
        30,
        "CIFAR-10 40,000/10,000, conv 16-32-64 FC 500, SGD, batch 20, 30 epochs, augmented",
        device,
    )


def transfer(raw: dict, device: torch.device) -> Job:
    # The course's head (1024-500-2), loader (batch 64, flips, rotations to 30 degrees) and 1 epoch; its
    # 22,500 train / 2,500 test images are unverified here. Timed at batch 8 on a CPU (64 takes most of a
    # minute): the frozen densenet's forward pass, nearly all of a step, costs the same per image.
    spec = {
        "backbone": {"source": "torchvision", "arch": "densenet121", "weights": "imagenet"},
        "classes": ["cat", "dog"],
        "input_shape": [3, 224, 224],
    }
    return image_job(
        raw,
        "transfer",
        "transfer",
        {"dataset": "cat_dog", "label_map": None, "head": [500], "batch_size": 64, "epochs": 1},
        spec,
        Policy(30.0, 0.0, (1.0, 1.0), 0.5, 0),
        22_500,
        2_500,
        1,
        "Cat_Dog 224 px 22,500/2,500, densenet121 frozen + 1024-500-2, Adam, batch 64, 1 epoch",
        device,
        8 if device.type == "cpu" else None,
    )


def charrnn(raw: dict, device: torch.device) -> Job:
    p = params.entry(raw, "charrnn", "charrnn")
    p = type(p).model_validate(
        p.model_dump()
        | {"corpus": "anna", "hidden": 512, "dropout": 0.5, "seq_length": 100, "batch_size": 128, "lr": 0.001}
    )
    seed_everything(p.seed)
    vocab, chars = 83, 1_985_223  # anna.txt: 83 distinct characters
    model = build_model("charrnn", p, {"chars": [chr(32 + i) for i in range(vocab)]}).to(device)
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    gen, window = torch.Generator().manual_seed(0), p.batch_size * p.seq_length

    def codes(k: int) -> torch.Tensor:
        return torch.randint(0, vocab, (k * window + 1,), generator=gen).to(device)

    n_val = chars // 10  # the held-out tail
    per_epoch = lambda n: (n - 1) // p.batch_size // p.seq_length  # noqa: E731  (as pipeline.models.charrnn.batches)
    return Job(
        "anna.txt 1,985,223 chars, 10 % held out, LSTM 2x512, seq 100, batch 128, 20 epochs",
        lambda k: run_epoch(model, codes(k), p, optimizer),
        lambda k: run_epoch(model, codes(k), p, None),
        per_epoch(chars - n_val),
        per_epoch(n_val),
        20,
    )


def sentiment(raw: dict, device: torch.device) -> Job:
    p = params.entry(raw, "sentiment", "sentiment")
    p = type(p).model_validate(
        p.model_dump()
        | {"dataset": "course_reviews", "embedding_dim": 400, "hidden": 256, "dropout": 0.5, "lr": 0.001, "epochs": 4}
    )
    seed_everything(p.seed)
    vocab, seq = 74_074, 200  # the course's 74,072 words, + padding and unknown (pipeline.training.sentiment)
    model = build_model(
        "sentiment",
        p,
        {
            "vocab_size": vocab,
            "seq_length": seq,
            "classes": ["negative", "positive"],
            "binary": True,
            "probabilistic": True,
        },
    ).to(device)
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    shuffle, gen = torch.Generator().manual_seed(p.seed), torch.Generator().manual_seed(0)

    def data(k: int) -> Split:  # on the device, as pipeline.training.sentiment puts them
        return random_split(k * p.batch_size, (seq,), 2, gen, high=vocab, dtype=torch.int64, device=device)

    return Job(
        "reviews 20,000/2,500, embedding 400, LSTM 2x256, seq 200, batch 50, 4 epochs",
        lambda k: train_one_epoch(model, data(k), optimizer, p.batch_size, shuffle, BINARY, clip=p.clip),
        lambda k: evaluate(model, data(k), p.batch_size, BINARY),
        math.ceil(20_000 / p.batch_size),
        math.ceil(2_500 / p.batch_size),
        4,
    )


def style(raw: dict, device: torch.device) -> Job:
    from pipeline.models._torchvision import torchvision_model
    from pipeline.schema.style import StyleParams
    from pipeline.training.style import stylize

    p = params.entry(raw, "style", "style", StyleParams)
    p = type(p).model_validate(p.model_dump() | {"size": 400, "lr": 0.003})
    seed_everything(p.seed)
    vgg = torchvision_model("vgg19").features.to(device).eval().requires_grad_(False)
    gen = torch.Generator().manual_seed(0)
    # A square photo: the longer side is 400 px, so this is the most a course photo costs.
    content, style_img = (torch.rand(1, 3, 400, 400, generator=gen).to(device) for _ in range(2))

    return Job(
        "VGG19, 400x400 px, 2000 steps, Adam lr 0.003",  # each call first runs VGG on both photos: FIXED_COST
        lambda k: stylize(content, style_img, vgg, type(p).model_validate(p.model_dump() | {"steps": k})),
        None,
        2000,
        0,
        1,
    )


MODELS: dict[str, Callable[[dict, torch.device], Job]] = {
    "mlp": mlp,
    "fashion_mlp": fashion_mlp,
    "cnn": cnn,
    "transfer": transfer,
    "charrnn": charrnn,
    "sentiment": sentiment,
    "style": style,
}
