"""The place check: a topic and a territory the routing index knows, and (for a message) the
topic offered there, since a region's own topics exist only on that region's territory."""

from __future__ import annotations

from tenancy.errors import FieldError, InvalidInput
from tenancy.routing.resolver import RoutingIndex


def check_place(routes: RoutingIndex, topic: str, territory: str, *, offered: bool = True) -> None:
    """InvalidInput naming ``topic`` or ``territory`` when either is unknown, or, with
    ``offered``, when a regional topic is asked for outside its region. Resolution asks
    without ``offered``: it explains why a topic goes nowhere there."""
    errors = []
    if topic not in routes.topic_category:
        errors.append(FieldError("topic", f"unknown topic {topic!r}"))
    if territory not in routes.parents:
        errors.append(FieldError("territory", f"unknown territory {territory}"))
    if offered and not errors and not routes.visible(topic, territory):
        errors.append(FieldError("topic", f"{topic!r} is not offered on territory {territory}"))
    if errors:
        raise InvalidInput(errors)
