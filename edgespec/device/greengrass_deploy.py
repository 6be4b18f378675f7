"""Deploy this package to a thing group (a fleet, or one cohort of it) and keep the group's other components.

A Greengrass deployment replaces the thing group's previous one: a deployment that lists only this
component would remove everything else the group runs. This creates the component version from
recipe.json (its artifacts in your bucket), reads the group's latest deployment, keeps its
components, puts this package's component among them, and creates the deployment from
create-deployment.json with that list. Given a cohort's group (cohorts.py made them), a stage of
the rollout reaches that cohort and no other device.

Component versions are immutable in Greengrass, so a version names one content: when the version
exists already, its recipe's ContentSha256 must be this package's, or nothing is deployed (a
changed package needs a new metadata.version in the spec).

    python3 deploy.py arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME ARTIFACT_BUCKET \
        [--otlp-token-secret arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME] [--json]

--otlp-token-secret sets the component's OtlpTokenSecretArn: its Install step fetches the OTLP
backend's bearer token from that secret (with the device role, which needs
secretsmanager:GetSecretValue on it) into the collector's token file.

With --json it prints {"deploymentId", "targetArn", "previous"}: "previous" holds the components
of the group's deployment before this one, which is what a rollback deploys again. Standard
library only; the AWS CLI (v1 or v2) must be on PATH with credentials.
"""

from __future__ import annotations

import argparse
import base64
import json
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def aws(*args: str, conflict_ok: bool = False) -> dict | None:
    result = subprocess.run(["aws", "greengrassv2", *args, "--output", "json"], capture_output=True, text=True)
    if result.returncode != 0:
        if conflict_ok and "ConflictException" in result.stderr:
            return None
        sys.exit(f"aws greengrassv2 {args[0]} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


def current_components(target_arn: str) -> dict:
    """The components of the group's latest deployment (none when it has none)."""
    latest = aws("list-deployments", "--target-arn", target_arn, "--history-filter", "LATEST_ONLY")
    deployments = latest.get("deployments") or []
    if not deployments:
        return {}
    return aws("get-deployment", "--deployment-id", deployments[0]["deploymentId"]).get("components") or {}


def _json_file(data: object) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    return f.name


def component_arn(group_arn: str, name: str, version: str) -> str:
    """The component version's ARN, in the thing group's partition, region and account."""
    _, partition, _, region, account, _ = group_arn.split(":", 5)
    return f"arn:{partition}:greengrass:{region}:{account}:components:{name}:versions:{version}"


def create_component(recipe_text: str, group_arn: str) -> None:
    """Create the component version; if it exists, it must hold this package's content."""
    recipe = json.loads(recipe_text)
    path = _json_file(recipe)
    try:
        created = aws("create-component-version", "--inline-recipe", f"fileb://{path}", conflict_ok=True)
    finally:
        pathlib.Path(path).unlink()
    if created is not None:
        return
    name, version = recipe["ComponentName"], recipe["ComponentVersion"]
    mine = recipe["ComponentConfiguration"]["DefaultConfiguration"]["ContentSha256"]
    existing = aws("get-component", "--arn", component_arn(group_arn, name, version), "--recipe-output-format", "JSON")
    theirs = (
        json.loads(base64.b64decode(existing["recipe"]))
        .get("ComponentConfiguration", {})
        .get("DefaultConfiguration", {})
        .get("ContentSha256")
    )
    if theirs != mine:
        sys.exit(
            f"{name} {version} exists already with content sha256 {theirs}; this package is {mine}. "
            "Greengrass component versions are immutable: give the spec a new metadata.version "
            "and compile again"
        )
    print(f"{name} {version} exists with this package's content; deploying it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("group_arn", help="the thing group (arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME)")
    parser.add_argument("bucket", help="the S3 bucket holding <component>/<version>/bundle.zip")
    parser.add_argument("--otlp-token-secret", metavar="ARN", help="the Secrets Manager secret of the OTLP token")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if ":thinggroup/" not in args.group_arn or args.group_arn.count(":") != 5:
        parser.error("expected a thing group ARN (arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME)")
    target_arn = args.group_arn
    create_component((HERE / "recipe.json").read_text().replace("${ArtifactBucket}", args.bucket), target_arn)
    plan = json.loads((HERE / "create-deployment.json").read_text())
    kept = current_components(target_arn)
    mine = plan["components"]
    if args.otlp_token_secret:
        for component in mine.values():
            component["configurationUpdate"] = {"merge": json.dumps({"OtlpTokenSecretArn": args.otlp_token_secret})}
    plan["components"] = {**kept, **mine}
    plan["targetArn"] = target_arn
    plan["deploymentName"] += "-" + target_arn.rsplit("/", 1)[1]  # one name per group: a cohort's is its own
    for name in sorted(set(kept) - set(mine)):
        print(f"keeping {name} {kept[name].get('componentVersion', '')}", file=sys.stderr if args.json else sys.stdout)
    path = _json_file(plan)
    try:
        created = aws("create-deployment", "--cli-input-json", f"file://{path}")
    finally:
        pathlib.Path(path).unlink()
    if args.json:
        print(
            json.dumps(
                {"deploymentId": created.get("deploymentId"), "targetArn": target_arn, "previous": kept}, sort_keys=True
            )
        )
    else:
        print(f"deployment {created.get('deploymentId')} created for {target_arn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
