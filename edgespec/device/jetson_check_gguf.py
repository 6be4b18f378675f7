"""Check that a GGUF file stores the precision the plan chose.

llama.cpp serves a GGUF file at the quantization it was written with, so a file of another type
would serve a model the plan did not price (its memory, speed and accuracy). This reads the file's
header (the GGUF key/value metadata, standard library only) and compares `general.file_type`
(llama.h's llama_ftype) with the types that store the planned precision.

usage: check_gguf.py FILE PRECISION FILE_TYPE [FILE_TYPE ...]   (exit 0: as planned; 1: not)
"""

import struct
import sys

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
NAMES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    25: "IQ4_NL",
    30: "IQ4_XS",
    32: "BF16",
}


class Reader:
    def __init__(self, f):
        self.f = f

    def take(self, fmt):
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ValueError("the file ends inside its header")
        return struct.unpack(fmt, data)[0]

    def string(self):
        n = self.take("<Q")
        if n > 1 << 20:
            raise ValueError("a header string is implausibly long")
        return self.f.read(n).decode("utf-8", "replace")

    def value(self, kind):
        if kind in SCALARS:
            return self.take(SCALARS[kind])
        if kind == STRING:
            return self.string()
        if kind == ARRAY:
            item, count = self.take("<I"), self.take("<Q")
            for _ in range(count):  # skipped: nothing here needs an array's items
                self.value(item)
            return None
        raise ValueError(f"unknown GGUF value type {kind}")


def file_type(path):
    """`general.file_type` of a GGUF file (None when the header does not record it)."""
    with open(path, "rb") as f:
        r = Reader(f)
        if f.read(4) != b"GGUF":
            raise ValueError("not a GGUF file (no GGUF magic)")
        version = r.take("<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is too old for this llama.cpp")
        r.take("<Q")  # tensors
        for _ in range(r.take("<Q")):
            key = r.string()
            value = r.value(r.take("<I"))
            if key == "general.file_type":
                return value
    return None


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path, precision, accepted = argv[1], argv[2], {int(a) for a in argv[3:]}
    try:
        found = file_type(path)
    except (OSError, ValueError) as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 1
    if found not in accepted:
        want = ", ".join(NAMES.get(t, str(t)) for t in sorted(accepted))
        got = "not recorded" if found is None else NAMES.get(found, f"type {found}")
        print(
            f"{path}: the plan serves it at {precision} ({want}); the file is {got}. Quantize it with "
            f"llama-quantize to one of those types, or change the spec's precision",
            file=sys.stderr,
        )
        return 1
    print(f"{path}: {NAMES.get(found, found)}, as planned ({precision})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
