#!/usr/bin/env python3
"""bench_engine_torch.py - the PyTorch side of scripts/gpu-run.sh (steps bench, torch): the same
PLT model as `plait bench engine` (LoopCoder-V2's shape, random bf16 weights
drawn on the GPU), written the strongest way PyTorch allows, timed the same
way; then, given plait's --json output, the one table of the comparison.

The PyTorch implementation (plt.md's semantics, as tests/reference/plt_ref.py):
  - decode: all R loop rows of a token in one pass (row r takes
    a*E_t + b*h^{r-1}_{t-1} from the previous step), static K/V caches as
    module buffers (loop 0 full length, each later loop a 65-slot ring),
    the saved h^r as a buffer, greedy argmax inside the step, the whole step
    under torch.compile(mode="reduce-overhead") (a CUDA graph, as gpt-fast
    does) with Inductor's coordinate-descent tuning;
  - prefill: the full-sequence form loop after loop, compiled, causal
    attention through scaled_dot_product_attention (FlashAttention), each
    later loop's 65-key window through flex_attention with a sliding-window
    block mask.

Run with the GPU machine's python3 (PyTorch 2.11).  Not a test; asserts
nothing about speed."""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

torch._inductor.config.coordinate_descent_tuning = "--no-coordinate-descent" not in sys.argv
torch._inductor.config.triton.unique_kernel_names = True
torch._inductor.config.fx_graph_cache = True

SHAPES = {
    "loopcoder-v2": dict(H=5120, I=27648, L=14, NH=40, KVH=8, HD=128, V=76800),
    "tiny": dict(H=64, I=128, L=2, NH=4, KVH=2, HD=16, V=256),
}
A, B, EPS, THETA, WIN = 0.707, 0.053, 1e-5, 500000.0, 65


