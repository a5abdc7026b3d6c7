"""rvai: write AI kernels for RISC-V vector machines, and run and profile them
without the hardware.  See README.md and docs/."""
__version__ = "0.1.0"
