"""Run or watch a Greengrass rollout of this package, and roll it back on the spec's criteria.

Greengrass stops a rollout when devices fail to install or run the component; it cannot see a
model that runs but answers worse. This watcher can: every interval it evaluates the criteria in
rollback.json (error rate, p95 latency of the canary and of its slowest device, labelled-feedback
accuracy and mean confidence of the devices that run this package, against the devices of the
same fleet that do not yet) with PromQL on the Prometheus-compatible backend that receives the
fleet's telemetry. A criterion that fails more than `failure_limit` times in a row, or a backend
that cannot answer `error_limit` times in a row, is a failed watch. The criteria read 0 while no
device on the package reports, so the watcher also counts the devices that do: if none ever
did, the watch proves nothing and says so (exit 3) instead of passing.

Staged (--fleet-group, after cohorts.py put the devices in cohorts): deploys the package to each
cohort's thing group in turn with deploy.py and watches it for its stage's soak time before the
next, so the canary stays small while the rest of the fleet keeps the old package. A failed
watch cancels the deployment and deploys again, to every cohort reached so far, the components
it ran before (a true rollback: the previous deployment, whatever version it held).

One deployment (--deployment-id): watches it for --duration; a failed watch cancels it and, with
--rollback-to, deploys that component version to --target-arn.

    python3 watch_rollout.py --prometheus https://prometheus.example.com \
        --fleet-group arn:aws:iot:<region>:<account>:thinggroup/<fleet> --bucket <ArtifactBucket>
    python3 watch_rollout.py --prometheus URL --deployment-id <id> [--rollback-to 1.3.0 --target-arn ARN]

Exit status: 0 every criterion held while canary devices reported (staged: the whole fleet is on
the package), 1 rolled back, 2 usage error, 3 no device on the package reported telemetry (staged:
the rollout stops there, not widened). Standard library only; the AWS CLI (v1 or v2) must be on
PATH with credentials.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
UNANSWERED = (OSError, ValueError, KeyError, IndexError)  # network errors (URLError is an OSError), bad replies
DEVICE = "instance"  # the label of a device's series (OTLP service.instance.id)


def measure(prometheus: str, query: str, timeout_s: float = 10) -> tuple[float, dict]:
    """The query's value and labels: the first sample of an instant vector (the queries never
    return NaN; a `topk(1, ...)` criterion's labels name the device it measured)."""
    url = prometheus.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body = json.loads(response.read())
    if body.get("status") != "success":
        raise ValueError(body.get("error", "query failed"))
    result = body["data"]["result"]
    if body["data"]["resultType"] == "scalar":
        return float(result[1]), {}
    return (float(result[0]["value"][1]), result[0].get("metric") or {}) if result else (0.0, {})


def aws(*args: str) -> None:
    print("+ aws " + " ".join(args), flush=True)
    subprocess.run(["aws", *args], check=True)


def cancel(deployment_id: str) -> None:
    aws("greengrassv2", "cancel-deployment", "--deployment-id", deployment_id)


def redeploy(target_arn: str, name: str, components: dict) -> None:
    aws(
        "greengrassv2",
        "create-deployment",
        "--target-arn",
        target_arn,
        "--deployment-name",
        name,
        "--components",
        json.dumps(components, sort_keys=True),
        "--deployment-policies",
        json.dumps({"failureHandlingPolicy": "ROLLBACK"}),
    )


def watch(settings: dict, prometheus: str, interval: float, duration: float) -> tuple[int, str]:
    """(0, "") when every criterion held for `duration` with canary devices reporting; (1, why) on a
    failed criterion or a silent backend; (3, why) when no canary device ever reported."""
    failures = {c["workload"] + "/" + c["name"]: 0 for c in settings["criteria"]}
    errors = 0
    reported = False
    deadline = time.monotonic() + duration
    while True:
        try:
            reported = reported or measure(prometheus, settings["reporting_query"])[0] >= 1
        except UNANSWERED:
            pass  # the criteria below count the backend's failures
        for c in settings["criteria"]:
            key = c["workload"] + "/" + c["name"]
            try:
                value, labels = measure(prometheus, c["query"])
                errors = 0
            except UNANSWERED as err:
                errors += 1
                print(f"{key}: the backend did not answer ({err}); {errors} in a row", file=sys.stderr, flush=True)
                if errors > settings["error_limit"]:
                    return 1, f"no measurements for {errors} attempts in a row"
                continue
            ok = value <= c["threshold"]
            failures[key] = 0 if ok else failures[key] + 1
            device = f" (device {labels[DEVICE]})" if DEVICE in labels else ""
            print(
                f"{key}: {value:.6g}{device} {'<=' if ok else '>'} {c['threshold']:g}"
                + ("" if ok else f" (failure {failures[key]})"),
                flush=True,
            )
            if failures[key] > settings["failure_limit"]:
                return 1, f"{key} = {value:.6g}{device} > {c['threshold']:g} ({c['explanation']})"
        if time.monotonic() >= deadline:
            if not reported:
                return 3, (
                    f"{settings['package']}: no device on this package reported telemetry; nothing was "
                    "judged (is the fleet's collector exporting to this backend?)"
                )
            return 0, ""
        time.sleep(interval)


