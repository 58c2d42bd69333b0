"""A progress bar for fit(): tqdm (notebook or terminal, via tqdm.auto) if installed, else one
line of text on a terminal; nothing for runs shorter than PROGRESS_DELAY seconds."""

from __future__ import annotations

import sys
import time

__all__ = ["progress_bar", "PROGRESS_DELAY"]

PROGRESS_DELAY = 1.0   # seconds: shorter runs show no progress bar at all


class TextProgress:
    """One line on a terminal, rewritten at most twice a second; nothing when not a terminal."""

    def __init__(self, total: int, description: str, delay: float) -> None:
        self.total, self.description, self.delay, self.count = total, description, delay, 0
        self.start = self.last = time.perf_counter()
        self.shown = False
        self.postfix = ""
        self.stream = sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if self.enabled and now - self.start >= self.delay and (
                now - self.last >= 0.5 or self.count == self.total):
            self.last = now
            self.shown = True
            self.stream.write(f"\r{self.description}: {self.count}/{self.total} "
                              f"[{now - self.start:.1f}s] {self.postfix}  ")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


class NoProgress:
    """progress=False: the same calls, doing nothing."""

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(enabled: bool, total: int, description: str, unit: str = "epoch"):
    """An object with set_postfix_str(text), update(n) and close(), as tqdm's."""
    if not enabled:
        return NoProgress()
    try:
        import tqdm.std
    except ImportError:
        return TextProgress(total, description, PROGRESS_DELAY)
    # In Jupyter, tqdm's notebook bar needs ipywidgets; without it tqdm.auto would only warn
    # and draw the text bar anyway, so take the text bar directly.
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = tqdm.std.tqdm
    return tqdm(total=total, desc=description, unit=unit, delay=PROGRESS_DELAY,
                leave=True, dynamic_ncols=True)
