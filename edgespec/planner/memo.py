"""The planner's caches, in one place and by name.

Two lifetimes:
- `Memo`, one per planning process: results that depend only on a model (with the workload's
  pins and token counts, context.model_key) and a target or class of device, so every workload
  of that model shares them;
- `WorkloadMemo`, one per workload: results that also depend on the workload's data sources,
  rate or privacy.

The patterns never keep caches of their own: they ask the helpers in options.py and runs.py,
which read and fill these. Each cache says what its key is and what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def once(store: dict, key, make, *args):
    """store[key], made by make(*args) the first time it is asked for."""
    found = store.get(key)
    if found is None:
        found = store[key] = make(*args)
    return found


@dataclass
class Memo:
    """Per process, shared by every workload it plans."""

    compute: dict = field(default_factory=dict)  # (Device.compute_key, Work) -> estimate.Compute
    measured: dict = field(default_factory=dict)  # (target, Work naming a measured stage) -> estimate.Compute
    capability: dict = field(default_factory=dict)  # (task, format, Recipe, target) -> reasons
    memory: dict = field(default_factory=dict)  # (target, Work, GPUs, input bytes) -> reasons
    options: dict = field(default_factory=dict)  # (model key, precisions, has DLA) -> option figures
    remote_runs: dict = field(default_factory=dict)  # (model key, target) -> [runs.RemoteRun]
    serving: dict = field(default_factory=dict)  # (target, Work) -> serving options, or False: does not fit
    split_tails: dict = field(default_factory=dict)  # (model key, split index, target, Recipe) -> the cut
    aggregator_tails: dict = field(default_factory=dict)  # (model key, fraction) -> {target: tail}
    aggregators: dict = field(default_factory=dict)  # (model key, fraction, site's targets) -> [Device]
    kinds: dict = field(default_factory=dict)  # target kinds -> [Device] of those kinds, in spec order
    site_devices: dict = field(default_factory=dict)  # site -> [Device] of the site, by name
    intakes: dict = field(default_factory=dict)  # (model or variant, device class) -> formats.Intake or None
    fetches: dict = field(default_factory=dict)  # (model or variant, device class) -> types.Fetch or None
    # the joint placement's figures, for an edited spec planned again in the same process
    # (plan_again): valid while the workload's result is the very object it was made from
    usages: dict = field(default_factory=dict)  # workload -> (its chosen Candidate, joint.Usage)
    choices: dict = field(default_factory=dict)  # workload -> (its ranked candidates, [joint.Choice])
    solves: dict = field(default_factory=dict)  # a group's program (joint.program) -> its solution


@dataclass
class WorkloadMemo:
    """Per workload."""

    recipes: dict = field(default_factory=dict)  # target -> [options.Option]
    formats: dict = field(default_factory=dict)  # variant (None: the workload's stage) -> declared formats
    local_runs: list | None = None  # [runs.Local] per option of the first data source
    transfer: dict = field(default_factory=dict)  # (target, raw_data | features) -> reasons
    uplink: dict = field(default_factory=dict)  # (bytes, target, over the LAN) -> (p50, p95) of the leg
    runs: dict = field(default_factory=dict)  # Work -> runs.LocalRun on every data source
    sources_capable: dict = field(default_factory=dict)  # Recipe -> every data source's capability reasons
    checks: tuple | None = None  # the constraints.CHECKS that can break for this workload