def rms(x, w):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype) * w


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class PLT(torch.nn.Module):
    def __init__(self, s, R, max_ctx, dev):
        super().__init__()
        H, I, L, NH, KVH, HD, V = (s[k] for k in ("H", "I", "L", "NH", "KVH", "HD", "V"))
        self.s, self.R, self.S = s, R, max_ctx
        bf = torch.bfloat16

        def mat(*shape):
            return (torch.randn(*shape, device=dev, dtype=bf) / math.sqrt(shape[-1]))

        def norm(*shape):
            return 1 + 0.1 * torch.randn(*shape, device=dev, dtype=bf)
        QD, KVD = NH * HD, KVH * HD
        self.embed = torch.randn(V, H, device=dev, dtype=bf)
        self.lm_head = mat(V, H)
        self.norm = norm(H)
        self.wqkv = mat(L, QD + 2 * KVD, H)
        self.wo = mat(L, H, QD)
        self.wgu = mat(L, 2 * I, H)
        self.wdown = mat(L, H, I)
        self.ln1, self.ln2 = norm(L, H), norm(L, H)
        if R > 1:
            self.gw = mat(L, NH, H)
            self.gb = 0.5 * torch.randn(L, NH, device=dev, dtype=bf)
            self.gnorm = norm(L, H)
        inv = THETA ** (-torch.arange(0, HD, 2, device=dev, dtype=torch.float64) / HD)
        ang = torch.arange(max_ctx, device=dev, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cat([ang.cos(), ang.cos()], -1).to(bf))
        self.register_buffer("sin", torch.cat([ang.sin(), ang.sin()], -1).to(bf))
        self.register_buffer("k0", torch.zeros(L, KVH, max_ctx, HD, device=dev, dtype=bf))
        self.register_buffer("v0", torch.zeros(L, KVH, max_ctx, HD, device=dev, dtype=bf))
        self.register_buffer("ar", torch.arange(max_ctx, device=dev))
        if R > 1:
            self.register_buffer("kr", torch.zeros(R - 1, L, KVH, WIN, HD, device=dev, dtype=bf))
            self.register_buffer("vr", torch.zeros(R - 1, L, KVH, WIN, HD, device=dev, dtype=bf))
            self.register_buffer("hprev", torch.zeros(R - 1, H, device=dev, dtype=bf))
            self.register_buffer("ar65", torch.arange(WIN, device=dev))

    # ---------------------------------------------------------- decode

    def step(self, tok, pos):
        """One decode step at position pos (a 1-element tensor): all R rows
        in one pass; returns the greedy next token."""
        s, R = self.s, self.R
        H, L, NH, KVH, HD = s["H"], s["L"], s["NH"], s["KVH"], s["HD"]
        QD, KVD = NH * HD, KVH * HD
        e = self.embed[tok]
        x = torch.cat([e, A * e + B * self.hprev], 0) if R > 1 else e
        cos, sin = self.cos[pos].view(1, 1, HD), self.sin[pos].view(1, 1, HD)
        mg = (self.ar <= pos).view(1, 1, 1, self.S)
        if R > 1:
            ml = ((self.ar65 <= pos) | (pos >= WIN - 1)).view(1, 1, 1, WIN)
            slot = pos % WIN
        for l in range(L):
            res = x
            qkv = rms(x, self.ln1[l]) @ self.wqkv[l].t()
            q = qkv[:, :QD].view(R, NH, HD)
            k = qkv[:, QD:QD + KVD].view(R, KVH, HD)
            v = qkv[:, QD + KVD:].view(R, KVH, HD)
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            self.k0[l][:, pos] = k[0].view(KVH, 1, HD)
            self.v0[l][:, pos] = v[0].view(KVH, 1, HD)
            og = F.scaled_dot_product_attention(q.transpose(0, 1).unsqueeze(0), self.k0[l].unsqueeze(0),
                                                self.v0[l].unsqueeze(0), attn_mask=mg, enable_gqa=True)
            og = og[0].transpose(0, 1)  # R, NH, HD
            if R > 1:
                self.kr[:, l, :, slot] = k[1:].view(R - 1, KVH, 1, HD)
                self.vr[:, l, :, slot] = v[1:].view(R - 1, KVH, 1, HD)
                ol = F.scaled_dot_product_attention(q[1:].unsqueeze(2), self.kr[:, l], self.vr[:, l], attn_mask=ml,
                                                    enable_gqa=True)[:, :, 0]
                g = torch.sigmoid(rms(res[1:], self.gnorm[l]) @ self.gw[l].t() + self.gb[l]).unsqueeze(-1)
                att = torch.cat([og[:1], g * og[1:] + (1 - g) * ol], 0)
            else:
                att = og
            x = res + att.reshape(R, QD) @ self.wo[l].t()
            gu = rms(x, self.ln2[l]) @ self.wgu[l].t()
            x = x + (F.silu(gu[:, :s["I"]]) * gu[:, s["I"]:]) @ self.wdown[l].t()
        h = rms(x, self.norm)
        if R > 1:
            self.hprev.copy_(h[:R - 1])
        return torch.argmax(h[R - 1:] @ self.lm_head.t(), -1)

    # ---------------------------------------------------------- prefill

    def prefill_loop(self, x, loop, block_mask):
        """The full-sequence form of one loop over positions 0..T-1."""
        s = self.s
        T = x.shape[0]
        L, NH, KVH, HD = s["L"], s["NH"], s["KVH"], s["HD"]
        QD, KVD = NH * HD, KVH * HD
        cos, sin = self.cos[:T].view(T, 1, HD), self.sin[:T].view(T, 1, HD)
        for l in range(L):
            res = x
            qkv = rms(x, self.ln1[l]) @ self.wqkv[l].t()
            q = qkv[:, :QD].view(T, NH, HD)
            k = qkv[:, QD:QD + KVD].view(T, KVH, HD)
            v = qkv[:, QD + KVD:].view(T, KVH, HD)
            q = (q * cos + rot(q) * sin).transpose(0, 1).unsqueeze(0)
            k = (k * cos + rot(k) * sin).transpose(0, 1)
            v = v.transpose(0, 1)
            if loop == 0:
                self.k0[l][:, :T] = k
                self.v0[l][:, :T] = v
                att = F.scaled_dot_product_attention(q, k.unsqueeze(0), v.unsqueeze(0), is_causal=True,
                                                     enable_gqa=True)
            else:
                og = F.scaled_dot_product_attention(q, self.k0[l][:, :T].unsqueeze(0), self.v0[l][:, :T].unsqueeze(0),
                                                    is_causal=True, enable_gqa=True)
                ol = flex_attention(q, k.unsqueeze(0), v.unsqueeze(0), block_mask=block_mask, enable_gqa=True)
                g = torch.sigmoid(rms(res, self.gnorm[l]) @ self.gw[l].t() + self.gb[l]).t().view(1, NH, T, 1)
                att = g * og + (1 - g) * ol
                slots = self.ar[T - WIN:T] % WIN  # position q lives in slot q % 65, as decode expects
                self.kr[loop - 1, l][:, slots] = k[:, T - WIN:]
                self.vr[loop - 1, l][:, slots] = v[:, T - WIN:]
            x = res + att[0].transpose(0, 1).reshape(T, QD) @ self.wo[l].t()
            gu = rms(x, self.ln2[l]) @ self.wgu[l].t()
            x = x + (F.silu(gu[:, :s["I"]]) * gu[:, s["I"]:]) @ self.wdown[l].t()
        return rms(x, self.norm)


