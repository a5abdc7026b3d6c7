"""docs/isa-coverage.md lists every vector instruction of the C core's table,
and nothing the table does not have: the coverage page cannot drift from the code."""
import re
from pathlib import Path

from rvai.emu.isa import table

DOC = Path(__file__).resolve().parent.parent / "docs" / "isa-coverage.md"


def test_coverage_page_lists_exactly_the_vector_rows():
    listed = re.findall(r"^\| `([^`]+)`", DOC.read_text(), re.M)
    vector = {row.name for row in table().values() if row.cls.startswith("V")}
    assert len(listed) == len(set(listed)), "an instruction is listed twice"
    assert sorted(vector - set(listed)) == [], "instructions missing from docs/isa-coverage.md"
    assert sorted(set(listed) - vector) == [], "docs/isa-coverage.md lists instructions the core lacks"
