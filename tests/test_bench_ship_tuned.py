"""bench/ship_tuned.py: re-tuning a kernel without --shapes drops that preset's stale entries of
the kernel's name, so a kernel whose entries share their name with another's must not be
re-tuned alone (softmax and softmax_fast are both the kernel ``softmax`` in tuned.json)."""
import sys
from pathlib import Path

import pytest

from rvai import tune

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import ship_tuned  # noqa: E402


def _no_tuning(*args, **kwargs):
    raise AssertionError("tuned although the kernels named would drop another kernel's entries")


@pytest.mark.parametrize("alone", ["softmax", "softmax_fast", "attention", "attention_fast"])
def test_a_kernel_sharing_its_entries_name_is_not_retuned_alone(alone, monkeypatch, capsys):
    """Refused before anything is tuned or written, naming the kernel that shares the name."""
    monkeypatch.setattr(tune, "tune", _no_tuning)
    before = tune.SHIPPED.read_bytes()
    with pytest.raises(SystemExit):
        ship_tuned.main(["--presets", "generic", "--kernels", alone, "--dry-run"])
    other = {"softmax": "softmax_fast", "softmax_fast": "softmax", "attention": "attention_fast",
             "attention_fast": "attention"}[alone]
    assert f"with {other}" in capsys.readouterr().err
    assert tune.SHIPPED.read_bytes() == before
