"""Catalog kinds the planner places work on but `compile` does not emit for yet (ES602 says why)."""

from edgespec.kinds.base import Unsupported

HOST = Unsupported("host", "edgespec does not emit CPU-only bundles for a host computer without its accelerator yet")
