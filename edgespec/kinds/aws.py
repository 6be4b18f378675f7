"""AWS pools (aws-ec2 in a region, aws-wavelength in a carrier's zone): one form per pool, the
target's `orchestrator`: a CloudFormation stack of GPU instances, or Kubernetes manifests."""

from edgespec.kinds.base import Kind

EMITTERS = ("edgespec.emit.cloudformation", "edgespec.emit.kubernetes")
WAVELENGTH = Kind(name="wavelength", emitters=EMITTERS, formats=("onnx", "safetensors"))
EC2 = Kind(name="ec2", emitters=EMITTERS, formats=("onnx", "safetensors"))
