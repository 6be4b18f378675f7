"""Check that a Hugging Face checkpoint is quantized as the plan says.

vLLM serves a checkpoint at the precision its config.json declares (quantization_config: AWQ or
GPTQ 4-bit, compressed-tensors 8-bit, ...), so a pool sized for int4 must be given an int4
checkpoint: this stops the pod before serving anything else.

    python3 check_checkpoint.py CHECKPOINT_DIR fp16|int8|int4
"""

import json
import pathlib
import sys

BITS = {"int4": 4, "int8": 8}
KEYS = ("bits", "num_bits", "w_bit", "weight_bits")


def widths(value):
    """Every weight width a quantization_config declares, however nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in KEYS and isinstance(item, int):
                yield item
            else:
                yield from widths(item)
    elif isinstance(value, list):
        for item in value:
            yield from widths(item)


def check(directory, precision):
    config_path = pathlib.Path(directory) / "config.json"
    if not config_path.is_file():
        return f"{directory}: no config.json: not a Hugging Face checkpoint"
    quantization = json.loads(config_path.read_text()).get("quantization_config")
    if precision not in BITS:
        if quantization:
            return (
                f"{directory}: the plan serves it at {precision}, but the checkpoint is quantized "
                f"({quantization.get('quant_method', 'unknown method')})"
            )
        return None
    found = set(widths(quantization or {}))
    if BITS[precision] not in found:
        return (
            f"{directory}: the plan serves it at {precision}, but the checkpoint declares "
            f"{'no quantization' if not quantization else 'weight widths ' + str(sorted(found))}: "
            f"give a {BITS[precision]}-bit checkpoint (AWQ or GPTQ for int4, compressed-tensors for int8)"
        )
    return None


def main():
    problem = check(sys.argv[1], sys.argv[2])
    if problem:
        sys.exit(problem)
    print(f"{sys.argv[1]}: quantized as planned ({sys.argv[2]})")


if __name__ == "__main__":
    main()
