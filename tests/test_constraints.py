"""Each constraint on its own: the reason it gives, and that it holds when it should."""

from __future__ import annotations

import pytest
import yaml

from edgespec.load import load_bytes
from edgespec.planner import constraints, device, estimate
from edgespec.planner.context import context
from edgespec.planner.types import Draft, Estimates, Recipe, spell
from edgespec.spec.models import Spec, Target
from edgespec.validate import validate
from tests.planner_helpers import model, run, spec


def dev(name: str, hardware: str, **fields) -> device.Device:
    return device.resolve(name, Target.model_validate({"hardware": hardware, **fields}))


def plan_of(doc: dict):
    return run(doc)[0].workloads["w"]


def ctx_for(workload: dict, targets: dict | None = None):
    targets = targets or {"cam": {"hardware": "jetson-orin-nx-16gb", "site": "a", "jurisdiction": "us"}}
    doc = spec({"m": model()}, targets, {"w": {"model": "m", "data_source": ["cam"], **workload}})
    s = Spec.model_validate(doc)
    devices = {n: device.resolve(n, t) for n, t in s.targets.items()}
    return context(s, "w", devices)


def finished(ctx, estimates: Estimates, *, local_answer: bool) -> list:
    """The reasons constraints.finish gives a candidate with these estimates and no other facts."""
    return list(constraints.finish(ctx, Draft("on-device", (), estimates, local_answer)).reasons)


def est(p50=10.0, p95=12.0, accuracy=0.9, drop=0.0, utilisation=0.1) -> Estimates:
    return Estimates(p50, p95, p50, 0.0, accuracy, drop, 1.0, 1.0, 0.0, None, utilisation=utilisation)


def test_capability():
    coral = dev("c", "coral-usb")
    assert constraints.capability("image-classification", ("tflite",), Recipe("int8"), coral) == []
    assert (
        "runs int8, not fp16" in constraints.capability("image-classification", ("tflite",), Recipe("fp16"), coral)[0]
    )
    assert (
        "does not run text-generation"
        in constraints.capability("text-generation", ("tflite",), Recipe("int8"), coral)[0]
    )
    assert "cannot load coreml" in constraints.capability("image-classification", ("coreml",), Recipe("int8"), coral)[0]
    nano = dev("n", "jetson-orin-nano-8gb")
    assert (
        "has no DLA"
        in constraints.capability("image-classification", ("onnx",), Recipe("int8", accelerator="dla"), nano)[0]
    )


def test_memory():
    phone = dev("p", "apple-a15")  # 4 GB x 50% usable
    assert constraints.memory(phone, estimate.Work(1, 0.9e9, "fp16"), 1e6) == []
    (reason,) = constraints.memory(phone, estimate.Work(1, 1e9, "fp32"), 1e6)
    assert reason.startswith("memory: needs 4.00 GB") and "2.00 GB usable" in reason


@pytest.mark.parametrize(
    "dest_fields,level",
    [
        ({"hardware": "jetson-agx-orin-64gb", "site": "a"}, "site"),
        ({"hardware": "aws-ec2", "region": "us-east-1"}, "region"),
        ({"hardware": "aws-ec2", "region": "eu-west-1"}, "anywhere"),
        ({"hardware": "cloudflare-workers-ai"}, "anywhere"),
    ],
)
def test_privacy_distance(dest_fields, level):
    source = dev("cam", "jetson-orin-nx-16gb", site="a", jurisdiction="us")
    assert constraints.distance(source, dev("x", **dest_fields)) == level
    assert constraints.distance(source, source) == "device"


def test_privacy_and_residency_reasons():
    ctx = ctx_for({"latency": {"p95_ms": 100}, "privacy": {"raw_data": "site", "residency": ["us"]}})
    server = dev("srv", "jetson-agx-orin-64gb", site="a")
    eu = dev("eu", "aws-ec2", region="eu-west-1")
    workers = dev("wk", "cloudflare-workers-ai")
    assert constraints.transfer_allowed(ctx, server, "raw_data") == []
    reasons = constraints.transfer_allowed(ctx, eu, "raw_data")
    # a target in a known country is named by it, never just "anywhere"
    assert reasons[0] == "privacy: raw_data=site forbids sending input from cam to eu (in IE, outside US)"
    assert reasons[1] == "residency: eu is in IE; residency is us"  # eu-west-1 is Ireland
    assert constraints.transfer_allowed(ctx, workers, "features")[0].startswith("residency: wk (Workers AI)")


