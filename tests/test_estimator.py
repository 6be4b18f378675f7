"""Each estimator term on its own, with hand-computed expectations."""

from __future__ import annotations

import copy

import pytest

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import device as device_mod
from edgespec.planner import estimate
from edgespec.spec.models import Target


def dev(hardware: str, **fields) -> device_mod.Device:
    return device_mod.resolve("t", Target.model_validate({"hardware": hardware, **fields}))


def test_peak_follows_power_mode():
    maxn = dev("jetson-orin-nano-8gb", power_mode="MAXN_SUPER")
    low = dev("jetson-orin-nano-8gb", power_mode="15W")
    assert maxn.peak_tops["int8"] == pytest.approx(33.5)
    assert low.peak_tops["int8"] == pytest.approx(33.5 * (15 / 25) ** device_mod.POWER_MODE_EXPONENT)
    assert maxn.peak_tops["fp16"] == pytest.approx(maxn.peak_tops["int8"] / 2)
    assert low.power_w == 15 and maxn.power_w == 25


def test_compute_bound_roofline():
    d = dev("jetson-orin-nx-16gb", power_mode="MAXN")
    cal = catalog.calibration()["classes"]["jetson-gpu"]
    k = cal["precisions"]["int8"]
    work = estimate.Work(gflops=20.0, params=1e6, precision="int8")
    peak = 50 * cal.get("peak_correction", {}).get("jetson-orin-nx-16gb", 1.0)  # what its benchmarks say of 50 TOPS
    # the overhead at the class's reference peak, scaled to this device's (estimate.overhead_ms)
    overhead = k["overhead_ms"] * (cal["overhead_ref_tops"] / peak) ** cal["overhead_exponent"]
    expected = overhead + 20e9 / (peak * 1e12 * k["efficiency"]) * 1e3
    c = estimate.compute(d, work)
    assert c.bound == "compute" and c.p50_ms == pytest.approx(expected)
    assert c.p95_ms == pytest.approx(expected * cal["p95_over_p50"])


def test_memory_bound_when_weights_dominate():
    d = dev("jetson-orin-nx-16gb", power_mode="MAXN")
    cal = catalog.calibration()["classes"]["jetson-gpu"]
    work = estimate.Work(gflops=0.01, params=2e9, precision="fp16")
    c = estimate.compute(d, work)
    assert c.bound == "memory"
    peak = 25 * cal.get("peak_correction", {}).get("jetson-orin-nx-16gb", 1.0)
    overhead = cal["precisions"]["fp16"]["overhead_ms"] * (cal["overhead_ref_tops"] / peak) ** cal["overhead_exponent"]
    assert c.p50_ms == pytest.approx(overhead + 4e9 / (102.4e9 * cal["bandwidth_efficiency"]) * 1e3)


def test_coral_spills_parameters_beyond_sram_over_usb():
    usb = dev("coral-usb")
    small = estimate.compute(usb, estimate.Work(1.0, 3e6, "int8"))
    big = estimate.compute(usb, estimate.Work(1.0, 40e6, "int8"))
    spill_gbs = catalog.calibration()["classes"]["coral-tpu"]["spill_gbs"]["usb3"]
    assert small.bound == "compute" and big.bound == "spill"
    assert big.p50_ms - small.p50_ms == pytest.approx((40e6 - usb.sram_bytes) / (spill_gbs * 1e9) * 1e3)


def test_dla_is_slower_than_the_gpu():
    d = dev("jetson-agx-orin-64gb")
    gpu = estimate.compute(d, estimate.Work(10.0, 5e6, "int8"))
    dla = estimate.compute(d, estimate.Work(10.0, 5e6, "int8", accelerator="dla"))
    assert dla.p50_ms > gpu.p50_ms


def test_llm_prefill_is_compute_and_decode_is_memory_bound():
    d = dev("jetson-orin-nano-8gb", power_mode="MAXN_SUPER")
    one = estimate.compute(d, estimate.Work(2 * 2.6, 2.6e9, "int4", prompt_tokens=100, output_tokens=1))
    many = estimate.compute(d, estimate.Work(2 * 2.6, 2.6e9, "int4", prompt_tokens=100, output_tokens=101))
    per_token = (many.p50_ms - one.p50_ms) / 100
    cal = catalog.calibration()["classes"]["jetson-gpu"]
    assert many.bound == "memory"
    assert per_token == pytest.approx(1.3e9 / (102e9 * cal["bandwidth_efficiency"]) * 1e3)
    longer_prompt = estimate.compute(d, estimate.Work(2 * 2.6, 2.6e9, "int4", prompt_tokens=1000, output_tokens=1))
    assert longer_prompt.p50_ms > one.p50_ms * 5


