#!/usr/bin/python3
"""cuda_numerics.py - how far bf16 rounding alone moves the CUDA backend
from the CPU oracle, on the checkpoints of tests/engine/test_cuda.c.

The CUDA backend (engine/cuda/) keeps every weight matrix in bf16 (F16 and
F32 checkpoints are rounded on upload), the K/V caches in bf16, and in
prefill rounds the products' inputs to bf16 (cuBLASLt with bf16 operands,
fp32 accumulation; the gate/up product's output and the SwiGLU output are
bf16; the attention output is bf16; the flash kernel for head_dim 128
rounds P to bf16 before P.V).  Decode keeps activations in fp32.  This
script runs plt_ref.py's forward pass with exactly those roundings (in
float64 otherwise) and measures it against the exact forward pass the way
test_cuda.c measures CUDA against the CPU: over the same 512 teacher-forced
ids, top-1 agreement and the largest |log-prob difference| over the
oracle's top 5; and decode against prefill (rel_err_f32).

  /usr/bin/python3 tests/reference/cuda_numerics.py [--case NAME] [--positions N]
      the table: each case's emulated decode and prefill against the exact
      forward pass, and fp32 against float64 arithmetic for the same
      roundings (the spread two correct implementations show)
  /usr/bin/python3 tests/reference/cuda_numerics.py --set conditioned [--mutations]
      the trained-like set (test_cuda.c holds CUDA to the issue's bar as it
      is there): the emulated decode and prefill against the exact pass,
      which must meet the bar with a margin (top-1 >= 99.4%, top-5 <=
      3.5e-2); with --mutations, the emulated decode of each deliberate bug
      of MUTATIONS, which must miss the bar in at least one case; exit 1
      if either fails
  /usr/bin/python3 tests/reference/cuda_numerics.py logits DIR --mode decode|prefill
          --ids 1,2,3 --out F [--loops N]
      the emulated logits of every position, float64 LE (test_cuda.c
      reads them: CUDA is held to the CPU within what rounding alone gives)

What it tells: if the GPU's numbers are about these, the differences are
the rounding the CUDA design chose, not an indexing bug; a GPU figure far
above the emulated one points at a bug.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plt_ref  # noqa: E402

torch.set_default_dtype(torch.float64)

CASES = [
    ("r1_plain_bf16_gqa", "--seed 31 --plain --loops 1 --dtype bf16 --hidden 64 --inter 96 --heads 4 --kv-heads 2 --vocab 128", 0),
    ("r2_bf16_gqa4", "--seed 32 --loops 2 --dtype bf16 --hidden 64 --inter 96 --heads 8 --kv-heads 2 --vocab 128", 0),
    ("r2_f32_head128", "--seed 33 --loops 2 --dtype f32 --hidden 256 --inter 384 --heads 2 --kv-heads 1 --vocab 256 "
     "--rope-theta 500000 --hidden-scale 0.053", 0),
    ("r3_bf16_head128_gqa", "--seed 34 --loops 3 --dtype bf16 --hidden 512 --inter 256 --heads 4 --kv-heads 2 --vocab 256", 0),
    ("loops3_over_r2_checkpoint", "--seed 35 --loops 2 --dtype bf16 --hidden 48 --heads 6 --kv-heads 2 --vocab 96", 3),
    ("loops1_over_r2_checkpoint", "--seed 36 --loops 2 --dtype bf16 --hidden 48 --heads 6 --kv-heads 2 --vocab 96", 1),
    ("r3_f16_sharded_three_layers", "--seed 37 --loops 3 --dtype f16 --hidden 32 --layers 3 --heads 2 --kv-heads 1 "
     "--shards 3 --tie", 0),
]

# The trained-like set (test_cuda.c's trained_like[], the same strings): q,
# k, the gate and the lm_head at the 1/sqrt(fan_in) scale or below (the
# lm_head's rows of log-normal norms), o_proj and down_proj at GPT-2's
# 1/sqrt(2 x layers), RMSNorm weights 1 +- 0.2, untied embeddings.  Here the
# issue's bar holds as it is: an honest bf16 implementation meets it, and
# each of MUTATIONS misses it.
TRAINED_LIKE = "--qk-scale 1 --gate-scale 1 --lm-head-scale 0.3 --lm-head-spread 0.8"
CONDITIONED = [
    ("tl_r1_plain_bf16_gqa", "--seed 51 --plain --loops 1 --dtype bf16 --hidden 64 --inter 128 --heads 4 --kv-heads 2 "
     "--vocab 128 --out-scale 0.5", 0),
    ("tl_r2_bf16_gqa4", "--seed 52 --loops 2 --dtype bf16 --hidden 128 --inter 256 --heads 8 --kv-heads 2 --vocab 128 "
     "--out-scale 0.5", 0),
    ("tl_r2_f32_head128", "--seed 53 --loops 2 --dtype f32 --hidden 256 --inter 512 --heads 2 --kv-heads 1 --vocab 128 "
     "--rope-theta 500000 --hidden-scale 0.053 --out-scale 0.5", 0),
    ("tl_r3_bf16_head128_gqa", "--seed 54 --loops 3 --dtype bf16 --hidden 512 --inter 768 --heads 4 --kv-heads 2 "
     "--vocab 128 --out-scale 0.5", 0),
    ("tl_loops3_over_r2_checkpoint", "--seed 55 --loops 2 --dtype bf16 --hidden 96 --inter 192 --heads 6 --kv-heads 2 "
     "--vocab 128 --out-scale 0.5", 3),
    ("tl_loops1_over_r2_checkpoint", "--seed 56 --loops 2 --dtype bf16 --hidden 96 --inter 192 --heads 6 --kv-heads 2 "
     "--vocab 128 --out-scale 0.5", 1),
    ("tl_r3_f16_sharded_three_layers", "--seed 57 --loops 3 --dtype f16 --hidden 256 --inter 512 --layers 3 --heads 8 "
     "--kv-heads 2 --vocab 128 --shards 3 --out-scale 0.41", 0),
]
CONDITIONED = [(n, a + " " + TRAINED_LIKE, l) for n, a, l in CONDITIONED]

# The bar, and the margin the emulation must keep below it
TOP1_MIN, TOP5_MAX = 0.99, 5e-2
MARGIN_TOP1, MARGIN_TOP5 = 0.994, 3.5e-2

# Deliberate bugs (forward()'s mut), each a way to break the contract
# (../shared/design/plt.md); --mutations shows each one misses the bar
MUTATIONS = [
    ("window64", "later loops' local window of 64 keys, not 65"),
    ("gate_global", "the gate ignored: g = 1 (global only)"),
    ("gate_local", "the gate ignored: g = 0 (local only)"),
    ("global_own_kv", "loop r >= 1's global branch over its own K/V, not loop 0's"),
    ("rope_loop_offset", "RoPE of loop r at position t + r"),
    ("rope_query_plus1", "RoPE of the queries one position ahead of the keys"),
    ("no_shift", "cross-loop input h^{r-1}_t, not h^{r-1}_{t-1}"),
    ("loop0_scaled", "loop 0's input scaled by plt_emb_scale"),
    ("no_loop_norm", "no model.norm between loops"),
    ("gate_normed_input", "the gate fed the normed input, not the pre-norm one"),
]


def bf(t):
    """Round to bf16 (round to nearest even, as __float2bfloat16_rn)."""
    return t.to(torch.float32).to(torch.bfloat16).to(t.dtype)


def f32(t):
    return t.to(torch.float32).to(t.dtype)


def ident(t):
    return t


def forward(cfg, w, ids, loops, mode, dt=torch.float64, mut=None):
    """mode: 'exact' (plt_ref), 'weights' (bf16 weights only), 'decode'
    (bf16 weights and K/V, fp32 activations), 'prefill' (the prefill's
    bf16 operands as well).  dt: the arithmetic's type (float32: another
    summation order and fp32 rounding, the spread two correct
    implementations of the same roundings show).  mut: one of MUTATIONS,
    a deliberate bug (None: the contract, ../shared/design/plt.md)."""
    H = cfg["hidden_size"]
    NH = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", NH)
    hd = cfg.get("head_dim") or H // NH
    L = cfg["num_hidden_layers"]
    eps = cfg["rms_norm_eps"]
    theta = cfg["rope_theta"]
    R = loops or cfg.get("plt_num_loops", 1)
    a = cfg.get("plt_emb_scale", 1.0)
    b = cfg.get("plt_hidden_scale", 0.0)
    left = cfg.get("plt_window_size", [64, 0])[0]
    rw = ident if mode == "exact" else bf            # weight matrices
    rkv = bf if mode in ("decode", "prefill") else ident  # K/V caches
    ra = bf if mode == "prefill" else ident          # prefill operands
    T = len(ids)
    W = {k: (rw(v) if v.dim() == 2 else f32(v) if mode != "exact" else v).to(dt) for k, v in w.items()}
    E = W["model.embed_tokens.weight"][torch.tensor(ids)]
    lm = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    inv = theta ** (-2.0 * torch.arange(hd // 2, dtype=torch.float64) / hd)

    def rope_tables(shift):
        ang = (torch.arange(T, dtype=torch.float64) + shift)[:, None] * inv[None, :]
        return (torch.cat([ang.cos(), ang.cos()], -1)[:, None, :].to(dt),
                torch.cat([ang.sin(), ang.sin()], -1)[:, None, :].to(dt))

    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    causal = j <= i
    local = causal & (j >= i - (left - 1 if mut == "window64" else left))
    scale = 1.0 / math.sqrt(hd)
    grp = NH // KV
    flash = mode == "prefill" and hd == 128

    def attention(q, k, v, mask):
        s = torch.einsum("thd,shd->hts", q, k) * scale
        s = s.masked_fill(~mask.unsqueeze(0), float("-inf"))
        mx = s.max(-1, keepdim=True).values
        p = torch.exp(s - mx)
        l = p.sum(-1, keepdim=True)
        if flash:
            p = bf(p)  # P.V on the tensor cores: P in bf16
        return torch.einsum("hts,shd->thd", p / l, v)

    def norm(x, wn):
        return wn * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))

    K0, V0 = [None] * L, [None] * L
    h_prev = None
    for r in range(R):
        if r == 0:
            x = a * E if mut == "loop0_scaled" else E.clone()
        else:
            shifted = h_prev if mut == "no_shift" else torch.cat([torch.zeros(1, H, dtype=dt), h_prev[:-1]], 0)
            x = a * E + b * shifted
        # every loop at position t; the mutations: loop r at t + r, or
        # every query one position ahead of its keys
        cos, sin = rope_tables(r if mut == "rope_loop_offset" else 0)
        qcos, qsin = rope_tables(1) if mut == "rope_query_plus1" else (cos, sin)
        for l in range(L):
            p = "model.layers.%d." % l
            res = x
            n = ra(norm(x, W[p + "input_layernorm.weight"]))
            q = (n @ W[p + "self_attn.q_proj.weight"].T).view(T, NH, hd)
            k = (n @ W[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
            v = (n @ W[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
            q = ra(q * qcos + plt_ref.rotate_half(q) * qsin)
            k = rkv(k * cos + plt_ref.rotate_half(k) * sin)
            v = rkv(v)
            k = k.repeat_interleave(grp, dim=1)
            v = v.repeat_interleave(grp, dim=1)
            if r == 0:
                K0[l], V0[l] = k, v
                out = attention(q, k, v, causal)
            else:
                gp = None
                for sp in ("plt_gate", "loop_gate_proj"):
                    if p + "self_attn.%s.weight" % sp in W:
                        gp = p + "self_attn.%s." % sp
                if mut == "global_own_kv":
                    glob = attention(q, k, v, causal)
                else:
                    glob = attention(q, K0[l], V0[l], causal)
                loc = attention(q, k, v, local)
                gin = n if mut == "gate_normed_input" else res
                g = torch.sigmoid(ra(norm(gin, W[gp + "gate_norm.weight"])) @ W[gp + "weight"].T + W[gp + "bias"])
                if mut == "gate_global":
                    g = torch.ones_like(g)
                elif mut == "gate_local":
                    g = torch.zeros_like(g)
                out = g[:, :, None] * glob + (1 - g[:, :, None]) * loc
            x = res + ra(out.reshape(T, NH * hd)) @ W[p + "self_attn.o_proj.weight"].T
            m = ra(norm(x, W[p + "post_attention_layernorm.weight"]))
            gt = ra(m @ W[p + "mlp.gate_proj.weight"].T)
            up = ra(m @ W[p + "mlp.up_proj.weight"].T)
            act = ra(torch.nn.functional.silu(gt) * up)
            x = x + act @ W[p + "mlp.down_proj.weight"].T
        if r < R - 1:
            h_prev = x if mut == "no_loop_norm" else norm(x, W["model.norm.weight"])
        else:
            h_prev = ra(norm(x, W["model.norm.weight"]))
    return (h_prev @ lm.T).to(torch.float64)


def compare(got, oracle):
    """test_cuda.c's compare(): top-1 agreement, max |log-prob diff| over
    the oracle's top 5."""
    a = torch.log_softmax(got, -1)
    b = torch.log_softmax(oracle, -1)
    top1 = int((got.argmax(-1) == oracle.argmax(-1)).sum())
    idx = b.topk(5, -1).indices
    d = (a.gather(-1, idx) - b.gather(-1, idx)).abs().max()
    return top1, float(d)


