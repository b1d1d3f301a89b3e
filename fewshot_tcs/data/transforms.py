"""Image transforms shared by every source and backbone."""

from __future__ import annotations

from PIL import Image


class ToRGB:
    """Any PIL image -> RGB; transparent pixels are composited on white (not black) like a viewer shows them."""

    def __call__(self, image: Image.Image) -> Image.Image:
        if image.mode == "RGB":
            return image
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")

    def __repr__(self) -> str:
        return "ToRGB()"