flex_attention = None


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def decode_bench(m, a, dev):
    """Greedy decode of a.tokens tokens after a.context positions: the
    caches hold random K/V for those positions (timing is the same as after
    a real prefill; the prefill is timed on its own)."""
    with torch.no_grad():
        m.k0.normal_()
        m.v0.normal_()
        step = torch.compile(m.step, mode="reduce-overhead", fullgraph=True)
        tok = torch.zeros(1, dtype=torch.long, device=dev)
        pos = a.context
        t0 = time.perf_counter()
        for _ in range(6):  # compile, record, warm the graph
            torch.compiler.cudagraph_mark_step_begin()
            tok = step(tok, torch.tensor([pos], device=dev)).clone()
            pos += 1
        torch.cuda.synchronize()
        res = {"decode_compile_s": time.perf_counter() - t0}
        t0 = time.perf_counter()
        for _ in range(a.tokens):
            # the graph's output is overwritten by its next replay: the token is copied out first
            torch.compiler.cudagraph_mark_step_begin()
            tok = step(tok, torch.tensor([pos], device=dev)).clone()
            tok.item()  # the next step needs the token: one round trip per token, as plait's loop
            pos += 1
        res["decode_ms_per_token"] = (time.perf_counter() - t0) * 1000 / a.tokens
    return res


def prefill_bench(m, a, dev):
    global flex_attention
    from torch.nn.attention.flex_attention import create_block_mask
    from torch.nn.attention.flex_attention import flex_attention as fa
    flex_attention = torch.compile(fa, dynamic=False)
    R, T = m.R, a.prompt
    ids = torch.tensor([(i * 7919 + 17) % m.s["V"] for i in range(T)], device=dev)
    with torch.no_grad():
        bm = None
        if R > 1:
            bm = create_block_mask(lambda b, h, q, kv: (kv <= q) & (q - kv <= WIN - 1), None, None, T, T, device=dev)
        loop_fn = torch.compile(m.prefill_loop, dynamic=False)

        def prefill():
            E = m.embed[ids]
            h = loop_fn(E, 0, bm)
            for r in range(1, R):
                m.hprev[r - 1].copy_(h[-1])  # h^{r-1} of the last position, for the first decode step
                x = A * E + B * torch.cat([torch.zeros_like(h[:1]), h[:-1]], 0)
                h = loop_fn(x, r, bm)
            return torch.argmax(h[-1] @ m.lm_head.t())
        t_compile, _ = timed(prefill)
        best = min(timed(prefill)[0] for _ in range(3))
    return {"prefill_compile_s": t_compile, "prefill_s": best, "prefill_tokens_per_s": T / best}


def ceilings(dev):
    """PyTorch's view of the two ceilings, for reference beside plait's."""
    n = 1 << 30
    a = torch.empty(n, dtype=torch.float32, device=dev).normal_()
    b = torch.empty_like(a)
    b.copy_(a)
    t, _ = timed(lambda: [b.copy_(a) for _ in range(10)])
    copy = 2 * 4 * n * 10 / t
    del a, b
    x = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    y = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    for _ in range(3):
        x @ y
    t, _ = timed(lambda: [x @ y for _ in range(10)])
    del x, y
    torch.cuda.empty_cache()
    return {"copy_bytes_per_s": copy, "gemm_flops_per_s": 2 * 8192 ** 3 * 10 / t}