def deploy(group_arn: str, bucket: str, otlp_token_secret: str | None) -> dict:
    """deploy.py for one group: {"deploymentId", "targetArn", "previous"}."""
    extra = ["--otlp-token-secret", otlp_token_secret] if otlp_token_secret else []
    result = subprocess.run(
        [sys.executable, str(HERE / "deploy.py"), group_arn, bucket, "--json", *extra], capture_output=True, text=True
    )
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    return json.loads(result.stdout.strip().splitlines()[-1])


def staged(settings: dict, args: argparse.Namespace) -> int:
    fleet = args.fleet_group.rsplit("/", 1)[1]
    reached: list[dict] = []
    for cohort in settings["cohorts"]:
        if not cohort["devices"] and cohort is not settings["cohorts"][-1]:
            continue  # the stage adds no device to a fleet this small: the next one widens
        group = args.fleet_group.rsplit("/", 1)[0] + "/" + cohort["group"].format(fleet=fleet)
        print(f"cohort {cohort['cohort']} ({cohort['percent']:g}% of the fleet): deploying to {group}", flush=True)
        reached.append(deploy(group, args.bucket, args.otlp_token_secret))
        soak = cohort["soak_s"] if args.soak is None or not cohort["soak_s"] else args.soak
        if not soak:
            continue
        code, why = watch(settings, args.prometheus, args.interval, soak)
        if code == 3:
            print(f"{why}; the rollout stops at cohort {cohort['cohort']} and is not widened", file=sys.stderr)
            return 3
        if code:
            print(
                f"rolling back {settings['package']} on cohorts 1-{cohort['cohort']}: {why}",
                file=sys.stderr,
                flush=True,
            )
            cancel(reached[-1]["deploymentId"])
            for done in reversed(reached):
                if done["previous"]:
                    redeploy(done["targetArn"], f"{settings['deployment_name']}-rollback", done["previous"])
                else:
                    print(
                        f"{done['targetArn']} had no deployment before this one: nothing to return to", file=sys.stderr
                    )
            return 1
        print(f"cohort {cohort['cohort']}: every criterion held for {soak:g} s", flush=True)
    print(f"{settings['package']} is on every cohort of {fleet}", flush=True)
    return 0


def single(settings: dict, args: argparse.Namespace) -> int:
    code, why = watch(settings, args.prometheus, args.interval, args.duration)
    if code == 3:
        print(why, file=sys.stderr)
        return 3
    if code == 0:
        print(f"{settings['package']}: every criterion held for the watch", flush=True)
        return 0
    print(f"rolling back {settings['package']}: {why}", file=sys.stderr, flush=True)
    cancel(args.deployment_id)
    if args.rollback_to:
        redeploy(
            args.target_arn,
            f"{settings['deployment_name']}-rollback",
            {settings["component"]: {"componentVersion": args.rollback_to}},
        )
    return 1


def main(argv: list[str] | None = None) -> int:
    settings = json.loads((HERE / "rollback.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="base URL of the Prometheus HTTP API")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fleet-group", metavar="ARN", help="run the staged rollout over this fleet's cohorts")
    mode.add_argument("--deployment-id", help="watch this one deployment")
    parser.add_argument("--bucket", help="the artifact bucket (with --fleet-group)")
    parser.add_argument("--otlp-token-secret", metavar="ARN", help="passed to deploy.py (with --fleet-group)")
    parser.add_argument(
        "--soak",
        type=float,
        help="seconds to watch each stage that has a soak time, instead of the spec's (a rehearsal)",
    )
    parser.add_argument("--rollback-to", metavar="VERSION", help="component version to deploy on rollback")
    parser.add_argument("--target-arn", help="the thing group ARN (needed with --rollback-to)")
    parser.add_argument("--interval", type=float, default=settings["interval_s"], help="seconds between checks")
    parser.add_argument(
        "--duration",
        type=float,
        default=settings["watch_s"],
        help="seconds to watch one deployment (default: the rollout's soak times)",
    )
    args = parser.parse_args(argv)
    if args.fleet_group:
        if not args.bucket or ":thinggroup/" not in args.fleet_group:
            parser.error("--fleet-group needs a thing group ARN and --bucket")
        return staged(settings, args)
    if args.rollback_to and not args.target_arn:
        parser.error("--rollback-to needs --target-arn")
    return single(settings, args)


if __name__ == "__main__":
    sys.exit(main())
