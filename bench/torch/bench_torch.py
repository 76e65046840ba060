#!/usr/bin/env python3
"""PyTorch side of the webgpu-contrastive benchmark: the same losses (losses.py: lightly's,
SupContrast's and open_clip's formulations), forward + backward to z1 and z2, timed like the Node
bench's fused rows.

  python3 bench_torch.py --quick                  # smoke run (CPU torch works too)
  python3 bench_torch.py --n 128,256,512,1024,2048 --json out.json
  python3 bench_torch.py --check inputs.json      # losses and gradients in float64, as JSON on stdout
                                                  # (supcon's labels: the JSON's "labels", else bench_labels(N))

Per case and variant (fp32 with TF32 off, tf32, torch.compile; CUDA only for the last two):
  - warm-up: the case repeated for at least --warmup-ms (GPU clocks ramp up under sustained work),
    the first and last few timings recorded;
  - throughput: R calls back to back, one synchronize; per-call = total / R; median over --repeats batches;
  - latency: one call and loss.item() (the read-back); median over --repeats calls.
GPU ms from CUDA events (null on CPU), wall ms from perf_counter; peak bytes from
torch.cuda.max_memory_allocated (null on CPU). Output: one JSON object (see bench/NOTES.md).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout or the travelling directory
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from losses import BANK_LOSSES, LOSSES, bench_labels, loss_fn  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="dcl only, N 64,128 at D 32, 2 repeats (a smoke run)")
    p.add_argument("--loss", default=None, help="comma-separated losses, or all (default all; dcl with --quick)")
    p.add_argument("--n", default=None, help="batch sizes, or none (default 128,256,512,1024,2048)")
    p.add_argument("--d", type=int, default=None, help="width D (default 128)")
    p.add_argument("--bank-k", default="", help="also time the bank form with these K (N = --bank-n)")
    p.add_argument("--bank-n", type=int, default=256)
    p.add_argument("--variants", default=None, help="fp32,tf32,compile (default: all available)")
    p.add_argument("--device", default=None, help="cuda or cpu (default cuda when available)")
    p.add_argument("--repeats", type=int, default=None, help="timed batches / calls (default 7)")
    p.add_argument("--batch-ms", type=float, default=50.0, help="throughput batch length to aim for")
    p.add_argument("--warmup-ms", type=float, default=None, help="sustained warm-up per case (default 300)")
    p.add_argument("--probe", action="store_true", help="largest N (doubling from --probe-start) that runs")
    p.add_argument("--probe-start", type=int, default=1024)
    p.add_argument("--probe-loss", default=None, help="losses to probe (default: --loss)")
    p.add_argument("--probe-d", type=int, default=None, help="D of the probe (default: --d)")
    p.add_argument("--probe-max-n", type=int, default=1 << 20)
    p.add_argument("--probe-budget", type=float, default=60.0, help="seconds one probe run may take")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--check", default=None, help="JSON {n, d, z1, z2, bank?, labels?}: print losses and gradients (float64)")
    p.add_argument("--json", default=None, help="write the results here (default stdout)")
    a = p.parse_args(argv)
    a.loss = list(LOSSES) if a.loss in (None, "all") and not a.quick else (["dcl"] if a.loss is None else a.loss.split(","))
    for name in a.loss:
        if name not in LOSSES:
            p.error(f"unknown loss {name}")
        if a.bank_k and name not in BANK_LOSSES:
            p.error(f"{name} has no bank form (--bank-k takes {', '.join(BANK_LOSSES)})")
    # --n none: only the bank form (--bank-k), as the Node bench's --bank run asks.
    a.n = [] if a.n == "none" else [int(x) for x in (a.n or ("64,128" if a.quick else "128,256,512,1024,2048")).split(",")]
    a.d = a.d or (32 if a.quick else 128)
    a.probe_loss = a.probe_loss.split(",") if a.probe_loss else a.loss
    a.probe_d = a.probe_d or a.d
    a.bank_k = [int(x) for x in a.bank_k.split(",") if x]
    a.repeats = a.repeats or (2 if a.quick else 7)
    a.warmup_ms = a.warmup_ms if a.warmup_ms is not None else (20.0 if a.quick else 300.0)
    return a


def check(path):
    """Losses and gradients of every loss on the given inputs, float64, in-batch and (if given) bank
    form (the losses that have one); supcon with the JSON's "labels", else bench_labels(N)."""
    with open(path) as f:
        spec = json.load(f)
    n, d = spec["n"], spec["d"]
    z1 = torch.tensor(spec["z1"], dtype=torch.float64).view(n, d)
    z2 = torch.tensor(spec["z2"], dtype=torch.float64).view(n, d)
    bank = torch.tensor(spec["bank"], dtype=torch.float64).view(-1, d) if spec.get("bank") else None
    labels = torch.tensor(spec["labels"], dtype=torch.long) if spec.get("labels") is not None else bench_labels(n)
    out = {"torch": torch.__version__, "in_batch": {}, "bank": {}}
    for form, b in (("in_batch", None), ("bank", bank)):
        if form == "bank" and b is None:
            continue
        for name in LOSSES:
            if form == "bank" and name not in BANK_LOSSES:
                continue
            a1, a2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
            loss = loss_fn(name, bank=b, labels=labels)(a1, a2)
            loss.backward()
            out[form][name] = {"loss": loss.item(), "grad_z1": a1.grad.flatten().tolist(), "grad_z2": a2.grad.flatten().tolist()}
    return out