def table(plait, torch_res):
    """The one table: plait and PyTorch from the same machine and run."""
    ce = plait.get("ceilings") or torch_res.get("ceilings", {})
    copy, gemm = ce.get("copy_bytes_per_s", 0), ce.get("gemm_flops_per_s", 0)
    if "could not" in ce.get("gemm_by", "") and torch_res.get("ceilings"):
        # cuBLASLt did not run in plait's process: the GEMM ceiling is PyTorch's (cuBLAS) measure
        gemm = torch_res["ceilings"]["gemm_flops_per_s"]
    p1, p2 = plait["runs"]["r1"], plait["runs"]["r2"]
    t1, t2 = torch_res.get("r1", {}), torch_res.get("r2", {})
    rows = []
    dev = plait.get("device", {})
    print("\nGPU: %s (%s SMs), CUDA module cuBLASLt %s; PyTorch %s" % (
        dev.get("device"), dev.get("sms"), dev.get("cublaslt"), torch.__version__))
    print("ceilings (measured in this run): device-to-device copy %.0f GB/s; bf16 GEMM 8192^3 %.0f TFLOP/s (%s)" % (
        copy / 1e9, gemm / 1e12, ce.get("gemm_by", "PyTorch")))
    tc = torch_res.get("ceilings", {})
    if tc:
        print("PyTorch's own measure of them: copy %.0f GB/s; bf16 matmul 8192^3 %.0f TFLOP/s" % (
            tc["copy_bytes_per_s"] / 1e9, tc["gemm_flops_per_s"] / 1e12))
    ctx = plait["context"]
    rows.append(("decode ms/token, batch 1, %d context, R = 1" % ctx, p1["decode_ms_per_token"],
                 t1.get("decode_ms_per_token")))
    rows.append(("decode ms/token, R = 2 (loops in one pass)", p2["decode_ms_per_token"],
                 t2.get("decode_ms_per_token")))
    rows.append(("decode ms/token, R = 2 loop after loop", p2["sequential_decode_ms_per_token"], None))
    rows.append(("prefill tokens/s, %d-token prompt, R = 1" % plait["prompt_tokens"], p1["prefill_tokens_per_s"],
                 t1.get("prefill_tokens_per_s")))
    rows.append(("prefill tokens/s, R = 2", p2["prefill_tokens_per_s"], t2.get("prefill_tokens_per_s")))
    print("\n| measure | plait | PyTorch | PyTorch / plait |")
    print("| --- | ---: | ---: | ---: |")
    for name, pv, tv in rows:
        ratio = "" if tv is None else ("%.2fx" % (tv / pv) if "ms" in name else "%.2fx" % (tv / pv))
        print("| %s | %.3f | %s | %s |" % (name, pv, "-" if tv is None else "%.3f" % tv, ratio))
    kv1, kv2 = p1["state_device_bytes"], p2["state_device_bytes"]
    print("| K/V bytes per session at %d context, R = 1 / R = 2 (device) | %d / %d (%.4fx) | | |" % (
        plait["kv_context"], kv1, kv2, kv2 / kv1))
    bw2 = p2["decode_bytes_per_s"]
    goals = [
        ("decode R = 2 moves its bytes at >= 85% of the copy bandwidth", bw2 / copy if copy else 0, 0.85, ">="),
        ("decode R = 2 time <= 1.05 x R = 1 time", p2["decode_ms_per_token"] / p1["decode_ms_per_token"], 1.05, "<="),
        ("decode R = 2 >= 1.6x faster than PyTorch", t2.get("decode_ms_per_token", 0) / p2["decode_ms_per_token"], 1.6,
         ">="),
        ("prefill at >= 50% of the GEMM rate (R = 2)", p2["prefill_flops_per_s"] / gemm if gemm else 0, 0.5, ">="),
        ("K/V per session R = 2 <= 1.02 x R = 1 at %d" % plait["kv_context"], kv2 / kv1, 1.02, "<="),
    ]
    print("\n| goal | measured | met |")
    print("| --- | ---: | --- |")
    for name, v, lim, op in goals:
        ok = v >= lim if op == ">=" else v <= lim
        print("| %s | %.3f | %s |" % (name, v, "yes" if ok else "NO"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="loopcoder-v2", choices=sorted(SHAPES))
    ap.add_argument("--prompt", type=int, default=4096)
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--plait-json", help="plait bench engine --json output, for the combined table")
    ap.add_argument("--json-out")
    ap.add_argument("--loops", default="2,1", help="R values, in the order run (default 2,1)")
    ap.add_argument("--no-prefill", action="store_true")
    ap.add_argument("--no-coordinate-descent", action="store_true",
                    help="leave Inductor's coordinate-descent tuning off (shorter compilation)")
    a = ap.parse_args()
    dev = torch.device("cuda")
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}

    def save():
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump(out, f, indent=1)
    out["ceilings"] = ceilings(dev)
    print("pytorch ceilings: %s" % json.dumps(out["ceilings"]), flush=True)
    for R in [int(r) for r in a.loops.split(",")]:
        t0 = time.perf_counter()
        m = PLT(SHAPES[a.shape], R, max(a.context, a.prompt) + a.tokens + 16, dev)
        key = "r%d" % R
        out[key] = decode_bench(m, a, dev)
        save()
        print("pytorch R = %d decode: %s (%.0f s)" % (R, json.dumps(out[key]), time.perf_counter() - t0), flush=True)
        if not a.no_prefill:
            out[key].update(prefill_bench(m, a, dev))
            save()
            print("pytorch R = %d prefill: %s (%.0f s)" % (R, json.dumps(out[key]), time.perf_counter() - t0),
                  flush=True)
        del m
        torch._dynamo.reset()
        torch.cuda.empty_cache()
    if a.plait_json:
        try:
            with open(a.plait_json) as f:
                table(json.load(f), out)
        except (OSError, ValueError, KeyError) as e:
            print("no comparison table: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
