"""bench/first_call.py --cached: its fresh processes run the checkout they name and the
program it says (a `rvai run` whose guest exits 7, as the ISA's ``li a0, 7`` and exit call
make it), and its table's ratios and spreads are what its own medians say.  No speed is
asserted; the runs share one kernel cache, so only the first compiles."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import first_call  # noqa: E402

#: The rows --cached prints, in order: the ops child's, then the `rvai run` child's.
ROWS = [f"{op} {n}" for op in ("softmax", "rmsnorm", "linear", "attention") for n in ("first", "second")]
ROWS = ["import", *ROWS, "rvai run (process)"]
NUMBER = r"(\d+\.\d+)"


@pytest.fixture(autouse=True)
def default_tier(monkeypatch):
    """The children run the default tier, as a user's do, whatever the suite's --tier (which
    would have every block translated, LLVM loaded, in each of them)."""
    monkeypatch.delenv("RVAI_TIER", raising=False)
    monkeypatch.delenv("RVAI_JIT_HOT", raising=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One kernel cache for the module's runs."""
    return str(tmp_path_factory.mktemp("cache"))


def test_cached_against_itself_prints_every_row_with_its_ratios_and_quartiles(cache, capsys):
    """This checkout as its own base, 2 rounds: every row; base/this is the base's median over
    this one's (from the printed medians, to their rounding); each quartile range holds its
    median; the pairs' ratio range holds ratios of runs whose medians the row prints."""
    assert first_call.main(["--cached", "--repeat", "2", "--base", str(ROOT), "--cache", cache]) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("ms (median of 2)"))
    rows = out[header + 1:header + 1 + len(ROWS)]
    assert [r[:24].strip() for r in rows] == ROWS
    for row in rows:
        cells = row[24:].split()
        this_w, base_w, this_c, base_c, ratio_w, ratio_c = map(float, cells[:6])
        assert min(this_w, base_w, this_c, base_c) > 0
        for ratio, base, this in ((ratio_w, base_w, this_w), (ratio_c, base_c, this_c)):
            # (the medians are printed to 0.1 ms: their quotient is known to that rounding)
            assert (base - 0.05) / (this + 0.05) - 0.005 <= ratio <= (base + 0.05) / max(this - 0.05, 1e-9) + 0.005
        spreads = [tuple(map(float, re.fullmatch(f"{NUMBER}-{NUMBER}", c).groups())) for c in cells[6:]]
        assert len(spreads) == 3
        for (q1, q3), median in zip(spreads, (this_c, base_c)):
            assert q1 - 0.05 <= median <= q3 + 0.05, row
        assert spreads[2][0] <= spreads[2][1]
    assert out[-2] == "llvmlite.binding loaded: this False, base False"


def test_a_program_exiting_otherwise_than_said_is_an_error(cache, monkeypatch):
    """The bench checks the guest's exit status: told to expect 8 from ``li a0, 7`` it stops."""
    monkeypatch.setattr(first_call, "EXIT7", (first_call.EXIT7[0], 8))
    with pytest.raises(SystemExit, match="exit status 7, not 8"):
        first_call.main(["--cached", "--repeat", "1", "--cache", cache])


def test_a_base_without_rvai_is_refused(cache, tmp_path):
    """A --base that holds no rvai must not measure the installed rvai in its place."""
    with pytest.raises(SystemExit, match="not from"):
        first_call.main(["--cached", "--repeat", "1", "--base", str(tmp_path), "--cache", cache])


@pytest.mark.parametrize("argv", [["--cached", "--quick"], ["--base", "x"], ["--this", "x"], ["--cached", "--qwen", "m"]])
def test_options_of_another_mode_are_refused(argv, capsys):
    """Options that belong to another mode end in argparse's usage error, not a silent run."""
    with pytest.raises(SystemExit) as e:
        first_call.main(argv)
    assert e.value.code == 2 and "error:" in capsys.readouterr().err
