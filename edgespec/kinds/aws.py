"""AWS pools (aws-ec2 in a region, aws-wavelength in a carrier's zone): one form per pool, the
target's `orchestrator`: a CloudFormation stack of GPU instances, or Kubernetes manifests."""

from edgespec.kinds.base import Kind, Remote

EMITTERS = ("edgespec.emit.cloudformation", "edgespec.emit.kubernetes")
# A Wavelength zone's instances are priced in the catalog at the parent region's rate, a lower bound
WAVELENGTH = Kind(
    name="wavelength",
    emitters=EMITTERS,
    remote=Remote("mec", "AWS Wavelength", pooled=True, price_is_lower_bound=True, split_tails=True),
)
EC2 = Kind(
    name="ec2",
    emitters=EMITTERS,
    remote=Remote("cloud", "EC2", pooled=True, split_tails=True),
)
