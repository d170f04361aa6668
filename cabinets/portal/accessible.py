"""The version for people with impaired sight: large type (×1.5, ×2), high contrast and no
images, chosen with plain links (no script) and kept in a cookie; every page's ``<body>``
carries the classes the cookie names (``view_classes``, a template global)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from cabinets.web.rendering import templates

VIEW_COOKIE = "priemnaya_view"
SIZES = (100, 150, 200)
VIEW_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class View:
    accessible: bool = False
    size: int = 100
    contrast: bool = False
    images: bool = True

    @classmethod
    def parse(cls, value: str | None) -> View:
        """A cookie's view; anything not made here counts as the normal version."""
        parts = set((value or "").split("."))
        if "on" not in parts:
            return cls()
        size = next((s for s in SIZES if f"size{s}" in parts), 150)
        return cls(True, size, "contrast" in parts, "noimages" not in parts)

    @classmethod
    def chosen(cls, query: dict[str, str]) -> View:
        """The view a switch link asks for (``mode=normal`` turns the version off)."""
        if query.get("mode") == "normal":
            return cls()
        size = int(query["size"]) if query.get("size", "").isdigit() else 150
        return cls(
            True,
            size if size in SIZES else 150,
            query.get("contrast") == "1",
            query.get("images") != "0",
        )

    def cookie(self) -> str:
        if not self.accessible:
            return "off"
        parts = ["on", f"size{self.size}"]
        if self.contrast:
            parts.append("contrast")
        if not self.images:
            parts.append("noimages")
        return ".".join(parts)

    def classes(self) -> str:
        if not self.accessible:
            return ""
        found = ["view-accessible", f"view-size-{self.size}"]
        if self.contrast:
            found.append("view-contrast")
        if not self.images:
            found.append("view-noimages")
        return " ".join(found)

    def link(self, **changes: object) -> dict[str, str]:
        """The switch link's query for this view with ``changes``."""
        size = int(str(changes.get("size", self.size)))
        contrast = bool(changes.get("contrast", self.contrast))
        images = bool(changes.get("images", self.images))
        return {
            "size": str(size),
            "contrast": "1" if contrast else "0",
            "images": "1" if images else "0",
        }


def view_of(request: Request) -> View:
    return View.parse(request.cookies.get(VIEW_COOKIE))


templates.env.globals["view_of"] = view_of
