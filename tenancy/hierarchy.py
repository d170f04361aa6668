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


def reaching_a_root(parents: Mapping[str, str | None]) -> set[str]:
    """The nodes whose walk up ends at a root (or at a parent not in ``parents``): none of
    them is in a cycle. One pass for all of them, where ``cycle_through`` on each would walk
    a national hierarchy's 200,000 nodes up to the root one by one."""
    done: set[str] = set()
    for node in parents:
        path: list[str] = []
        seen: set[str] = set()
        up: str | None = node
        while up is not None and up not in done:
            if up in seen:
                break  # a cycle: cycle_through names it
            seen.add(up)
            path.append(up)
            up = parents.get(up)
        else:
            done.update(path)
    return done
