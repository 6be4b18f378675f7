"""AWS IoT Greengrass v2 for device fleets: one versioned component per device target.

The target's folder (zipped by the operator as bundle.zip) is the component's artifact. Install
builds what must be built on the device (TensorRT engines, the Edge TPU runtime); Run serves and
exits non-zero when the server stays unhealthy, which marks the component BROKEN so the
deployment rolls back. The spec's rollout becomes cohorts and the deployments' job rollout:

- stages -> cohorts: one static thing group per stage holding the devices that stage adds
  (greengrass/cohorts.py fills them from the fleet group), deployed one after the other by
  greengrass/watch_rollout.py, which watches each for its soak time on the fleet's telemetry
  (the criteria of rollback.py, canary = the devices on this package) before widening, and
  deploys the previous components again to every cohort reached when a criterion fails.
- within one deployment, jobExecutionsRolloutConfig.exponentialRate: the first stage's share of
  the fleet per minute to start, multiplied by the ratio of the next stage's share (capped at 5,
  the API's maximum) each time that many devices have succeeded.
- rollback.error_rate -> abortConfig: cancel when more than that share of devices fail.
- deploymentPolicies.failureHandlingPolicy ROLLBACK: a device whose component breaks returns to
  the previous version.

Written twice with the exact field names of each API: greengrass.yaml (CloudFormation:
AWS::GreengrassV2::ComponentVersion and ::Deployment) and create-deployment.json (the input of
`aws greengrassv2 create-deployment`, which greengrass/deploy.py sends for one group, keeping the
group's other components). Component versions are immutable: deploy.py deploys an existing
version only when its recipe carries this package's ContentSha256.
"""

from __future__ import annotations

import json
import math
import re

from edgespec import __version__, catalog, kinds
from edgespec.device import greengrass_cohorts, ship
from edgespec.diagnostics.codes import diag
from edgespec.emit import rollback as rollback_mod
from edgespec.emit import router, telemetry
from edgespec.emit.common import placement_calibration, placement_source, placements_on
from edgespec.emit.package import content_sha256, file_hashes, identity
from edgespec.emit.serialize import json_bytes, yaml_documents
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec
from edgespec.spec.targets import device_count


def _lifecycle(kind: str, target: str) -> dict:
    """The kind's lifecycle steps (edgespec/kinds), then the routers and the collector."""
    env = "export EDGESPEC_ARTIFACTS={artifacts:path} EDGESPEC_OTLP_SECRET_ARN={configuration:/OtlpTokenSecretArn} && "
    then = (
        " && if [ -f router/install.sh ]; then bash router/install.sh; fi"
        " && if [ -f otel/install.sh ]; then bash otel/install.sh; fi"
    )  # the routers, then the collector
    return kinds.fleet(kind).lifecycle(target, env, then)


def component_version(spec: Spec) -> str:
    return spec.metadata.version.split("+", 1)[0]  # Greengrass versions carry no build metadata


def component_name(spec: Spec, target: str) -> str:
    return f"com.edgespec.{spec.metadata.name}.{target}"


