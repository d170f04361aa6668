"""Walking parent links: the one check for cycles in tenants, territories and categories."""

from __future__ import annotations

from collections.abc import Mapping


def cycle_through(node: str, parents: Mapping[str, str | None]) -> list[str] | None:
    """The path ``node → … → node`` when walking up from ``node`` comes back to it, else None
    (also when the walk enters a cycle that does not contain ``node``)."""
    path, up = [node], parents.get(node)
    while up is not None:
        if up == node:
            return [*path, node]
        if up in path or len(path) > len(parents):
            return None
        path.append(up)
        up = parents.get(up)
    return None