def test_latency_throughput_accuracy_offline():
    ctx = ctx_for(
        {
            "latency": {"p50_ms": 8, "p95_ms": 20, "p99_ms": 13},
            "throughput": {"rps": 50},
            "accuracy": {"max_drop": 0.01, "min": 0.85},
            "offline": "required",
        }
    )
    assert finished(ctx, est(p50=5, p95=6), local_answer=True) == []
    reasons = finished(ctx, est(p50=10, p95=12, accuracy=0.84, drop=0.06, utilisation=0.9), local_answer=False)
    assert [spell(r) for r in reasons] == [
        "latency: p50 10.0 ms > 8 ms (from cam)",
        "latency: p99 14.0 ms > 13 ms (from cam)",
        "throughput: 50 rps keeps cam 90% busy (limit 70%)",
        "accuracy: drop 0.060 > max_drop 0.01",
        "accuracy: 0.840 < min 0.85",
        "offline: offline=required, but this pattern cannot answer without the uplink",
    ]
    p99 = finished(ctx, est(p50=5, p95=10), local_answer=True)  # p99 ~ p95 + (p95 - p50) = 15
    assert [spell(r) for r in p99] == ["latency: p99 15.0 ms > 13 ms (from cam)"]


def test_power_budget():
    cam = dev("cam", "jetson-orin-nano-8gb", power_mode="15W", power_budget_w=3)
    run = estimate.Compute(40.0, 48.0, "compute")
    assert constraints.draw_w(cam, 10 * 40.0 / 1000) == pytest.approx(15 * 0.4)  # 15 W while busy, 40% of the time
    reason = constraints.power(10, cam, run)
    assert spell(reason) == "power: 6.00 W average on cam at 10 rps (40% busy at 15 W, 15W mode) > power_budget_w 3 W"
    assert constraints.power(5, cam, run) is None  # 15 W x 20% = 3 W: exactly the budget holds
    # without a declared rate there is nothing to average over: the draw while busy is compared
    busy = constraints.power(0.0, cam, run)
    assert spell(busy) == (
        "power: cam draws 15 W while busy (15W mode) > power_budget_w 3 W (no throughput.rps to average over)"
    )
    roomy = dev("cam", "jetson-orin-nano-8gb", power_mode="15W", power_budget_w=15)
    assert constraints.power(0.0, roomy, run) is None
    # a device without a budget, or beside a budgeted one, is not checked; a busy share caps at 100%
    free = dev("free", "jetson-orin-nano-8gb", power_mode="15W")
    assert constraints.power(100, free, run) is None
    assert constraints.draw_w(cam, 100 * 40.0 / 1000) == 15
    assert constraints.draw_w(cam, None) == 15  # no rate: the power while busy
    coral = dev("lane", "coral-usb", power_budget_w=0.5)
    other = constraints.power(10, coral, estimate.Compute(30.0, 33.0, "spill"))
    assert spell(other) == "power: 0.60 W average on lane at 10 rps (30% busy at 2 W) > power_budget_w 0.5 W"


def test_a_lower_power_mode_draws_less_on_average():
    """A lower mode runs slower (peak x (W / W_ref) ** 0.6) but draws less while busy, so the average
    draw of the same work falls as W ** 0.4: a mode can be the way into a budget."""
    work = estimate.Work(20, 25e6, "int8")
    draws = {}
    for mode in ("7W", "15W", "MAXN_SUPER"):
        d = dev("cam", "jetson-orin-nano-8gb", power_mode=mode)
        draws[mode] = constraints.draw_w(d, 5 * estimate.compute(d, work).p50_ms / 1000)
    assert draws["7W"] < draws["15W"] < draws["MAXN_SUPER"]