def model_artifacts(spec: Spec, plan: Plan, target: str, kind: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The S3 models a Jetson package builds its engines from, as the component's artifacts: the
    nucleus downloads them with the device's role into {artifacts:path}/<file name>. (A Coral is
    given compiled models, not sources.) Two sources with one file name would overwrite each other
    there: those stay with the AWS CLI, and are returned as (workload, URI) collisions."""
    if not kinds.fleet(kind).model_artifacts:
        return [], []
    uris, by_name, collisions = [], {}, []
    for workload, _, p in placements_on(plan, target, roles=("device",)):
        calibration = placement_calibration(spec, p)
        for uri in (placement_source(p).uri, *([calibration.uri] if calibration else [])):
            if not uri.startswith("s3://") or uri in uris:
                continue
            name = uri.rsplit("/", 1)[-1]
            if name in by_name:
                collisions.append((workload, uri))
                continue
            by_name[name] = uri
            uris.append(uri)
    return sorted(uris), collisions


# The device role's credentials for what the component fetches itself (the OTLP token from Secrets
# Manager; a model the AWS CLI fetches, ES607): the nucleus hands them to components that depend on it.
TOKEN_EXCHANGE = {
    "aws.greengrass.TokenExchangeService": {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "HARD"}
}


def recipe(
    spec: Spec,
    target: str,
    kind: str,
    version: str,
    content: str,
    bucket: str,
    models: list[str] = (),
    health: str = "",
    collector: str = "",
) -> dict:
    """`collector`: the OpenTelemetry Collector's .deb (an artifact beside bundle.zip), with telemetry."""
    name = component_name(spec, target)
    hardware = spec.targets[target].hardware
    folder = f"s3://{bucket}/{name}/{version}"
    return {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentDescription": f"edgespec {__version__} package {identity(version, content)} for {hardware}",
        "ComponentPublisher": "edgespec",
        "ComponentConfiguration": {
            "DefaultConfiguration": {
                "Package": identity(version, content),
                "ContentSha256": content,
                "Hardware": hardware,
                "HealthUrl": health or kinds.fleet(kind).health_url,  # a Jetson's: its health.json
                # set per deployment (deploy.py --otlp-token-secret): the secret holding the OTLP token
                **({"OtlpTokenSecretArn": ""} if collector else {}),
            }
        },
        "ComponentDependencies": TOKEN_EXCHANGE,
        "Manifests": [
            {
                "Platform": kinds.fleet(kind).platform,
                "Lifecycle": _lifecycle(kind, target),
                # bundle.zip unpacks into {artifacts:decompressedPath}/bundle/ (the nucleus names the
                # folder after the archive), so the archive holds the target's files at its root
                "Artifacts": [
                    {
                        "URI": f"{folder}/bundle.zip",
                        "Unarchive": "ZIP",
                        "Permission": {"Read": "OWNER", "Execute": "OWNER"},
                    },
                    *([{"URI": f"{folder}/{collector}", "Permission": {"Read": "OWNER"}}] if collector else []),
                    *({"URI": uri, "Permission": {"Read": "OWNER"}} for uri in models),
                ],
            }
        ],
    }


def _models(spec: Spec, plan: Plan, target: str) -> list[dict]:
    """What the package runs, per workload: the model, the source it fetches (of a model declared in
    several formats, the one this fleet's hardware takes, and the bundle's conversion) and its
    sha256, and the recipe."""
    out = []
    for workload, candidate, p in placements_on(plan, target):
        source = placement_source(p)
        calibration = placement_calibration(spec, p)
        out.append(
            {
                "workload": workload,
                "pattern": candidate.pattern,
                "role": p.role,
                "model": p.model,
                "uri": source.uri,
                "sha256": source.sha256,
                "format": source.format,
                "conversion": source.conversion,
                **({"calibration": {"uri": calibration.uri, "sha256": calibration.sha256}} if calibration else {}),
                "recipe": {
                    "precision": p.recipe.precision,
                    "prune": p.recipe.prune,
                    "variant": p.recipe.variant,
                    "accelerator": p.recipe.accelerator,
                    "label": p.recipe.label(),
                },
            }
        )
    return out


def watch_settings(
    spec: Spec, target: str, component: str, deployment_name: str, package: str, workloads: list[str]
) -> dict:
    """rollback.json: the criteria per workload, canary = the devices of `target` running `package`."""

    def devices(workload: str):
        def select(which: str, extra: str) -> str:
            op = "=" if which == "canary" else "!="
            return f'{{workload="{workload}",target="{target}",package{op}"{package}"{extra}}}'

        return select

    soak = sum(s.soak or 0 for s in spec.rollout.stages)
    canary = f'{{target="{target}",package="{package}"}}'
    return {
        "package": package,
        "target": target,
        "component": component,
        "deployment_name": deployment_name,
        "reporting_query": rollback_mod.reporting_query(canary),
        "interval_s": rollback_mod.INTERVAL_S,
        "failure_limit": rollback_mod.FAILURE_LIMIT,
        "error_limit": 4,
        "watch_s": int(soak) or 3600,
        "cohorts": cohorts(spec, target),
        "criteria": [
            {"workload": w, **c} for w in workloads for c in rollback_mod.criteria(spec, w, devices(w), per_device=True)
        ],
    }


def cohorts(spec: Spec, target: str) -> list[dict]:
    """One cohort (a thing group of its own) per rollout stage, sized from the declared fleet:
    the devices that stage adds, and how long they are watched before the next stage."""
    stages = spec.rollout.stages if spec.rollout else []
    counts = greengrass_cohorts.sizes([s.percent for s in stages], device_count(spec.targets[target]))
    return [
        {
            "cohort": i + 1,
            "group": greengrass_cohorts.group_name("{fleet}", i + 1),
            "percent": s.percent,
            "devices": n,
            "soak_s": int(s.soak or 0),
        }
        for i, (s, n) in enumerate(zip(stages, counts))
    ]


