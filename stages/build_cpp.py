"""Stage build_cpp: the C++ program that runs TorchScript exports (cpp/), built against the LibTorch
inside the installed torch wheel."""

from pipeline.core import cli
from pipeline.deployment import cpp


def main() -> None:
    args, _ = cli.arguments(__doc__, "program", ("source", "the CMake project (cpp/)"), ("out", "output: the program"))
    cpp.build(args.source, args.out)


if __name__ == "__main__":
    cli.run(main)
