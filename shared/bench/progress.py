"""Progress bars (tqdm, from the `bench` extra) and one line per finished step; plain lines without tqdm."""

from __future__ import annotations

import sys
from typing import Any

try:
    from tqdm import tqdm
except ImportError:  # the harness runs without the bench extra (the smoke test does)
    tqdm = None


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing to draw."""

    def set_postfix_str(self, text: str) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class Reporter:
    """Draws bars when asked to (or on a terminal with `auto`), and always prints finished steps."""

    def __init__(self, mode: str = "auto") -> None:
        on_tty = sys.stderr.isatty()
        self.bars = tqdm is not None and (mode == "on" or (mode == "auto" and on_tty))

    def bar(self, total: int | None, desc: str, unit: str = "it") -> Any:
        """A progress bar of `total` steps (a no-op object when bars are off)."""
        if not self.bars:
            return _NoBar()
        return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False, file=sys.stderr,
                    dynamic_ncols=True)

    def line(self, text: str) -> None:
        """A line of the run's story on stderr (kept clear of any bar)."""
        if self.bars:
            tqdm.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)