def rollout(spec: Spec, fleet: int) -> tuple[dict, dict | None]:
    """(exponential rate, abort config) from the spec's rollout, for a fleet of `fleet` devices."""
    stages = spec.rollout.stages if spec.rollout else []
    first = stages[0].percent if stages else 100.0
    base = max(1, min(1000, math.ceil(fleet * first / 100)))
    factor = max(1.0, min(5.0, stages[1].percent / first)) if len(stages) > 1 else 1.0
    rate = {
        "baseRatePerMinute": base,
        "incrementFactor": round(factor, 2),
        "rateIncreaseCriteria": {"numberOfSucceededThings": base},
    }
    rollback = spec.rollout.rollback if spec.rollout else None
    abort = None
    if rollback and rollback.error_rate is not None:
        abort = {
            "criteriaList": [
                {
                    "failureType": "FAILED",
                    "action": "CANCEL",
                    "thresholdPercentage": round(rollback.error_rate * 100, 2),
                    "minNumberOfExecutedThings": base,
                }
            ]
        }
    return rate, abort


def _pascal(node):
    """camelCase API fields -> CloudFormation's PascalCase (the Greengrass schemas differ only so)."""
    if isinstance(node, dict):
        return {k[0].upper() + k[1:]: _pascal(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_pascal(v) for v in node]
    return node


HEALTH_PY = b'''"""Greengrass Run step: wait for the model server to be ready, then watch it. Exits 1 after three
failed checks in a row, which marks the component BROKEN so the deployment rolls back."""
import json
import sys
import time
import urllib.request

urls = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "health.json"))["urls"]
failures, ready = 0, False
while True:
    try:
        for url in urls:  # every server of the target (Triton, each llama-server)
            urllib.request.urlopen(url, timeout=3)
        failures, ready = 0, True
    except OSError:
        failures += 1
        if failures >= (3 if ready else 40):  # ten minutes to come up the first time
            sys.exit(1)
    time.sleep(15)
'''


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g} h" if seconds else "none"


