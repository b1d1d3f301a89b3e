"""The error raised when pretrained weights cannot be had, worded so the user knows what to do next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# How each interface spells the settings a fix names; None: that interface has no such setting, so the fix
# is left out. Fix texts hold ``{weights}``, ``{pretrained}``, ``{cache_dir}`` and ``{source}``.
INTERFACES: dict[str, dict[str, str | None]] = {
    "create_backbone": {
        "weights": "weights=",
        "pretrained": "pretrained=False",
        "cache_dir": "cache_dir=",
        "source": "source=",
    },
    "fit": {"weights": "teacher_weights=", "pretrained": "teacher_pretrained=False", "cache_dir": None, "source": None},
    "benchmark": {"weights": "weights=", "pretrained": "pretrained=False", "cache_dir": None, "source": None},
    "cli": {"weights": "--weights ", "pretrained": None, "cache_dir": None, "source": None},
}


class WeightsNotFoundError(RuntimeError):
    """Pretrained weights for a backbone are not on this machine and could not be fetched.

    The message names the backbone, every place tried and the fixes, in the words of the interface the user
    called (:meth:`for_interface`: ``teacher_weights=`` from ``fit``, ``--weights`` from the CLI).
    """

    def __init__(self, backbone: str, tried: Sequence[str], fixes: Sequence[str], interface: str = "create_backbone"):
        self.backbone, self.tried, self.fixes, self.interface = backbone, list(tried), list(fixes), interface
        super().__init__(self._render(INTERFACES[interface]))

    def _render(self, names: Mapping[str, str | None]) -> str:
        def spelled(texts: Sequence[str]) -> list[str]:
            found = []
            for text in texts:
                used = [key for key in names if "{" + key + "}" in text]
                if all(names[key] is not None for key in used):
                    for key in used:
                        text = text.replace("{" + key + "}", names[key])
                    found.append(text)
            return found

        lines = [f"no pretrained weights for backbone {self.backbone!r}.", "Tried:"]
        lines += [f"  - {item}" for item in spelled(self.tried)]
        lines += ["Fix (any one):"]
        lines += [f"  - {item}" for item in spelled(self.fixes)]
        return "\n".join(lines)

    def for_interface(self, interface: str) -> WeightsNotFoundError:
        """The same error in the words of ``interface`` (a key of INTERFACES)."""
        return WeightsNotFoundError(self.backbone, self.tried, self.fixes, interface)

    def __reduce__(self):
        return type(self), (self.backbone, self.tried, self.fixes, self.interface)


def weights_not_found(backbone: str, tried: Sequence[str], fixes: Sequence[str]) -> WeightsNotFoundError:
    """A :class:`WeightsNotFoundError` naming the backbone, every place tried and why it failed, and the fixes
    (texts with ``{weights}``-style placeholders, see INTERFACES)."""
    fixes = [*fixes, "{pretrained} for randomly initialised weights of the same architecture"]
    return WeightsNotFoundError(backbone, tried, fixes)


def reason(error: BaseException) -> str:
    """``ErrorType: first line of the message``, to quote a low-level failure inside a user-facing message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
