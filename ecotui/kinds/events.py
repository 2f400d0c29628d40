"""Events (core/v1): the newest 5000 are kept (order: when they last happened)."""
from __future__ import annotations

from ecotui.kube.models import Event, EventList
from ecotui.kube.render import EVENT_COLUMNS, event_cells, event_time_key

from .spec import GVR, Cap, KindSpec

SPEC = KindSpec(GVR("", "v1", "events"), "Event", "Events", namespaced=True, names=("events", "event", "ev"),
                list_type=EventList, item_type=Event, columns=EVENT_COLUMNS, cells=event_cells,
                capabilities=frozenset({Cap.DESCRIBE}), initial_rv="", max_items=5000,
                order_key=event_time_key,
                max_widths={"namespace": 20, "object": 48, "message": 100, "reason": 28})