def rel_err(a, ref):
    return float((a - ref).abs().max() / ref.abs().max())


def logits_main(argv):
    ap = argparse.ArgumentParser(prog="cuda_numerics.py logits")
    ap.add_argument("dir")
    ap.add_argument("--mode", choices=["exact", "weights", "decode", "prefill"], required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--loops", type=int)
    o = ap.parse_args(argv)
    cfg, w = plt_ref.load_checkpoint(o.dir)
    ids = [int(x) for x in o.ids.split(",")]
    with torch.no_grad():
        plt_ref.write_f64(o.out, forward(cfg, w, ids, o.loops, o.mode))


def case_model(args):
    with tempfile.TemporaryDirectory(prefix="plait-numerics") as d:
        subprocess.run([sys.executable, plt_ref.__file__, "write", d] + args.split(), check=True)
        return plt_ref.load_checkpoint(d)


def sharp_table(cases, positions):
    for name, args, loops in cases:
        cfg, w = case_model(args)
        V = cfg["vocab_size"]
        ids = [(i * 7919 + 13 + i * i * 31) % V for i in range(positions)]
        with torch.no_grad():
            ref = forward(cfg, w, ids, loops, "exact")
            out = {m: forward(cfg, w, ids, loops, m) for m in ("weights", "decode", "prefill")}
            pf32 = forward(cfg, w, ids, loops, "prefill", torch.float32)
            dec32 = forward(cfg, w, ids, loops, "decode", torch.float32)
        line = "%-28s" % name
        for m in ("weights", "decode", "prefill"):
            t1, d = compare(out[m], ref)
            line += "  %s: top-1 %5.1f%% top-5 %.3f" % (m, 100.0 * t1 / len(ids), d)
        line += "  decode/prefill rel %.3f" % rel_err(out["decode"].float(), out["prefill"].float())
        t1, d = compare(dec32, out["decode"])
        line += "  | fp32 vs f64 arithmetic: decode top-1 %5.1f%% top-5 %.3f" % (100.0 * t1 / len(ids), d)
        t1, d = compare(pf32, out["prefill"])
        line += ", prefill top-1 %5.1f%% top-5 %.3f" % (100.0 * t1 / len(ids), d)
        print(line, flush=True)
    return 0


def conditioned_table(cases, positions, mutations):
    """The trained-like set: the emulated decode and prefill against the
    exact pass, held to the bar with MARGIN_*; with mutations, each
    mutation's emulated decode against the exact pass, and whether it
    misses the bar (top-1 < 99% or top-5 > 5e-2) in some case."""
    status = 0
    caught = {m: [] for m, _ in MUTATIONS}
    cells = {}
    print("| case | decode top-1 % | decode top-5 | prefill top-1 % | prefill top-5 | decode/prefill rel "
          "| logit std | mean top-1 p |")
    print("|---|---|---|---|---|---|---|---|")
    for name, args, loops in cases:
        cfg, w = case_model(args)
        V = cfg["vocab_size"]
        P = positions
        ids = [(i * 7919 + 13 + i * i * 31) % V for i in range(P)]
        with torch.no_grad():
            ref = forward(cfg, w, ids, loops, "exact")
            dec = forward(cfg, w, ids, loops, "decode")
            pf = forward(cfg, w, ids, loops, "prefill")
            fig = [compare(dec, ref), compare(pf, ref)]
            ok = all(t1 >= MARGIN_TOP1 * P and d <= MARGIN_TOP5 for t1, d in fig)
            status |= 0 if ok else 1
            p1 = torch.log_softmax(ref, -1).max(-1).values.exp().mean()
            print("| %s | %.1f | %.3f | %.1f | %.3f | %.3f | %.2f | %.2f |%s" % (
                name, 100.0 * fig[0][0] / P, fig[0][1], 100.0 * fig[1][0] / P, fig[1][1],
                rel_err(dec.float(), pf.float()), float(ref.std(-1).mean()), float(p1),
                "" if ok else " BELOW THE MARGIN (%.1f%%, %.3f)" % (100 * MARGIN_TOP1, MARGIN_TOP5)), flush=True)
            if not mutations:
                continue
            for m, _ in MUTATIONS:
                t1, d = compare(forward(cfg, w, ids, loops, "decode", mut=m), ref)
                cells[m, name] = (t1, d)
                if t1 < TOP1_MIN * P or d > TOP5_MAX:
                    caught[m].append(name)
    if not mutations:
        return status
    print()
    print("mutations (emulated decode against the exact pass; * = misses the bar: top-1 < 99% or top-5 > 5e-2)")
    print("| mutation | " + " | ".join(n for n, _, _ in cases) + " | caught in |")
    print("|---|" + "---|" * len(cases) + "---|")
    for m, what in MUTATIONS:
        row = "| %s (%s) |" % (m, what)
        for n, _, _ in cases:
            t1, d = cells[m, n]
            bad = t1 < TOP1_MIN * positions or d > TOP5_MAX
            row += " %s%.1f, %.3f |" % ("*" if bad else "", 100.0 * t1 / positions, d)
        print(row + " %d of %d |" % (len(caught[m]), len(cases)))
        status |= 0 if caught[m] else 1
    return status


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "logits":
        return logits_main(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=["sharp", "conditioned"], default="sharp",
                    help="sharp: test_cuda.c's emulation-bounded cases; conditioned: its trained-like ones")
    ap.add_argument("--case")
    ap.add_argument("--positions", type=int, default=512)
    ap.add_argument("--mutations", action="store_true", help="(conditioned) also run MUTATIONS")
    o = ap.parse_args()
    cases = [c for c in (CONDITIONED if o.set == "conditioned" else CASES) if not o.case or o.case == c[0]]
    if o.set == "sharp":
        return sharp_table(cases, o.positions)
    return conditioned_table(cases, o.positions, o.mutations)


if __name__ == "__main__":
    sys.exit(main())