def _budgeted(budget: float | None, *, cloud: bool = False) -> dict:
    targets = {
        "cam": {
            "hardware": "jetson-orin-nano-8gb",
            "power_mode": "15W",
            "count": 50,
            "jurisdiction": "us",
            "network": {"rtt_ms": 40, "uplink_mbps": 20},
        }
    }
    if budget is not None:
        targets["cam"]["power_budget_w"] = budget
    if cloud:
        targets["cloud"] = {
            "hardware": "aws-ec2",
            "region": "us-east-1",
            "instance_type": "g6.xlarge",
            "count": 4,
            "network": {"rtt_ms": 40},
        }
    return spec(
        {"det": model("object-detection", "25M", 60, 0.6)},
        targets,
        {
            "w": {
                "model": "det",
                "data_source": ["cam"],
                "latency": {"p95_ms": 300},
                "throughput": {"rps": 10},
                "objective": "accuracy",
                "optimize": {"prune": "auto"},
            }
        },
    )  # pruned weights consented to


def _draw(c) -> float:
    return 15 * 10 * c.estimates.p50_ms / 1000  # the camera's 15 W while busy x its busy share at 10 rps


def test_the_power_budget_picks_the_recipe():
    """Without a budget the most accurate recipe wins (fp32); a 3 W budget rules out the recipes
    that keep the camera busy too long, each with its reason, and the most accurate of the rest wins."""
    assert plan_of(_budgeted(None)).chosen.placements[0].recipe == Recipe("fp32")
    wp = plan_of(_budgeted(3))
    assert wp.chosen.pattern == "on-device" and wp.chosen.placements[0].recipe.precision != "fp32"
    for c in wp.candidates:
        over = _draw(c) > 3
        assert [r for r in c.reasons if r.startswith("power: ")] == (
            [
                f"power: {_draw(c):.2f} W average on cam at 10 rps ({_draw(c) / 15:.0%} busy at 15 W, 15W mode) "
                "> power_budget_w 3 W"
            ]
            if over
            else []
        ), c.key
    feasible = [c for c in wp.candidates if c.feasible]
    assert feasible and wp.chosen.estimates.accuracy == max(c.estimates.accuracy for c in feasible)


def test_a_budget_no_recipe_meets_sends_the_work_off_the_device():
    wp = plan_of(_budgeted(0.5, cloud=True))
    assert wp.chosen.pattern == "cloud"
    on_device = [c for c in wp.candidates if c.pattern == "on-device"]
    assert on_device and all(c.reasons[0].startswith("power: ") for c in on_device)
    lowest = min(_draw(c) for c in on_device)  # the recipe that comes closest
    assert 0.5 < lowest < 1.5
    _, diagnostics = run(_budgeted(0.5))  # and with nowhere else to go: ES501 names the budget
    (es501,) = [d for d in diagnostics if d.code == "ES501"]
    assert f"on-device: power: {lowest:.2f} W average on cam at 10 rps" in es501.message


def test_the_budget_applies_to_every_pattern_that_runs_on_the_device():
    """split's head, a cascade's small tier and a federated device's share run on the data source:
    all are checked; the remote tier and the site aggregator are not the budgeted device."""
    doc = spec(
        {
            "det": model(
                "object-detection",
                "25M",
                60,
                0.6,
                split_points=[{"name": "neck", "flops_fraction": 0.4, "activation_bytes": "200KB"}],
                variants={"det-s": {"params": "5M", "gflops": 12, "accuracy": {"value": 0.5}}},
            )
        },
        {
            "cam": {
                "hardware": "jetson-orin-nano-8gb",
                "power_mode": "15W",
                "count": 50,
                "site": "a",
                "jurisdiction": "us",
                "power_budget_w": 0.05,
                "network": {"rtt_ms": 40, "uplink_mbps": 20},
            },
            "agg": {"hardware": "jetson-agx-orin-64gb", "site": "a"},
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6.xlarge",
                "count": 40,
                "network": {"rtt_ms": 40},
            },
        },
        {
            "w": {
                "model": "det",
                "data_source": ["cam"],
                "latency": {"p95_ms": 500},
                "throughput": {"rps": 10},
                "escalation": {"to": "cloud", "confidence_below": 0.5},
            }
        },
    )
    p, _ = run(doc)
    wp = p.workloads["w"]
    assert wp.chosen.pattern == "cloud"
    for pattern in ("on-device", "split", "cascade", "federated"):
        estimated = [c for c in wp.candidates if c.pattern == pattern and c.estimates is not None]
        assert estimated, pattern
        for c in estimated:
            (reason,) = [r for r in c.reasons if r.startswith("power: ")]
            assert "average on cam at 10 rps" in reason and "agg" not in reason


