"""bench/attention_whatif.py: each model change reaches the instructions it names, also where the
preset prices one of them by its own row (spacemit-x60's and sifive-x280's ``vsse32.v``), which
the model takes over a prefix row such as the change's ``vsse*``."""
import sys
from pathlib import Path

import pytest

from rvai.target import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import attention_whatif  # noqa: E402

#: a prefill small enough to run in a second; its default configuration (no tuned entry) builds the
#: tile's queries by strided stores, so the vsse row prices part of it.
CASE = ["--heads", "2,1,16", "--lq", "16", "--lk", "16"]


def _cycles(preset, rows, label):
    return next(r["cycles"] for r in rows if r["change"] == label)


@pytest.mark.parametrize("preset", ["spacemit-x60", "sifive-x280", "xuantie-c930", "generic"])
def test_vsse_occupancy_reaches_the_presets_own_vsse_row(preset, monkeypatch):
    """"vsse occupancy 1" costs fewer cycles than the preset, and on a preset with its own
    ``vsse32.v`` row exactly as many as that row set to occupancy 1 by name. Unchecked, as the
    bench runs it (the suite checks kernels, which changes their code and cycles)."""
    monkeypatch.setenv("RVAI_CHECKED", "0")
    rows = attention_whatif.main(["--preset", preset, *CASE])
    base, changed = _cycles(preset, rows, "preset"), _cycles(preset, rows, "vsse occupancy 1")
    assert changed < base
    if "vsse32.v" in Target.preset(preset).model.get("vcost", {}):
        by_name = ("vsse32.v by name", {"vcost": {"vsse32.v": {"occ": {"const": 1.0}}}})
        monkeypatch.setattr(attention_whatif, "CHANGES", [by_name])
        assert _cycles(preset, attention_whatif.main(["--preset", preset, *CASE]), by_name[0]) == changed
