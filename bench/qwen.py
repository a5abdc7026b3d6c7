"""Where a Qwen decoder layer's cycles go on a RISC-V target, and the predicted tokens per second.

    python bench/qwen.py --model qwen2.5-0.5b --target spacemit-x60 --phase decode --context 512
    python bench/qwen.py --model qwen3-8b --target sifive-x280 --phase prefill --tokens 128 --json out.json --plot out.png

One decoder layer runs in the emulator with random weights (rvai.models); each operator
is one rvai.ops call timed by the target's model. The table gives, per operator, its
cycles per layer (or per step for embedding / final norm / LM head), its share of the
step, FLOPs, DRAM bytes, FLOP/cycle, % of the f32 peak and whether the roofline makes it
compute- or memory-bound; then the time per layer, per token and tokens/s at the preset's
clock. Operators marked * were sampled (slices scaled up, see rvai/models/costs.py).
``--resources`` adds the process's user and system CPU and peak RSS (``getrusage``) at the
end; to compare two checkouts, whose qwen.py may lack it, ``bench/first_call.py --qwen MODEL
--base DIR`` measures each run from outside.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from rvai.models import configs
from rvai.models.layer import WEIGHT_DTYPES
from rvai.models.predict import DEFAULT_MAX_MACS, PHASES, Prediction, predict
from rvai.target import Target

#: The presets ``--target all`` covers (the real-core presets and generic).
DOC_TARGETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"]


def table(pred: Prediction) -> str:
    """The per-operator table and the summary lines."""
    roof = pred.roofline
    step = pred.cycles_per_step
    lines = [f"{pred.cfg.name} on {pred.target.name} (VLEN {pred.target.vlen}, {roof.clock_ghz:g} GHz): "
             f"{pred.phase} of {pred.tokens} token(s) after {pred.context} cached, {pred.dtype} weights, "
             f"{pred.cfg.num_hidden_layers} layers",
             f"peaks: {roof.peak_flops:g} f32 FLOP/cycle, {roof.peak_bytes:g} DRAM B/cycle "
             f"(ridge {roof.ridge:.2f} FLOP/B)", "",
             f"{'operator':<22}{'per':>6}{'cycles':>15}{'share':>8}{'FLOPs':>17}{'bytes':>17}"
             f"{'FLOP/cyc':>10}{'% peak':>8}  bound"]
    for op, count in pred.ops():
        mark = "*" if op.scale > 1 else " "
        fpc = op.flops / op.cycles if op.cycles else 0.0
        lines.append(f"{op.name + mark:<22}{'layer' if count > 1 else 'step':>6}{op.cycles:>15,.0f}"
                     f"{100 * op.cycles * count / step:>7.1f}%{op.flops:>17,.0f}{op.bytes:>17,.0f}"
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


def summary_row(pred: Prediction) -> str:
    """One markdown row: model, target, phase, tokens/s, ms per token, the costliest operator and its bound."""
    top = pred.bounding()
    share = 100 * top.cycles * (pred.cfg.num_hidden_layers if top.name in pred.layer.ops else 1) / pred.cycles_per_step
    return (f"| {pred.cfg.name} | {pred.target.name} | {pred.phase} | {pred.tokens_per_s:.3g} | "
            f"{1e3 * pred.seconds_per_token:.4g} | {top.name} ({share:.0f}%, {pred.roofline.bound(top)}) |")


def main(argv=None) -> int:
    """Parse the command line, emulate, print the table; write --json and --plot if asked. Returns 0.

    ``--model all``, ``--target all`` or ``--phase both`` run every combination and print
    one markdown row per case (the table of docs/qwen.md); --json then holds a list.
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(configs.CONFIGS) + ["all"])
    ap.add_argument("--target", default="generic", choices=Target.presets() + ["all"])
    ap.add_argument("--phase", default="decode", choices=PHASES + ("both",))
    ap.add_argument("--tokens", type=int, default=128, help="prefill tokens (decode: always 1)")
    ap.add_argument("--context", type=int, default=0, help="tokens already in the KV cache")
    ap.add_argument("--dtype", default="f32", choices=list(WEIGHT_DTYPES),
                    help="projection weights (int8: Q8_0 blocks)")
    ap.add_argument("--max-macs", type=float, default=DEFAULT_MAX_MACS,
                    help="sample operators above this many multiply-accumulates (0: never sample)")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--plot", help="draw the roofline with each operator to this PNG (needs matplotlib)")
    ap.add_argument("--resources", action="store_true", help="print the process's CPU, system time and peak RSS")
    args = ap.parse_args(argv)
    models = sorted(configs.CONFIGS) if args.model == "all" else [args.model]
    targets = DOC_TARGETS if args.target == "all" else [args.target]
    phases = PHASES if args.phase == "both" else (args.phase,)
    cases = [(m, t, p) for m in models for t in targets for p in phases]
    if len(cases) > 1 and args.plot:
        ap.error("--plot draws one case: choose one model, target and phase")
    results = []
    if len(cases) > 1:
        print("| model | target | phase | tokens/s | ms/token | costliest operator (share, bound) |")
        print("|---|---|---|---|---|---|")
    for model, target, phase in cases:
        start = time.time()
        pred = predict(configs.get(model), Target.preset(target), phase, args.tokens, args.context,
                       args.dtype, args.max_macs or None)
        results.append(pred.to_dict())
        if len(cases) > 1:
            print(summary_row(pred), flush=True)
        else:
            print(table(pred))
            print(f"(emulated in {time.time() - start:.0f} s)")
            if args.plot:
                plot(pred, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results[0] if len(results) == 1 else results, f, indent=1)
    if args.resources:
        use = resource.getrusage(resource.RUSAGE_SELF)   # (ru_maxrss: KiB on Linux)
        print(f"(process: user {use.ru_utime:.2f} s, system {use.ru_stime:.2f} s, peak RSS {use.ru_maxrss / 1024:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
