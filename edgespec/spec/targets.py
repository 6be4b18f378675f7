"""What a target's fields mean once defaults apply (shared by the planner, validation and emit)."""

from __future__ import annotations

from edgespec import catalog
from edgespec.spec.models import Target


def device_count(target: Target) -> int | None:
    """How many of a device target exist (default 1); a remote target's fixed pool size, or None
    when the pool autoscales."""
    if target.count is not None:
        return target.count
    entry = catalog.hardware().get(target.hardware)
    return 1 if entry is None or entry["role"] == "device" else None


def region(target: Target) -> str | None:
    """A remote target's region: declared, or derived from its zone."""
    if target.region:
        return target.region
    return catalog.region_of_zone(target.zone) if target.zone else None


def orchestrator(target: Target) -> str:
    """How an aws-ec2 or aws-wavelength pool is deployed: "ec2" (the default: a CloudFormation stack
    of instances behind the gateway) or "kubernetes" (manifests for an EKS cluster); one, never both."""
    return target.orchestrator or "ec2"
