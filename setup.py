"""setuptools entry point: only to hand cffi its build script (pyproject.toml holds the rest)."""
from setuptools import setup

setup(cffi_modules=["rvai/_build_rvemu.py:ffibuilder"])