def test_a_power_budget_is_summed_over_workloads():
    """Each workload fits the PoE budget alone, not together: with a cloud tier one of them moves
    there; without one, no joint placement exists and ES504 names the budget and both workloads."""
    doc = _budgeted(1.5, cloud=True)
    doc["workloads"]["w"]["objective"] = "energy"
    doc["workloads"]["w2"] = dict(doc["workloads"]["w"])
    p, diagnostics = run(doc)
    solo = _budgeted(1.5)
    solo["workloads"]["w"]["objective"] = "energy"
    alone = run(solo)[0].workloads["w"].chosen
    assert _draw(alone) <= 1.5 and 2 * _draw(alone) > 1.5  # the premise: each fits, two do not
    on_cam = [n for n in ("w", "w2") if p.workloads[n].chosen.pattern != "cloud"]
    assert sum(_draw(p.workloads[n].chosen) for n in on_cam) <= 1.5
    moved = [n for n in ("w", "w2") if p.workloads[n].why.startswith("joint placement:")]
    assert len(moved) == 1 and "power on cam" in p.workloads[moved[0]].why
    assert not [d for d in diagnostics if d.severity.value == "error"]

    doc = _budgeted(1.5)
    doc["workloads"]["w"]["objective"] = "energy"
    doc["workloads"]["w2"] = dict(doc["workloads"]["w"])
    _, diagnostics = run(doc)
    (es504,) = [d for d in diagnostics if d.code == "ES504"]
    assert es504.severity.value == "error" and es504.pointer == "/targets/cam/power_budget_w"
    assert "the power budget of cam (jetson-orin-nano-8gb) cannot hold w, w2" in es504.message
    assert "w (line" in es504.hint and "w2 (line" in es504.hint


def test_a_budget_on_a_device_without_a_power_figure_is_said_to_go_unchecked():
    doc = spec(
        {"m": model(format="torchscript")},
        {"phones": {"hardware": "apple-a15", "count": 10, "power_budget_w": 2}},
        {"w": {"model": "m", "data_source": ["phones"], "latency": {"p95_ms": 100}, "throughput": {"rps": 1}}},
    )
    p, diagnostics = run(doc)
    assert p.workloads["w"].chosen.pattern == "on-device"
    (es503,) = [d for d in diagnostics if d.code == "ES503"]
    assert es503.pointer == "/targets/phones/power_budget_w" and "power_budget_w is not checked" in es503.message


@pytest.mark.parametrize(
    "fields,message,hint",
    [
        (
            {"power_mode": "25W", "power_budget_w": 15},
            "power mode 25W lets jetson-orin-nx-16gb draw 25 W, more than power_budget_w 15 W",
            "modes within the budget: 15W, 10W",
        ),
        (
            {"power_budget_w": "12.95W"},
            "default power mode 25W lets jetson-orin-nx-16gb draw 25 W, more than power_budget_w 12.95 W",
            "modes within the budget: 10W",
        ),
        (
            {"power_budget_w": 5},
            "default power mode 25W lets jetson-orin-nx-16gb draw 25 W, more than power_budget_w 5 W",
            "no power mode of jetson-orin-nx-16gb fits: the lowest draws 10 W",
        ),
    ],
)
def test_a_power_mode_above_the_budget_warns_with_the_modes_that_fit(fields, message, hint):
    doc = _budgeted(None)
    doc["targets"]["cam"] = {"hardware": "jetson-orin-nx-16gb", **fields}
    checked, diagnostics = validate(load_bytes(yaml.safe_dump(doc).encode(), "t.yaml"))
    (warning,) = diagnostics
    assert checked is not None and (warning.code, warning.message, warning.hint) == ("ES314", message, hint)
    doc["targets"]["cam"] = {"hardware": "jetson-orin-nx-16gb", "power_mode": "10W", "power_budget_w": 12.95}
    assert validate(load_bytes(yaml.safe_dump(doc).encode(), "t.yaml"))[1] == []  # a mode within the budget


