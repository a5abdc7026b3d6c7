"""Where a Qwen decoder layer's cycles go on a RISC-V target, and the predicted tokens per second.

    python bench/qwen.py --model qwen2.5-0.5b --target spacemit-x60 --phase decode --context 512
    python bench/qwen.py --model qwen3-8b --target sifive-x280 --phase prefill --tokens 128 --json out.json --plot out.png

One decoder layer runs in the emulator with random weights (rvai.models); each operator
is one rvai.ops call timed by the target's model. The table gives, per operator, its
cycles per layer (or per step for embedding / final norm / LM head), its share of the
step, FLOPs, DRAM bytes, FLOP/cycle, % of the f32 peak and whether the roofline makes it
compute- or memory-bound; then the time per layer, per token and tokens/s at the preset's
clock. Operators marked * were sampled (slices scaled up, see rvai/models/costs.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from rvai.models import configs
from rvai.models.predict import DEFAULT_MAX_MACS, PHASES, Prediction, predict
from rvai.target import Target


def table(pred: Prediction) -> str:
    """The per-operator table and the summary lines."""
    roof = pred.roofline
    step = pred.cycles_per_step
    lines = [f"{pred.cfg.name} on {pred.target.name} (VLEN {pred.target.vlen}, {roof.clock_ghz:g} GHz): "
             f"{pred.phase} of {pred.tokens} token(s) after {pred.context} cached, {pred.dtype} weights, "
             f"{pred.cfg.num_hidden_layers} layers",
             f"peaks: {roof.peak_flops:g} f32 FLOP/cycle, {roof.peak_bytes:g} DRAM B/cycle "
             f"(ridge {roof.ridge:.2f} FLOP/B)", "",
             f"{'operator':<22}{'per':>6}{'cycles':>15}{'share':>8}{'FLOPs':>14}{'bytes':>14}"
             f"{'FLOP/cyc':>10}{'% peak':>8}  bound"]
    for op, count in pred.ops():
        mark = "*" if op.scale > 1 else " "
        fpc = op.flops / op.cycles if op.cycles else 0.0
        lines.append(f"{op.name + mark:<22}{'layer' if count > 1 else 'step':>6}{op.cycles:>15,.0f}"
                     f"{100 * op.cycles * count / step:>7.1f}%{op.flops:>14,.0f}{op.bytes:>14,.0f}"
                     f"{fpc:>10.2f}{100 * fpc / roof.peak_flops:>7.1f}%  {roof.bound(op)}")
    ghz = roof.clock_ghz * 1e9
    lines += ["",
              f"per layer: {pred.cycles_per_layer:,.0f} cycles = {1e3 * pred.cycles_per_layer / ghz:.3f} ms",
              f"per step ({pred.cfg.num_hidden_layers} layers + embedding + LM head): {step:,.0f} cycles = "
              f"{1e3 * step / ghz:.2f} ms",
              f"per token: {1e3 * pred.seconds_per_token:.3f} ms -> {pred.tokens_per_s:.2f} tokens/s "
              f"(bounded by {pred.bounding().name}, {roof.bound(pred.bounding())}-bound)"]
    sampled = pred.layer.sampled + pred.head.sampled
    if sampled:
        lines.append(f"* sampled: {', '.join(sampled)} ran on slices (output columns, KV heads or one expert "
                     "per token count) and were scaled up; see rvai/models/costs.py")
    return "\n".join(lines)


def plot(pred: Prediction, path: str) -> None:
    """A roofline of the target with each operator as a point (FLOPs per DRAM byte, FLOPs per cycle)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    roof = pred.roofline
    step = pred.cycles_per_step
    points = [(f"{op.name} ({100 * op.cycles * count / step:.1f}%)", op.flops / op.bytes, op.flops / op.cycles)
              for op, count in pred.ops() if op.bytes and op.flops and op.cycles]
    lo = min([p[1] for p in points] + [roof.ridge]) / 4
    hi = max([p[1] for p in points] + [roof.ridge]) * 4
    xs = np.geomspace(lo, hi, 200)
    fig, ax = plt.subplots(figsize=(10, 6))
    ax.loglog(xs, [roof.attainable(x) for x in xs], "k-", label="roofline (f32 peak, DRAM)")
    ax.axvline(roof.ridge, color="grey", linestyle=":", linewidth=1)
    markers = "osD^v<>px*h"
    for i, (label, intensity, perf) in enumerate(points):
        ax.loglog(intensity, perf, markers[i % len(markers)], markersize=8, label=label)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), title="operator (share of step)")
    ax.set_xlabel("operational intensity (FLOP per DRAM byte)")
    ax.set_ylabel("FLOP per cycle")
    ax.set_title(f"{pred.cfg.name} {pred.phase} on {pred.target.name}: {pred.tokens_per_s:.2f} tokens/s predicted")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    """Parse the command line, emulate, print the table; write --json and --plot if asked. Returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(configs.CONFIGS))
    ap.add_argument("--target", default="generic", choices=Target.presets())
    ap.add_argument("--phase", default="decode", choices=PHASES)
    ap.add_argument("--tokens", type=int, default=128, help="prefill tokens (decode: always 1)")
    ap.add_argument("--context", type=int, default=0, help="tokens already in the KV cache")
    ap.add_argument("--dtype", default="f32", help="projection weights: f32 or f16 (bf16, int8: not yet)")
    ap.add_argument("--max-macs", type=float, default=DEFAULT_MAX_MACS,
                    help="sample operators above this many multiply-accumulates (0: never sample)")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--plot", help="draw the roofline with each operator to this PNG (needs matplotlib)")
    args = ap.parse_args(argv)
    start = time.time()
    pred = predict(configs.get(args.model), Target.preset(args.target), args.phase, args.tokens, args.context,
                   args.dtype, args.max_macs or None)
    print(table(pred))
    print(f"(emulated in {time.time() - start:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(pred.to_dict(), f, indent=1)
    if args.plot:
        plot(pred, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