def test_network_round_trip_plus_payload():
    n = estimate.transfer(250_000, 20, 10)  # 250 kB over 10 Mbit/s = 200 ms
    assert n.p50_ms == pytest.approx(220)
    assert n.p95_ms == pytest.approx(20 * estimate.NETWORK_P95_RTT_FACTOR + 200 / estimate.NETWORK_P95_BANDWIDTH_SHARE)
    assert estimate.transfer(1e6, 12, None).p50_ms == 12  # unknown bandwidth: payload time left out


def test_input_bytes():
    assert estimate.input_bytes([1, 3, 224, 224], "float32", None) == 602_112
    assert estimate.input_bytes([1, 3, 224, 224], "uint8", 20_000) == 20_000


def test_accuracy_priors():
    drops = value(catalog.accuracy()["precision_drop"]["int8"])
    assert estimate.precision_drop("object-detection", "int8") == drops["object-detection"]
    assert estimate.precision_drop("embedding", "int8") == drops["default"]
    assert estimate.precision_drop("tabular", "fp32") == 0
    assert estimate.prune_drop(0.5) == pytest.approx(0.5 * value(catalog.accuracy()["prune_drop_per_fraction"]))


def test_cascade_accuracy_model():
    acc, rate = estimate.cascade_accuracy(0.80, 0.90)
    assert rate == 0.15 and acc == pytest.approx(0.80 + 0.10 * 0.75)
    acc_more, _ = estimate.cascade_accuracy(0.80, 0.90, rate=0.3)
    assert acc_more == pytest.approx(0.90)  # escalating twice as much recovers the whole gap (capped)


def test_energy_and_electricity():
    assert estimate.energy_mj(25, 4) == 100  # 25 W for 4 ms = 100 mJ
    kwh_price = value(catalog.datacenter()["electricity_usd_per_kwh"])
    assert estimate.electricity_usd(3.6e9, 1) == pytest.approx(kwh_price)  # 3.6e9 mJ = 1 kWh


def test_instances_needed():
    assert estimate.instances_needed(10, 10) == 1  # 10 rps x 10 ms = 10% of one instance
    assert estimate.instances_needed(700, 10) == 10  # 70 rps per instance at 70% headroom


def test_workers_ai_price_and_rate_limit():
    entry = estimate.workers_ai_entry("@cf/meta/llama-3.1-8b-instruct-fp8")
    assert entry["task"] == "text-generation"
    usd = estimate.workers_ai_usd(entry, 1_000_000, 0)
    assert usd == pytest.approx(13778 / 1000 * 0.011)
    assert estimate.workers_ai_entry("@cf/meta/llama-9") is None
    # Cloudflare's published limits: per task, and a model's own where it has one
    assert estimate.workers_ai_rate_limit(entry, "text-generation") == 300
    assert estimate.workers_ai_rate_limit(estimate.workers_ai_entry("@cf/baai/bge-large-en-v1.5"), "embedding") == 1500
    assert estimate.workers_ai_rate_limit(estimate.workers_ai_entry("@cf/baai/bge-base-en-v1.5"), "embedding") == 3000


def test_coral_cpu_fallback_runs_on_the_host_and_crosses_the_link_twice():
    usb = dev("coral-usb", host="raspberry-pi-5")
    cal = catalog.calibration()["classes"]
    base = estimate.compute(usb, estimate.Work(2.0, 3e6, "int8"))
    fallback = estimate.compute(usb, estimate.Work(2.0, 3e6, "int8", cpu_fraction=0.3, io_bytes=150_528))
    tpu_saved = 0.3 * 2.0e9 / (4e12 * cal["coral-tpu"]["precisions"]["int8"]["efficiency"]) * 1e3
    # the host runs the float ops with the CPU class's fp32 constants (int8's while it has fp32 rows of none)
    cpu_ms = 0.3 * 2.0 / (153.6 * estimate.precision_constants(cal["arm-cpu"], "fp32")["efficiency"]) * 1e3
    link_ms = 2 * 150_528 / (cal["coral-tpu"]["spill_gbs"]["usb3"] * 1e9) * 1e3
    assert fallback.p50_ms == pytest.approx(base.p50_ms - tpu_saved + cpu_ms + link_ms)
    assert fallback.bound == "cpu-fallback"


