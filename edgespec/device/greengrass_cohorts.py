"""Put a Greengrass fleet's devices into the rollout's cohorts: one static thing group per stage.

A canary must stay small for its soak time while the rest of the fleet keeps the old package, and
a Greengrass deployment reaches a whole thing group. So each rollout stage gets a thing group of
its own, holding the devices that stage adds (stages 1%, 10%, 100% of 1,200 devices: cohorts of
12, 108 and 1,080), and the rollout deploys to them one after the other. The groups are disjoint,
because a device in two groups that deploy different versions of one component fails its
deployment (the nucleus resolves version requirements across all of a device's groups:
https://docs.aws.amazon.com/greengrass/v2/developerguide/manage-deployments.html), and the fleet's
own group must then no longer deploy this component.

Membership is permanent: Greengrass does not remove a group's components from a device that
leaves it, so an assigned device is never moved. Devices new to the fleet fill the cohorts that are
below their size, in the order of the SHA-256 of their thing names (deterministic, spread across
sites), and the rest go to the last cohort.

    python3 cohorts.py arn:aws:iot:REGION:ACCOUNT:thinggroup/FLEET [--dry-run]

Standard library only; the AWS CLI (v1 or v2) must be on PATH with credentials.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def sizes(percents: list[float], fleet: int) -> list[int]:
    """Devices per cohort: stage i covers ceil(percent_i % of the fleet) devices in all, the first
    at least one (a canary of no device proves nothing) and the last the whole fleet."""
    bounds, previous = [], 0
    for i, percent in enumerate(percents):
        bound = fleet if i == len(percents) - 1 else min(fleet, math.ceil(percent * fleet / 100 - 1e-9))
        bound = max(bound, previous, 1 if fleet else 0)
        bounds.append(bound)
        previous = bound
    return [b - a for a, b in zip([0, *bounds], bounds)]


def group_name(fleet_group: str, cohort: int) -> str:
    """The thing group of cohort `cohort` (1-based) of the fleet group `fleet_group` (the name rule
    rollback.json carries as each cohort's "group", with {fleet} for the fleet group's name)."""
    return f"{fleet_group}-cohort-{cohort}"


def assign(fleet: list[str], members: list[list[str]], percents: list[float]) -> tuple[list[list[str]], list[str]]:
    """(devices to add to each cohort, devices in a cohort that left the fleet). `members` holds
    each cohort's current devices; nobody already in a cohort moves."""
    in_fleet = set(fleet)
    cohort_of = {thing: i for i, group in enumerate(members) for thing in group}
    strays = sorted(t for t in cohort_of if t not in in_fleet)
    counts = [sum(1 for t in group if t in in_fleet) for group in members]
    targets = sizes(percents, len(in_fleet))
    added: list[list[str]] = [[] for _ in percents]
    new = sorted((t for t in in_fleet if t not in cohort_of), key=lambda t: (hashlib.sha256(t.encode()).hexdigest(), t))
    for thing in new:
        i = next((i for i in range(len(percents) - 1) if counts[i] < targets[i]), len(percents) - 1)
        added[i].append(thing)
        counts[i] += 1
    return added, strays


def aws(*args: str) -> dict:
    result = subprocess.run(["aws", "iot", *args, "--output", "json"], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"aws iot {args[0]} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


def things(group: str) -> list[str]:
    return aws("list-things-in-thing-group", "--thing-group-name", group).get("things") or []


def main(argv: list[str] | None = None) -> int:
    settings = json.loads((HERE / "rollback.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fleet_group_arn", help="the thing group of the whole fleet")
    parser.add_argument("--dry-run", action="store_true", help="print the assignment, change nothing")
    args = parser.parse_args(argv)
    if ":thinggroup/" not in args.fleet_group_arn:
        parser.error("expected a thing group ARN (arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME)")
    fleet_group = args.fleet_group_arn.rsplit("/", 1)[1]
    percents = [c["percent"] for c in settings["cohorts"]]
    names = [c["group"].format(fleet=fleet_group) for c in settings["cohorts"]]
    if not args.dry_run:
        for name in names:  # idempotent: an existing group with the same properties is returned as it is
            aws("create-thing-group", "--thing-group-name", name)
    members = [[] if args.dry_run else things(name) for name in names]
    added, strays = assign(things(fleet_group), members, percents)
    for name, group, new in zip(names, members, added):
        print(f"{name}: {len(group)} devices, {len(new)} added")
        for thing in new:
            if not args.dry_run:
                aws("add-thing-to-thing-group", "--thing-group-name", name, "--thing-name", thing)
    for thing in strays:
        print(
            f"{thing} is in a cohort but no longer in {fleet_group}; it keeps its cohort's components "
            "until it is removed from that group",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
