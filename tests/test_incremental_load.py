"""incremental.reload gives exactly what loading the whole text gives: data, every key's and value's
position (in the same order), diagnostics; and it re-reads only the edited entry when it can."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench import gen
from edgespec.load import incremental
from edgespec.load.loader import load_bytes

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def _same(a, b) -> None:
    assert a.data == b.data
    assert list(a.source.values.items()) == list(b.source.values.items())
    assert list(a.source.keys.items()) == list(b.source.keys.items())
    assert a.source.text == b.source.text
    assert a.diagnostics == b.diagnostics
    assert a.anchors == b.anchors


def _edit(rng: random.Random, text: str) -> str:
    """One random edit, as typing makes them: most keep the spec valid, some break it."""
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    kind = rng.randrange(9)
    if kind == 0 and any(c.isdigit() for c in line):  # a figure changes
        j = rng.choice([k for k, c in enumerate(line) if c.isdigit()])
        lines[i] = line[:j] + str(rng.randrange(10)) + line[j + 1 :]
    elif kind == 1:  # a comment line comes in
        lines.insert(i, " " * (len(line) - len(line.lstrip())) + "# note")
    elif kind == 2:  # a line goes
        del lines[i]
    elif kind == 3:  # a line is doubled (a duplicate key, usually)
        lines.insert(i, line)
    elif kind == 4:  # a field comes in
        lines.insert(i, " " * (len(line) - len(line.lstrip())) + "description: added")
    elif kind == 5:  # the indentation moves
        lines[i] = line[1:] if line.startswith(" ") and rng.random() < 0.5 else " " + line
    elif kind == 6:  # a character is typed anywhere
        j = rng.randrange(len(line) + 1)
        lines[i] = line[:j] + rng.choice([":", "{", "'", "- ", "&a ", "*a", "x", " ", "#"]) + line[j:]
    elif kind == 7 and ":" in line:  # a key is renamed
        lines[i] = line.replace(":", "x:", 1)
    else:  # a value is retyped
        lines[i] = line.rstrip() + "0" if line.strip() else line
    return "\n".join(lines)


@pytest.mark.parametrize("base", ["gen-12", *[p.name for p in EXAMPLES]])
def test_a_chain_of_random_edits_reloads_as_a_whole_load_does(base: str) -> None:
    text = gen.spec(12) if base == "gen-12" else (EXAMPLES[0].parent / base).read_text()
    rng = random.Random(base)
    previous = load_bytes(text.encode(), "s.yaml")
    spliced = 0
    for _ in range(150):
        if previous.data is None or rng.random() < 0.1:
            text = (gen.spec(12) if base == "gen-12" else (EXAMPLES[0].parent / base).read_text()) + "\n"
            previous = load_bytes(text.encode(), "s.yaml")
        text = _edit(rng, text)
        spliced += incremental.splice(previous, text, "s.yaml") is not None
        again = incremental.reload(previous, text.encode(), "s.yaml")
        _same(again, load_bytes(text.encode(), "s.yaml"))
        previous = again
    assert spliced >= 30  # the chain exercised the re-read path, not only the fallback


def test_a_budget_edit_rereads_one_workload_and_later_positions_move_with_inserted_lines() -> None:
    text = gen.spec(20)
    previous = load_bytes(text.encode(), "s.yaml")
    edited = text.replace("p95_ms: ", "p95_ms: 9", 1)
    again = incremental.splice(previous, edited, "s.yaml")
    assert again is not None
    _same(again, load_bytes(edited.encode(), "s.yaml"))
    first = next(iter(previous.data["workloads"]))
    assert again.data["workloads"][first] != previous.data["workloads"][first]
    assert again.data["models"] is previous.data["models"]  # untouched entries are shared, not re-read
    # two lines in: everything after them is two lines lower
    lines = edited.split("\n")
    at = lines.index(next(line for line in lines if "p95_ms" in line))
    grown = "\n".join(lines[:at] + ["      # one", "      # two"] + lines[at:])
    moved = incremental.splice(again, grown, "s.yaml")
    assert moved is not None
    _same(moved, load_bytes(grown.encode(), "s.yaml"))
    last = list(again.data["workloads"])[-1]
    assert moved.source.keys[f"/workloads/{last}"].line == again.source.keys[f"/workloads/{last}"].line + 2


def test_what_cannot_be_shown_equal_is_read_whole() -> None:
    text = gen.spec(20)
    loaded = load_bytes(text.encode(), "s.yaml")
    lines = text.rstrip("\n").split("\n")
    # the last line of the document: no key after the entry to close it
    assert incremental.splice(loaded, "\n".join(lines[:-1] + [lines[-1] + "0"]) + "\n", "s.yaml") is None
    # anchors anywhere: an alias elsewhere could read the entry
    anchored = text.replace("models:", "x-defaults: &d {a: 1}\nmodels:", 1)
    with_anchor = load_bytes(anchored.encode(), "s.yaml")
    assert with_anchor.anchors
    assert incremental.splice(with_anchor, anchored.replace("p95_ms: ", "p95_ms: 9", 1), "s.yaml") is None
    # an edit spanning two workloads
    a, b = [i for i, line in enumerate(lines) if "p95_ms" in line][:2]
    both = list(lines)
    both[a] += "0"
    both[b] += "0"
    assert incremental.splice(loaded, "\n".join(both) + "\n", "s.yaml") is None
    # a broken previous text
    broken = load_bytes(b"a: [", "s.yaml")
    assert incremental.splice(broken, "a: []\n", "s.yaml") is None
