"""Registry of dataset sources: the upstream file names, their MD5 checksums, the parser that
reads them and facts the rest of the pipeline needs (kind, class names, whether an official
test split exists, whether a horizontal flip keeps an image's class).

Pure Python on purpose: the params validator imports this without paying for torch.
Where to download from (mirrors) is not here but in params.yaml, so a team can point at its own.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

DIGIT_CLASSES = tuple(str(d) for d in range(10))
COURSE_REPO = "https://raw.githubusercontent.com/udacity/deep-learning-v2-pytorch/master/"

# What a source holds; it decides which preparation stage and which models can use it.
IMAGE, TABULAR, CORPUS, REVIEWS, PHOTOS = "image", "tabular", "corpus", "reviews", "photos"


@dataclass(frozen=True)
class FileSpec:
    name: str
    md5: str | None  # None: no published checksum; params must give one to download it


@dataclass(frozen=True)
class Source:
    kind: str
    files: tuple[FileSpec, ...]
    parser: str = ""  # key of pipeline.data.formats.PARSERS ("" for photos, read by name)
    classes: tuple[str, ...] = ()  # () when the files name them (image folders)
    official_test: bool = False  # upstream ships a test split; otherwise normalize carves one out
    hflip_ok: bool = False  # a mirrored image still belongs to its class
    bundled_in: str | None = None  # installed package that ships the files (no download)
    bundled_dir: str = ""  # folder inside that package
    generator: str | None = None  # key of pipeline.data.generate.GENERATORS: made, not fetched
    folder: bool = False  # files are whatever a local folder holds (image_folder)
    homepage: str = ""

    @property
    def remote(self) -> bool:
        return self.bundled_in is None and self.generator is None and not self.folder

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
    # --- images ---
    # 1,797 real 8x8 handwritten digits (UCI optdigits test set) shipped inside scikit-learn.
    "sklearn_digits": Source(
        IMAGE, (FileSpec("digits.csv.gz", "9b335364a7bfd63947c7480a5bd51f2d"),), "digits_csv", DIGIT_CLASSES,
        bundled_in="sklearn", bundled_dir="datasets/data", homepage="https://archive.ics.uci.edu/dataset/80"),
    "mnist": Source(
        IMAGE, _idx(("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                     "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
        "idx", DIGIT_CLASSES, official_test=True, homepage="http://yann.lecun.com/exdb/mnist/"),
    "fashion_mnist": Source(
        IMAGE, _idx(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                     "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        "idx", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot"), official_test=True, hflip_ok=True,
        homepage="https://github.com/zalandoresearch/fashion-mnist"),
    "cifar10": Source(
        IMAGE, (FileSpec("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),), "cifar10",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        official_test=True, hflip_ok=True, homepage="https://www.cs.toronto.edu/~kriz/cifar.html"),
    # The course's transfer-learning image folders (train/<class>/*.jpg, test/<class>/*.jpg), zipped.
    # Udacity publishes no checksum for these zips: give one in download.<name>.checksums.
    "cat_dog": Source(
        IMAGE, (FileSpec("Cat_Dog_data.zip", None),), "image_folder_zip", official_test=True, hflip_ok=True,
        homepage="https://s3.amazonaws.com/content.udacity-data.com/nd089/Cat_Dog_data.zip"),
    "flowers": Source(
        IMAGE, (FileSpec("flower_data.zip", None),), "image_folder_zip", official_test=True, hflip_ok=True,
        homepage="https://s3.amazonaws.com/content.udacity-data.com/nd089/flower_data.zip"),
    # Any folder laid out like them; copied from download.<name>.local_dir.
    "image_folder": Source(IMAGE, (), "image_folder_dir", official_test=True, hflip_ok=True, folder=True),
    # --- tables ---
    # 569 breast-cancer biopsies, 30 features, shipped inside scikit-learn; positive class: malignant.
    "sklearn_breast_cancer": Source(
        TABULAR, (FileSpec("breast_cancer.csv", "36ef90874abc87f4b4a8554dcc17cf6f"),), "breast_cancer_csv",
        ("benign", "malignant"), bundled_in="sklearn", bundled_dir="datasets/data",
        homepage="https://archive.ics.uci.edu/dataset/17"),
    # The course's logistic-regression lesson: 400 graduate admissions (admit, gre, gpa, rank).
    "student_admissions": Source(
        TABULAR, (FileSpec("student_data.csv", "db0f7fa12ef7e0a3b10ba856bdc21439"),), "admissions_csv",
        ("rejected", "admitted"), homepage=COURSE_REPO + "intro-neural-networks/student-admissions/"),
    # The course's perceptron lesson: 100 points in the plane with a 0/1 label.
    "perceptron_points": Source(
        TABULAR, (FileSpec("data.csv", "af399eefcf420d070d79d38eef669637"),), "points_csv", ("0", "1"),
        homepage=COURSE_REPO + "intro-neural-networks/gradient-descent/"),
    # --- text for the character-level LSTM ---
    # Python's own help topics (the text behind `help('FOR')`), shipped with every Python. It changes
    # with the Python version, so it has no fixed checksum; its MD5 is recorded in the vocabulary file.
    "pydoc_topics": Source(CORPUS, (FileSpec("topics.py", None),), "pydoc_topics", bundled_in="pydoc_data"),
    # The course's corpus: Tolstoy's Anna Karenina.
    "anna_karenina": Source(
        CORPUS, (FileSpec("anna.txt", "66af58357c81207ddfba09600dbac1a6"),), "plain_text",
        homepage=COURSE_REPO + "recurrent-neural-networks/char-rnn/data/"),
    # --- labeled reviews for the sentiment LSTM ---
    # No labeled review text ships with the packages: these are generated (see pipeline/data/generate.py).
    "synthetic_reviews": Source(
        REVIEWS, (FileSpec("reviews.txt", None), FileSpec("labels.txt", None)), "reviews_txt",
        ("negative", "positive"), generator="synthetic_reviews"),
    # The course's 25,000 IMDB reviews, one per line; no published checksum (give one in params).
    "course_reviews": Source(
        REVIEWS, (FileSpec("reviews.txt", None), FileSpec("labels.txt", None)), "reviews_txt",
        ("negative", "positive"), homepage=COURSE_REPO + "sentiment-rnn/data/"),
    # The Large Movie Review Dataset (Maas et al. 2011), official train and test halves.
    "imdb": Source(
        REVIEWS, (FileSpec("aclImdb_v1.tar.gz", "7c2ac02c03563afcf9b574c7e56c153a"),), "aclimdb",
        ("negative", "positive"), official_test=True, homepage="https://ai.stanford.edu/~amaas/data/sentiment/"),
    # --- photos for style transfer ---
    "sklearn_sample_images": Source(
        PHOTOS, (FileSpec("china.jpg", "1c6116212e35016fa7c3b67c81ec1335"),
                 FileSpec("flower.jpg", "5896f0d20066ea484089d086cd8e5a8d")),
        bundled_in="sklearn", bundled_dir="datasets/images"),
    # The course's content and style images.
    "course_style_images": Source(
        PHOTOS, (FileSpec("octopus.jpg", "ca3277672c9a71ca4f49c89a13f9d73e"),
                 FileSpec("hockney.jpg", "c23f4110de4c336b9ed04a89d98b9c0d")),
        homepage=COURSE_REPO + "style-transfer/images/"),
}
