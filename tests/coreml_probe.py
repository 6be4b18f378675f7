"""Run under .venv-coreml's Python (PyTorch and Core ML Tools), not the test process:

    python coreml_probe.py build DIR       writes DIR/tiny.pt (TorchScript) and DIR/tiny.pt2 (torch.export)
    python coreml_probe.py inspect PKG     prints what a saved .mlpackage holds, as JSON

The tiny model: input [1, 3, 16, 16] -> Conv 3x3 (16) -> ReLU -> mean -> Linear (256) -> ReLU ->
Linear (4) -> softmax; its 4096-element Linear weight is past Core ML Tools' compression threshold
(2048), so int8 and int4 recipes visibly change how weights are stored."""

import json
import sys


def build(folder):
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)
            self.hidden = torch.nn.Linear(16, 256)
            self.head = torch.nn.Linear(256, 4)

        def forward(self, x):
            y = torch.relu(self.conv(x)).mean(dim=(2, 3))
            return torch.softmax(self.head(torch.relu(self.hidden(y))), -1)

    torch.manual_seed(0)
    model, example = Tiny().eval(), torch.rand(1, 3, 16, 16)
    torch.jit.trace(model, example).save(f"{folder}/tiny.pt")
    torch.export.save(torch.export.export(model, (example,)), f"{folder}/tiny.pt2")


def inspect(package):
    import coremltools as ct

    spec = ct.models.MLModel(package, skip_model_load=True).get_spec()

    def shape(feature):
        return list(feature.type.multiArrayType.shape)

    ops = [
        op for f in spec.mlProgram.functions.values() for b in f.block_specializations.values() for op in b.operations
    ]
    print(
        json.dumps(
            {
                "specification_version": spec.specificationVersion,
                "inputs": {i.name: shape(i) for i in spec.description.input},
                "outputs": [o.name for o in spec.description.output],
                "metadata": dict(spec.description.metadata.userDefined),
                "author": spec.description.metadata.author,
                "version": spec.description.metadata.versionString,
                "op_types": sorted({op.type for op in ops}),
            }
        )
    )


if __name__ == "__main__":
    {"build": build, "inspect": inspect}[sys.argv[1]](sys.argv[2])