def test_coral_hosts():
    assert dev("coral-devboard").host_fp32_gflops == 24  # the Dev Board's own Cortex-A53s
    assert dev("coral-usb").host == "raspberry-pi-5"  # no host declared: a conservative assumption
    assert dev("jetson-orin-nx-16gb").host_fp32_gflops is None


def test_an_op_class_changes_the_compute_term_by_its_fitted_efficiency():
    """Snapdragon's fit has a depthwise efficiency of its own (catalog/calibration.yaml): the same
    FLOPs of a depthwise model take 1 / op times the compute of a dense one; an op class the
    class has no term for computes at the class's efficiency."""
    d = dev("snapdragon-8-gen-3")
    cal = catalog.calibration()["classes"]["snapdragon-npu"]
    op = cal["op_class_efficiency"]["depthwise"]
    assert op != 1.0
    k = cal["precisions"]["int8"]
    work = estimate.Work(gflops=5.0, params=1e5, precision="int8")
    overhead = estimate.overhead_ms(cal, k, d.peak_tops["int8"] * cal.get("peak_correction", {}).get(d.hardware, 1.0))
    dense = estimate.compute(d, work._replace(op_class="dense")).p50_ms - overhead
    depthwise = estimate.compute(d, work._replace(op_class="depthwise")).p50_ms - overhead
    assert depthwise == pytest.approx(dense / op)
    assert estimate.compute(d, work._replace(op_class="hybrid")).p50_ms == pytest.approx(dense + overhead)


def test_the_overhead_scales_with_the_device_where_the_fit_says_so():
    """overhead x (reference peak / peak) ** exponent: a faster device of the class pays less."""
    cal = catalog.calibration()["classes"]["snapdragon-npu"]
    k = cal["precisions"]["int8"]
    assert cal["overhead_exponent"] > 0
    slow, fast = dev("qcs6490"), dev("snapdragon-8-elite")
    assert slow.peak_tops["int8"] < fast.peak_tops["int8"]
    at = {d.hardware: estimate.overhead_ms(cal, k, d.peak_tops["int8"]) for d in (slow, fast)}
    assert at["qcs6490"] > at["snapdragon-8-elite"]
    ratio = (fast.peak_tops["int8"] / slow.peak_tops["int8"]) ** cal["overhead_exponent"]
    assert at["qcs6490"] / at["snapdragon-8-elite"] == pytest.approx(ratio)
    flat = {**cal, "overhead_exponent": 0.0}
    assert estimate.overhead_ms(flat, k, slow.peak_tops["int8"]) == k["overhead_ms"]  # one floor for the class


def test_a_pool_at_batch_one_agrees_with_the_estimator():
    """serving.dynamic_options reads the same overhead and op-class efficiency as estimate.compute."""
    from edgespec.planner import serving

    d = dev("aws-ec2", instance_type="g6.xlarge", region="us-east-1")
    for op_class in (None, "dense", "transformer"):
        work = estimate.Work(gflops=30.0, params=25e6, precision="fp16", op_class=op_class)
        one = next(s for s in serving.dynamic_options(d, work) if s.batch == 1)
        assert one.p50_ms == pytest.approx(estimate.compute(d, work).p50_ms)


def test_a_chips_peak_correction_scales_its_compute_and_its_overhead():
    """Where a chip's benchmarks say its catalog peak is off (a phone NPU's figure derived from
    another chip's), the fitted correction multiplies the peak: the compute term divides by it and
    the overhead scales with the corrected peak as with any other."""
    cal = copy.deepcopy(catalog.calibration()["classes"]["snapdragon-npu"])
    d = dev("snapdragon-8-gen-2")
    work = estimate.Work(gflops=30.0, params=1e5, precision="int8")
    k = cal["precisions"]["int8"]
    times = {}
    for correction in (1.0, 1.5):
        cal["peak_correction"] = {d.hardware: correction}
        peak = d.peak_tops["int8"] * correction
        times[correction] = estimate.compute(d, work, cal).p50_ms - estimate.overhead_ms(cal, k, peak)
    assert times[1.0] / times[1.5] == pytest.approx(1.5)
    assert "snapdragon-8-gen-2" in catalog.calibration()["classes"]["snapdragon-npu"]["peak_correction"]