class Clock:
    """Wall (perf_counter) and, on CUDA, GPU time (events) around a block of work."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def __call__(self, work):
        if self.cuda:
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0 = time.perf_counter()
            start.record()
            work()
            end.record()
            torch.cuda.synchronize()
            return (time.perf_counter() - t0) * 1e3, start.elapsed_time(end)
        t0 = time.perf_counter()
        work()
        return (time.perf_counter() - t0) * 1e3, None


def make_step(name, n, d, device, variant, seed, bank_k=None):
    """One forward + backward (gradients to z1, z2) on resident inputs; returns (step, read_back)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    z1 = torch.randn(n, d, generator=g).to(device).requires_grad_()
    z2 = (z1.detach() + 0.5 * torch.randn(n, d, generator=g).to(device)).requires_grad_()
    bank = torch.randn(bank_k, d, generator=g).to(device) if bank_k else None
    fn = loss_fn(name, bank=bank, labels=bench_labels(n).to(device) if name == "supcon" else None)
    if variant == "compile":
        fn = torch.compile(fn)
    last = {}

    def step():
        z1.grad = z2.grad = None
        loss = fn(z1, z2)
        loss.backward()
        last["loss"] = loss

    return step, lambda: last["loss"].item()


def set_variant(variant):
    """fp32: TF32 off (true fp32 matmuls); tf32 and compile: TF32 on (what most training runs use)."""
    tf32 = variant != "fp32"
    if hasattr(torch, "set_float32_matmul_precision"):  # torch >= 1.12: the switch torch.compile reads
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32


def median(xs):
    return None if not xs or xs[0] is None else statistics.median(xs)


