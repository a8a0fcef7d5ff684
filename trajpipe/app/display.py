"""``--show``: an OpenCV window when a display exists; otherwise says so once and stays headless."""

from __future__ import annotations

import os
import sys


class Display:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        if enabled and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            print("trajpipe: --show needs a display and none is available; continuing headless", file=sys.stderr)
            self.enabled = False

    def show(self, image) -> bool:
        """Shows ``image``; returns False when the user asked to quit (q or Esc)."""
        if not self.enabled:
            return True
        import cv2

        try:
            cv2.imshow("trajpipe", image)
            return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)
        except cv2.error as exc:
            print(f"trajpipe: cannot open a window ({str(exc).splitlines()[0]}); continuing headless", file=sys.stderr)
            self.enabled = False
            return True

    def __enter__(self) -> "Display":
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            import cv2

            cv2.destroyAllWindows()
