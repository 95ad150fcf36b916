"""Stage style@<name>: style transfer of one content photo in the style of another, on VGG19."""

from pipeline.core import cli, params
from pipeline.schema.runtime import RuntimeParams
from pipeline.schema.style import StyleParams
from pipeline.training.engine.runner import Runner
from pipeline.training.style import run_style_transfer


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "name",
        ("photos", "folder of photos (download stage)"),
        ("vgg", "VGG19 backbone file"),
        ("image", "output: stylized PNG"),
        ("curve", "output: losses per step (CSV)"),
        ("metrics", "output: final losses (JSON)"),
    )
    p = params.entry(raw, "style", args.name, StyleParams)
    runtime = params.section(raw, "runtime", RuntimeParams)
    with Runner.start(f"style.{args.name}", p.device, p.seed, runtime, ranks=False) as runner:
        run_style_transfer(args.name, p, args.photos, args.vgg, args.image, args.curve, args.metrics, runner)


if __name__ == "__main__":
    cli.run(main)