def _readme(
    target: str,
    name: str,
    version: str,
    label: str,
    fleet: int,
    rate: dict,
    abort: dict | None,
    settings: dict | None,
    otelcol: dict | None,
) -> bytes:
    lines = [
        f"<!-- Generated by edgespec {__version__}; edit the spec, not this file. -->",
        f"# Greengrass rollout of {target}",
        "",
        f"Package {label} (`package.json`). Zip the files of this target's folder at the archive's root "
        f"(`cd {target} && zip -r ../bundle.zip .`: the nucleus unpacks `bundle.zip` into a `bundle/` folder "
        f"of its own) and upload it to `s3://<ArtifactBucket>/{name}/{version}/bundle.zip`.",
        "",
    ]
    if otelcol:
        lines += [
            "## Telemetry",
            "",
            f"The Install step installs the OpenTelemetry Collector {otelcol['version']} (`otel/install.sh`), "
            "creates its queue and token directories, writes the OTLP backend's token, checks the config with "
            "`otelcol-contrib validate` and starts the collector. Before the first deployment:",
            "",
            f"1. Download `{otelcol['asset']}` and its `.sha256` from {otelcol['release']}, check it "
            f"(`sha256sum -c {otelcol['asset']}.sha256`) and upload it beside bundle.zip, to "
            f"`s3://<ArtifactBucket>/{name}/{version}/{otelcol['asset']}`. Greengrass records its digest when "
            "the component version is created, and every device checks the download against it.",
            "2. Store the token as a plain-text Secrets Manager secret and let the fleet's token exchange role "
            "read it (`secretsmanager:GetSecretValue` on that secret).",
            "3. Deploy with `--otlp-token-secret <secret ARN>` (deploy.py, or watch_rollout.py with "
            "--fleet-group): the component's `OtlpTokenSecretArn`, from which `otel/fetch_token.py` fetches "
            "the token with the device role's credentials.",
            "",
        ]
    if settings:
        lines += [
            "## Staged rollout",
            "",
            "Each stage of the spec's rollout is a cohort: a thing group of its own holding the devices that "
            "stage adds, so the canary stays small for its soak time while the rest of the fleet keeps the "
            f"old package. Sized for the {fleet} devices the spec declares (`cohorts.py` sizes them from the "
            "fleet group's real members):",
            "",
            "| cohort | fleet share | devices | soak | thing group |",
            "|---|---|---|---|---|",
            *(
                f"| {c['cohort']} | {c['percent']:g}% | {c['devices']} | {_hours(c['soak_s'])} | `{c['group']}` |"
                for c in settings["cohorts"]
            ),
            "",
            "1. `python3 greengrass/cohorts.py <fleet thing group ARN>`: creates the cohort groups and puts "
            "every device of the fleet group in one (run it again when devices join; an assigned device "
            "never moves, because Greengrass does not remove a group's components from a device that leaves "
            "it).",
            "2. `python3 greengrass/watch_rollout.py --prometheus <URL> --fleet-group <fleet thing group ARN> "
            "--bucket <ArtifactBucket>`: deploys the package to cohort 1 (`deploy.py`), watches the spec's "
            "rollback criteria (`rollback.json`: error rate, p95 latency of the cohort and of its slowest "
            "device, labelled-feedback accuracy and confidence of the devices on this package against the "
            "devices still on the old one) every minute for the stage's soak time, then widens to the next "
            "cohort. A criterion failing three times in a row cancels the deployment and deploys again, to "
            "every cohort reached, the components it ran before. If no device on the package reports "
            "telemetry, it stops without widening (exit 3).",
            "",
            "Once the fleet is in cohorts, deploy this component to the cohort groups only, never to the "
            "fleet group: a device in two groups that deploy different versions of one component fails its "
            "deployment.",
            "",
        ]
    lines += [
        "## One thing group",
        "",
        "`python3 greengrass/deploy.py <thing group ARN> <ArtifactBucket>` creates the component version from "
        "`recipe.json` (or checks that the existing one holds this package: versions are immutable) and a "
        "deployment that keeps the components the group already runs (a Greengrass deployment replaces the "
        "group's previous one). `greengrass.yaml` (CloudFormation) and a bare `aws greengrassv2 "
        "create-deployment --cli-input-json file://create-deployment.json` deploy this component alone, which "
        "removes the others: use them for a group that runs nothing else.",
        "",
        f"Within a deployment: {rate['baseRatePerMinute']} devices per minute to start, "
        f"x{rate['incrementFactor']} after each {rate['rateIncreaseCriteria']['numberOfSucceededThings']} "
        "successes; a broken component rolls back; "
        + (
            f"the deployment is cancelled when more than {abort['criteriaList'][0]['thresholdPercentage']}% of "
            "devices fail."
            if abort
            else "no abort criteria (the spec declares no rollback.error_rate)."
        ),
    ]
    return ("\n".join(lines) + "\n").encode()


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap, files: dict[str, bytes]):
    from edgespec.emit import Emitted

    out = Emitted()
    if not any(True for _ in placements_on(plan, target)):
        return out
    kind = catalog.hardware()[spec.targets[target].hardware]["kind"]
    mine = {p[len(target) + 1 :]: data for p, data in files.items() if p.startswith(f"{target}/")}
    if not mine:
        return out
    version = component_version(spec)
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):  # a pre-release: the create call would refuse it
        out.diagnostics.append(
            diag(
                "ES608",
                f"{target} ships as a Greengrass component, whose version must be major.minor.patch; "
                f"{spec.metadata.version!r} has a pre-release, which Greengrass refuses",
                **source.at("/metadata/version"),
                hint=f"use {version.split('-', 1)[0]} or the next patch number for this release candidate",
            )
        )
        return out
    extra = telemetry.device_files(spec, toolchain, target)  # the collector's installer, with telemetry
    collector = toolchain["otelcol_contrib"]["asset"] if extra else ""
    if kinds.fleet(kind).watches_servers:
        extra["health.py"] = HEALTH_PY  # watches the servers in health.json (the kind's emitter writes it)
        if "health.json" not in mine:  # no server, only routers (a split head): their own health
            ports = sorted(
                json.loads(data)["port"]
                for path, data in mine.items()
                if path.startswith("router/") and path.endswith(".json")
            )
            extra["health.json"] = json_bytes({"urls": [f"http://127.0.0.1:{p}/healthz" for p in ports]})
    hashes = file_hashes({**mine, **extra})
    content = content_sha256(hashes)
    label = identity(version, content)
    fleet = device_count(spec.targets[target])
    rate, abort = rollout(spec, fleet)
    name = component_name(spec, target)
    package = {
        "package": label,
        "version": version,
        "content_sha256": content,
        "component": name,
        "hardware": spec.targets[target].hardware,
        "kind": kind,
        "models": _models(spec, plan, target),
        "files": hashes,
    }
    base = f"{target}/"
    for path, data in extra.items():
        out.files[base + path] = data
    out.files[base + "package.json"] = json_bytes(package)
    job = {"jobExecutionsRolloutConfig": {"exponentialRate": rate, "maximumPerMinute": 1000}}
    if abort:
        job["abortConfig"] = abort
    policies = {
        "failureHandlingPolicy": "ROLLBACK",
        "componentUpdatePolicy": {"action": "NOTIFY_COMPONENTS", "timeoutInSeconds": 60},
        "configurationValidationPolicy": {"timeoutInSeconds": 60},
    }
    deployment_name = f"{spec.metadata.name}-{target}-{version}"
    cli_input = {
        "targetArn": "arn:aws:iot:REGION:ACCOUNT:thinggroup/" + target,
        "deploymentName": deployment_name,
        "components": {name: {"componentVersion": version}},
        "deploymentPolicies": policies,
        "iotJobConfiguration": job,
    }
    out.files[base + "greengrass/create-deployment.json"] = json_bytes(cli_input)
    models, collisions = model_artifacts(spec, plan, target, kind)
    for workload, uri in collisions:
        out.diagnostics.append(
            diag(
                "ES607",
                f"{workload}: {uri} has the file name of another model of {target}; Greengrass downloads "
                "artifacts by file name, so this one is fetched with the AWS CLI on the device instead",
                **source.at(f"/workloads/{workload}", key=True),
                hint="give the model files distinct names in S3 (e.g. <model>-<version>.onnx)",
            )
        )
    # deploy.py creates the component version from recipe.json, then a deployment that keeps the group's others
    out.files[base + "greengrass/deploy.py"] = ship("greengrass_deploy", __version__)
    urls = json.loads({**mine, **extra}.get("health.json", b'{"urls": []}'))["urls"]
    health = urls[0] if urls else ""
    out.files[base + "greengrass/recipe.json"] = json_bytes(
        recipe(spec, target, kind, version, content, "${ArtifactBucket}", models, health, collector)
    )
    bucket = "${ArtifactBucket}"
    inline = json.dumps(
        recipe(
            spec, target, kind, version, content, bucket, [m.replace("${", "${!") for m in models], health, collector
        ),
        sort_keys=True,
    )
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"edgespec {__version__}: Greengrass component and staged deployment for {target}",
        "Parameters": {
            "ArtifactBucket": {"Type": "String", "Description": "S3 bucket holding <component>/<version>/bundle.zip"},
            "ThingGroupArn": {
                "Type": "String",
                "AllowedPattern": "^arn:aws[a-z-]*:iot:.+:thinggroup/.+$",
                "Description": f"Thing group of the {target} fleet ({fleet} devices)",
            },
        },
        "Resources": {
            "Component": {
                "Type": "AWS::GreengrassV2::ComponentVersion",
                "Properties": {"InlineRecipe": {"Fn::Sub": inline}},
            },
            "Deployment": {
                "Type": "AWS::GreengrassV2::Deployment",
                "Properties": {
                    "TargetArn": {"Ref": "ThingGroupArn"},
                    "DeploymentName": deployment_name,
                    "Components": {name: {"ComponentVersion": {"Fn::GetAtt": ["Component", "ComponentVersion"]}}},
                    "DeploymentPolicies": _pascal(policies),
                    "IotJobConfiguration": _pascal(job),
                },
            },
        },
    }
    out.files[base + "greengrass/greengrass.yaml"] = yaml_documents([template])
    watched = [w for w, _, _ in router.routed(plan, target, spec)]  # their routers report the rollback signals
    settings = None
    if spec.rollout and watched:
        settings = watch_settings(spec, target, name, deployment_name, label, watched)
    if settings:
        out.files[base + "greengrass/rollback.json"] = json_bytes(settings)
        out.files[base + "greengrass/watch_rollout.py"] = ship("greengrass_watch", __version__)
        out.files[base + "greengrass/cohorts.py"] = ship("greengrass_cohorts", __version__)
    out.files[base + "greengrass/README.md"] = _readme(
        target, name, version, label, fleet, rate, abort, settings, toolchain["otelcol_contrib"] if collector else None
    )
    return out
