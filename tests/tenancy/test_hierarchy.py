"""Walking parent links: the nodes proven outside any cycle, and the cycles named."""

from __future__ import annotations

from tenancy.hierarchy import cycle_through, reaching_a_root


def test_only_the_nodes_whose_walk_ends_at_a_root_are_proven_outside_a_cycle() -> None:
    parents = {
        "rf": None,
        "r1": "rf",
        "school": "r1",
        "orphan": "unknown",  # a parent not listed ends the walk, as it does for cycle_through
        "a": "b",
        "b": "a",
        "under-a": "a",  # enters a cycle it is not part of
    }
    proven = reaching_a_root(parents)
    assert {"rf", "r1", "school", "orphan"} <= proven
    assert not {"a", "b", "under-a"} & proven
    assert all(cycle_through(node, parents) is None for node in proven)
    assert cycle_through("a", parents) == ["a", "b", "a"]
    assert cycle_through("under-a", parents) is None