def test_a_new_constraint_is_one_function_and_its_registration(monkeypatch):
    """A check registered in constraints.CHECKS reaches every pattern's candidates through
    constraints.finish (no pattern knows about it), gives the headline reason where it breaks
    first, and the target it names is the one the JSON rejects the candidate against."""
    from tests.planner_helpers import video_analytics

    def check_no_cloud(ctx, d, out):  # e.g. an egress ban: nothing may reach the target "cloud"
        if any(dest.target == "cloud" for dest, _ in d.sends):
            out.append("egress: cloud is banned")
            return "cloud"
        return None

    monkeypatch.setattr(constraints, "CHECKS", ((check_no_cloud, lambda ctx: True), *constraints.CHECKS))
    doc = video_analytics()
    doc["workloads"]["analytics"]["privacy"] = {"raw_data": "anywhere", "features": "anywhere"}
    (planned, _) = run(doc)
    wp = planned.workloads["analytics"]
    sending = [c for c in wp.candidates if c.estimates is not None and c.pattern in ("cloud", "split")]
    assert {c.pattern for c in sending} == {"cloud", "split"}
    for c in sending:
        assert c.reasons[0] == "egress: cloud is banned" and c.blame == "cloud", c.key
    local = [c for c in wp.candidates if c.pattern == "on-device"]
    assert local and not any("egress: cloud is banned" in c.reasons for c in local)
    assert wp.chosen is None or wp.chosen.pattern not in ("cloud", "split")


def test_checks_that_cannot_break_for_a_workload_are_skipped():
    """finish applies only the checks a workload's constraints can break (no latency budget: no
    latency check), and the result is the same as applying them all."""
    ctx = ctx_for({"latency": {"p95_ms": 100}, "accuracy": {"max_drop": 0.01}})  # no rate, power budget, offline
    finished(ctx, est(p50=10_000, p95=20_000, drop=0.5), local_answer=False)
    names = [check.__name__ for check in ctx.local.checks]
    assert names == ["check_memory", "check_capacity", "check_privacy", "check_latency", "check_accuracy"]
    every = Draft("on-device", (), est(p50=10_000, p95=20_000, drop=0.5), False)
    everything: list = []
    for check, _ in constraints.CHECKS:
        check(ctx, every, everything)
    assert [spell(r) for r in finished(ctx, every.estimates, local_answer=False)] == [spell(r) for r in everything]


def test_a_split_head_and_a_federated_share_must_fit_the_device():
    """The layers a device runs before the cut are resident there: a head too large for the
    camera's memory rejects the split (and the federated share), against the camera."""
    from tests.planner_helpers import video_analytics

    doc = video_analytics()
    doc["models"]["detector"]["params"] = "8B"  # 4B parameters before the cut at 50%
    doc["models"]["detector"]["split_points"][0]["flops_fraction"] = 0.5
    doc["targets"]["cam"]["site"] = "s"
    doc["targets"]["agg"] = {"hardware": "jetson-agx-orin-64gb", "site": "s", "jurisdiction": "us"}
    doc["workloads"]["analytics"]["privacy"] = {"raw_data": "device", "features": "site"}
    wp = run(doc)[0].workloads["analytics"]
    for pattern in ("split", "federated"):
        formed = [c for c in wp.candidates if c.pattern == pattern and c.estimates is not None and c.cut == "backbone"]
        assert formed, pattern
        for c in formed:
            assert c.reasons[0].startswith("memory: needs ") and " cam (jetson-orin-nano-4gb)" in c.reasons[0], (
                c.reasons
            )
            assert c.blame == "cam"