def time_case(name, n, d, device, variant, a, bank_k=None):
    set_variant(variant)
    step, read_back = make_step(name, n, d, device, variant, a.seed, bank_k)
    clock = Clock(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    # Warm-up: sustained work for at least warmup_ms (and at least 3 calls: compilation, allocator).
    warm = []
    t_start = time.perf_counter()
    while len(warm) < 3 or (time.perf_counter() - t_start) * 1e3 < a.warmup_ms:
        warm.append(clock(lambda: (step(), read_back())))
    value = read_back()
    if not math.isfinite(value):
        raise RuntimeError(f"loss is {value}")
    per_call_ms = statistics.median(w for w, _ in warm[-3:])
    r = max(1, min(256, int(a.batch_ms / max(per_call_ms, 1e-3))))

    def batch():
        for _ in range(r):
            step()

    rows = []
    for mode in ("throughput", "latency"):
        samples = [clock(batch) if mode == "throughput" else clock(lambda: (step(), read_back())) for _ in range(a.repeats)]
        div = r if mode == "throughput" else 1
        rows.append({
            "loss": name, "n": n, "d": d, "path": "torch", "variant": variant, "mode": mode,
            **({"k": bank_k} if bank_k else {}),
            "calls_per_batch": div,
            "runs": len(samples),
            "wall_ms": median([w / div for w, _ in samples]),
            "gpu_ms": median([g / div if g is not None else None for _, g in samples]),
            "wall_ms_all": [w / div for w, _ in samples],
            "warmup": {
                "runs": len(warm),
                "ms_total": sum(w for w, _ in warm),
                "first_wall_ms": [w for w, _ in warm[:3]],
                "last_wall_ms": [w for w, _ in warm[-3:]],
                "first_gpu_ms": [g for _, g in warm[:3]],
                "last_gpu_ms": [g for _, g in warm[-3:]],
            },
            "peak_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
            "value": value,
        })
    return rows


def probe(name, d, device, a):
    """Largest N whose fp32 forward + backward runs (doubling), and what stopped the doubling."""
    best, best_s, n, stopped = None, None, a.probe_start, "probe-max-n"
    set_variant("fp32")
    while n <= a.probe_max_n:
        try:
            step, read_back = make_step(name, n, d, device, "fp32", a.seed)
            t0 = time.perf_counter()
            step()
            read_back()
            s = time.perf_counter() - t0
        except RuntimeError as e:  # CUDA out of memory is a RuntimeError (torch.cuda.OutOfMemoryError subclasses it)
            stopped = f"error at N={n}: {str(e).splitlines()[0][:160]}"
            break
        finally:
            step = read_back = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
        best, best_s = n, s
        if s > a.probe_budget:
            stopped = f"budget at N={n}"
            break
        if 4 * s > 1.5 * a.probe_budget:
            stopped = f"budget at N={n * 2} (predicted)"
            break
        n *= 2
    return {"path": "torch", "loss": name, "d": d, "max_n": best, "max_n_seconds": best_s, "stopped_by": stopped}


def main(argv):
    a = parse_args(argv)
    if a.check:
        print(json.dumps(check(a.check)))
        return 0
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    has_compile = hasattr(torch, "compile")
    variants = a.variants.split(",") if a.variants else ["fp32"] + (["tf32"] + (["compile"] if has_compile else []) if device.type == "cuda" else [])
    out = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cuda": torch.version.cuda,
        "variants": variants,
        "rows": [], "errors": [], "max_batch": [],
    }
    cases = [(name, n, a.d, None) for n in a.n for name in a.loss] + [(name, a.bank_n, a.d, k) for k in a.bank_k for name in a.loss]
    for name, n, d, k in cases:
        for variant in variants:
            try:
                out["rows"] += time_case(name, n, d, device, variant, a, k)
            except Exception as e:  # one failed case (OOM, a compile error) must not end the run
                out["errors"].append({"loss": name, "n": n, "d": d, "variant": variant, **({"k": k} if k else {}), "error": str(e).splitlines()[0][:200] if str(e) else type(e).__name__})
            if device.type == "cuda":
                torch.cuda.empty_cache()
            print(f"[torch] {name} N={n} D={d}{f' K={k}' if k else ''} {variant}: "
                  + ", ".join(f"{r['mode']} {r['wall_ms']:.3f} ms" for r in out["rows"][-2:] if r["loss"] == name and r["n"] == n and r["variant"] == variant),
                  file=sys.stderr)
    if a.probe:
        out["max_batch"] = [probe(name, a.probe_d, device, a) for name in a.probe_loss]
    text = json.dumps(out, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
