"""Stage report: one self-contained HTML page (reports/index.html) with every model's metrics beside
the course's figures, its learning curves and pictures, the augmentation previews, the sampled text
and the deployment checks. The models are params.yaml's entries; each option names a folder of
per-model files (dvc.yaml lists the same folders as the stage's deps)."""

from pathlib import Path

from pipeline.core import cli
from pipeline.report.page import Inputs, write_report

FOLDERS = (
    ("metrics", "<model>.json for every model (evaluate/style stages)"),
    ("deploy", "<model>.json: the exports run outside PyTorch (deploy stages)"),
    ("gates", "<gate model>.json for every gates.models entry (gates stages)"),
    ("curves", "<model>/*.csv: learning curves (training stages)"),
    ("style-curves", "<style model>.csv: losses per step (style stages)"),
    ("pictures", "<model>/*.png and <model>/samples.txt"),
    ("gate-plots", "<gate model>.png (gates stages)"),
    ("filters", "*.png: the hand-made kernels (filters stage)"),
    ("augmented", "<dataset>/preview.png (augment stages)"),
)


def main() -> None:
    options = [(option, f"folder: {what}") for option, what in FOLDERS] + [("out", "output: the page (HTML)")]
    args, raw = cli.arguments(__doc__, None, *options)
    inputs = Inputs(**{key: Path(getattr(args, key)) for key in (option.replace("-", "_") for option, _ in FOLDERS)})
    write_report(raw, inputs, args.out)


if __name__ == "__main__":
    cli.run(main)
