"""What every stage script shares: logging set-up and turning a PipelineError into a clean exit."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from pipeline.errors import PipelineError

log = logging.getLogger("pipeline")


def run(main: Callable[[], None]) -> None:
    """Run a stage's `main`; a PipelineError prints its message (no traceback) and exits 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        main()
    except PipelineError as err:
        log.error("%s", err)
        raise SystemExit(2) from None
