"""Small files in the exact upstream formats (IDX gz, CIFAR-10 python tar.gz, image-folder zips,
aclImdb tarballs), made from real images and text."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def real_digits(size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real handwritten digits, enlarged to size x size uint8 like MNIST."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = [
        np.asarray(Image.fromarray((im * 255 / 16).astype(np.uint8)).resize((20, 20), Image.BILINEAR))
        for im in d.images
    ]
    out = np.zeros((len(imgs), size, size), np.uint8)
    pad = (size - 20) // 2
    out[:, pad : pad + 20, pad : pad + 20] = np.stack(imgs)
    return out, d.target.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200) -> dict[str, str]:
    """The four MNIST files, real digits inside; returns {file name: md5}."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = real_digits()
    parts = {
        "train": (images[:n_train], labels[:n_train]),
        "t10k": (images[n_train : n_train + n_test], labels[n_train : n_train + n_test]),
    }
    for prefix, (x, y) in parts.items():
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return {p.name: md5(p) for p in folder.iterdir()}


def _cifar_pickle(obj: dict) -> bytes:
    # Upstream batches name numpy's pre-2.0 module; keep that, as the real files do.
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def make_cifar_archive(folder: Path, per_batch: int = 40) -> dict[str, str]:
    """cifar-10-python.tar.gz with the upstream members, holding 32x32 patches of real photos."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:

        def add(name: str, obj: dict) -> None:
            data = _cifar_pickle(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            patches, labels = [], []
            for _ in range(per_batch):
                photo = photos[rng.integers(len(photos))]
                y, x = rng.integers(0, photo.shape[0] - 32), rng.integers(0, photo.shape[1] - 32)
                patches.append(photo[y : y + 32, x : x + 32].transpose(2, 0, 1).reshape(-1))
                labels.append(int(rng.integers(10)))
            add(
                name,
                {
                    b"batch_label": name.encode(),
                    b"labels": labels,
                    b"data": np.stack(patches).astype(np.uint8),
                    b"filenames": [f"{i}.png".encode() for i in range(per_batch)],
                },
            )
        add(
            "batches.meta",
            {
                b"label_names": [
                    b"airplane",
                    b"automobile",
                    b"bird",
                    b"cat",
                    b"deer",
                    b"dog",
                    b"frog",
                    b"horse",
                    b"ship",
                    b"truck",
                ],
                b"num_cases_per_batch": per_batch,
            },
        )
    path = folder / "cifar-10-python.tar.gz"
    path.write_bytes(buf.getvalue())
    return {path.name: md5(path)}


def jpeg_bytes(image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def image_folder_files(photos: dict[str, Path], per_class: int = 4) -> dict[str, bytes]:
    """{relative path: JPEG bytes} laid out as train/<class>/ and test/<class>/, each class made of
    crops and flips of one real photo."""
    from PIL import Image, ImageOps

    files = {}
    for cls, path in photos.items():
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            for i in range(per_class + 2):
                crop = img.crop((i * w // 20, i * h // 20, w - i * w // 30, h - i * h // 30))
                crop = ImageOps.mirror(crop) if i % 2 else crop
                split = "train" if i < per_class else "test"
                files[f"{split}/{cls}/{cls}.{i}.jpg"] = jpeg_bytes(crop)
    return files


def write_zip(path: Path, files: dict[str, bytes], root: str = "") -> str:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in sorted(files.items()):
            zf.writestr(root + rel, data)
    return md5(path)


def write_aclimdb(path: Path, reviews: dict[str, list[tuple[str, int]]]) -> str:
    """aclImdb_v1.tar.gz with aclImdb/<split>/<pos|neg>/<id>_<stars>.txt members."""
    with tarfile.open(path, "w:gz") as tar:
        for split, rows in reviews.items():
            for i, (text, label) in enumerate(rows):
                data = text.encode()
                info = tarfile.TarInfo(f"aclImdb/{split}/{'pos' if label else 'neg'}/{i}_{8 if label else 2}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return md5(path)


def png(path: Path):
    """The PNG at `path`, checked to be a complete, valid PNG file, loaded (a PIL image)."""
    from PIL import Image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    image = Image.open(path)
    image.load()
    return image
