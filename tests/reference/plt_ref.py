#!/usr/bin/python3
"""plt_ref.py - an independent PyTorch (float64, CPU) reference of the PLT
forward pass, written from ../shared/design/plt.md, and a writer of random
checkpoints in the published Hugging Face layout.

Run with Debian's /usr/bin/python3 (python3-torch).  Subcommands:

  write DIR [shape options]            random checkpoint (config.json,
                                       model.safetensors or shards,
                                       generation_config.json)
  forward DIR --ids 1,2,3 --out F      logits of every position, float64 LE
  bench DIR --loops R --threads N --prompt-len P [--reps N]
                                       time the float32 full-sequence forward
                                       of a P-token prompt (best of N, 3 by
                                       default, after a warm-up) and print
                                       milliseconds
  case DIR [shape options] --prompt-len P --greedy N
                                       write a checkpoint, a random prompt
                                       (prompt.json), its logits (logits.bin,
                                       float64 T x V) and a greedy
                                       continuation of N tokens with the
                                       top-1/top-2 logit margin of each step
                                       (greedy.json)

The safetensors files are written and read by hand (struct + json): the
safetensors package is not in Debian.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)

# ------------------------------------------------------------ safetensors


def to_storage(t, dtype):
    """Tensor -> (dtype string, little-endian bytes)."""
    t = t.detach().contiguous()
    if dtype == "bf16":
        raw = t.to(torch.float32).to(torch.bfloat16).view(torch.int16)
        return "BF16", raw.numpy().astype("<i2").tobytes()
    if dtype == "f16":
        return "F16", t.to(torch.float16).numpy().astype("<f2").tobytes()
    return "F32", t.to(torch.float32).numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, dtype, metadata=True):
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        dt, raw = to_storage(tensors[name], dtype)
        header[name] = {"dtype": dt, "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        else:
            raise SystemExit("%s: unsupported dtype %s" % (path, info["dtype"]))
        out[name] = torch.tensor(arr.astype(np.float64)).reshape(info["shape"])
    return out


def load_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        w = {}
        for shard in sorted(set(wm.values())):
            w.update(read_safetensors(os.path.join(d, shard)))
    else:
        w = read_safetensors(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return cfg, w

# ------------------------------------------------------------ writer


def make_weights(a, gen):
    H, I, NH, KV = a.hidden, a.inter, a.heads, a.kv_heads
    hd = H // NH
    V = a.vocab

    def mat(o, i):
        return torch.randn(o, i, generator=gen) / math.sqrt(i)

    def normw(n):
        return 1.0 + 0.2 * torch.randn(n, generator=gen)

    # the scales multiply after each draw: the defaults (the sharp test
    # checkpoints) give the same bits as before the options existed
    w = {"model.embed_tokens.weight": torch.randn(V, H, generator=gen) * a.embed_std,
         "model.norm.weight": normw(H)}
    if not a.tie:
        w["lm_head.weight"] = mat(V, H) * a.lm_head_scale
        if a.lm_head_spread:
            # rows of log-normal norms, as a trained lm_head's (frequent
            # tokens' rows are longer): the top logits stand further apart
            w["lm_head.weight"] *= torch.exp(a.lm_head_spread * torch.randn(V, 1, generator=gen))
    for i in range(a.layers):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = normw(H)
        w[p + "post_attention_layernorm.weight"] = normw(H)
        w[p + "self_attn.q_proj.weight"] = mat(NH * hd, H) * a.qk_scale
        w[p + "self_attn.k_proj.weight"] = mat(KV * hd, H) * a.qk_scale
        w[p + "self_attn.v_proj.weight"] = mat(KV * hd, H)
        w[p + "self_attn.o_proj.weight"] = mat(H, NH * hd) * a.out_scale
        w[p + "mlp.gate_proj.weight"] = mat(I, H)
        w[p + "mlp.up_proj.weight"] = mat(I, H)
        w[p + "mlp.down_proj.weight"] = mat(H, I) * a.out_scale
        if not a.plain:
            g = p + "self_attn.%s." % a.gate_spelling
            w[g + "weight"] = mat(NH, H) * a.gate_scale
            w[g + "bias"] = 0.5 * torch.randn(NH, generator=gen)
            w[g + "gate_norm.weight"] = normw(H)
    return w


def write_checkpoint(d, a):
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(a.seed)
    w = make_weights(a, gen)
    cfg = {"architectures": ["IQuestPLTCoderForCausalLM" if not a.plain else "LlamaForCausalLM"],
           "model_type": "iquestpltcoder" if not a.plain else "llama",
           "hidden_size": a.hidden, "intermediate_size": a.inter,
           "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "num_key_value_heads": a.kv_heads, "vocab_size": a.vocab,
           "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
           "rope_theta": a.rope_theta, "rope_scaling": None,
           "attention_bias": False, "mlp_bias": False,
           "tie_word_embeddings": bool(a.tie), "bos_token_id": 1, "eos_token_id": 2,
           "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float32"}
    if not a.plain:
        cfg.update({"plt_num_loops": a.loops, "plt_window_size": [64, 0],
                    "plt_emb_scale": 0.707, "plt_hidden_scale": a.hidden_scale,
                    "plt_normalize_per_loop": True, "plt_gate_use_hidden_states": True})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 3], "do_sample": True, "temperature": 0.7,
                   "top_p": 0.9}, f)
    if a.shards > 1:
        names = sorted(w)
        wm = {}
        for s in range(a.shards):
            part = names[s::a.shards]
            fn = "model-%05d-of-%05d.safetensors" % (s + 1, a.shards)
            write_safetensors(os.path.join(d, fn), {n: w[n] for n in part}, a.dtype)
            for n in part:
                wm[n] = fn
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f)
    else:
        write_safetensors(os.path.join(d, "model.safetensors"), w, a.dtype)

# ------------------------------------------------------------ forward


def rms(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def attention(q, k, v, mask, scale):
    # q: T x NH x hd; k, v: S x NH x hd; mask: T x S (True = attend)
    s = torch.einsum("thd,shd->hts", q, k) * scale
    s = s.masked_fill(~mask.unsqueeze(0), float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.einsum("hts,shd->thd", p, v)


def forward(cfg, w, ids, loops=None):
    """Logits of every position of a fresh sequence (the full-sequence form)."""
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
    T = len(ids)
    E = w["model.embed_tokens.weight"][torch.tensor(ids)]
    lm = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    pos = torch.arange(T, dtype=torch.float64)
    inv = theta ** (-2.0 * torch.arange(hd // 2, dtype=torch.float64) / hd)
    ang = pos[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :].to(E.dtype)
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :].to(E.dtype)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    causal = j <= i
    local = causal & (j >= i - left)  # left + 1 = 65 keys including the current one
    scale = 1.0 / math.sqrt(hd)
    grp = NH // KV
    K0, V0 = [None] * L, [None] * L
    h_prev = None
    for r in range(R):
        if r == 0:
            x = E.clone()
        else:
            shifted = torch.cat([torch.zeros(1, H, dtype=E.dtype), h_prev[:-1]], 0)
            x = a * E + b * shifted
        for l in range(L):
            p = "model.layers.%d." % l
            res = x
            n = rms(x, w[p + "input_layernorm.weight"], eps)
            q = (n @ w[p + "self_attn.q_proj.weight"].T).view(T, NH, hd)
            k = (n @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
            v = (n @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(grp, dim=1)
            v = v.repeat_interleave(grp, dim=1)
            if r == 0:
                K0[l], V0[l] = k, v
                out = attention(q, k, v, causal, scale)
            else:
                gp = None
                for sp in ("plt_gate", "loop_gate_proj"):
                    if p + "self_attn.%s.weight" % sp in w:
                        gp = p + "self_attn.%s." % sp
                glob = attention(q, K0[l], V0[l], causal, scale)
                loc = attention(q, k, v, local, scale)
                g = torch.sigmoid(rms(res, w[gp + "gate_norm.weight"], eps) @ w[gp + "weight"].T
                                  + w[gp + "bias"])
                out = g[:, :, None] * glob + (1 - g[:, :, None]) * loc
            x = res + out.reshape(T, NH * hd) @ w[p + "self_attn.o_proj.weight"].T
            m = rms(x, w[p + "post_attention_layernorm.weight"], eps)
            act = torch.nn.functional.silu(m @ w[p + "mlp.gate_proj.weight"].T) * \
                (m @ w[p + "mlp.up_proj.weight"].T)
            x = x + act @ w[p + "mlp.down_proj.weight"].T
        h_prev = rms(x, w["model.norm.weight"], eps)
    return h_prev @ lm.T


def greedy(cfg, w, ids, n, loops=None):
    ids = list(ids)
    out, margins = [], []
    for _ in range(n):
        lg = forward(cfg, w, ids, loops)[-1]
        top = torch.topk(lg, 2)
        out.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        ids.append(out[-1])
    return out, margins


def write_f64(path, t):
    with open(path, "wb") as f:
        f.write(t.contiguous().numpy().astype("<f8").tobytes())


def shape_args(p):
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--inter", type=int, default=48)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--vocab", type=int, default=64)
    p.add_argument("--loops", type=int, default=2)
    p.add_argument("--dtype", choices=["bf16", "f16", "f32"], default="f32")
    p.add_argument("--gate-spelling", choices=["plt_gate", "loop_gate_proj"], default="plt_gate")
    p.add_argument("--tie", action="store_true")
    p.add_argument("--plain", action="store_true", help="a plain Llama config (no plt_* fields)")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--hidden-scale", type=float, default=0.5)
    # conditioning: the defaults make sharp attention (q and k at twice the
    # 1/sqrt(fan_in) scale: attention logits of std about 4) and an lm_head
    # at twice it; tests/engine/test_cuda.c's trained-like set lowers them
    p.add_argument("--qk-scale", type=float, default=2.0, help="q_proj and k_proj std, times 1/sqrt(hidden)")
    p.add_argument("--lm-head-scale", type=float, default=2.0, help="lm_head std, times 1/sqrt(hidden)")
    p.add_argument("--lm-head-spread", type=float, default=0.0,
                   help="std of the log of the lm_head's row norms (0: all rows alike)")
    p.add_argument("--gate-scale", type=float, default=2.0, help="the PLT gate's weight std, times 1/sqrt(hidden)")
    p.add_argument("--out-scale", type=float, default=1.0,
                   help="o_proj and down_proj std, times 1/sqrt(fan_in) (GPT-2's 1/sqrt(2 x layers) init)")
    p.add_argument("--embed-std", type=float, default=1.0, help="embed_tokens std (the lm_head too with --tie)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    pw = sub.add_parser("write")
    pw.add_argument("dir")
    shape_args(pw)
    pf = sub.add_parser("forward")
    pf.add_argument("dir")
    pf.add_argument("--ids", required=True)
    pf.add_argument("--out", required=True)
    pf.add_argument("--loops", type=int)
    pc = sub.add_parser("case")
    pc.add_argument("dir")
    shape_args(pc)
    pc.add_argument("--prompt-len", type=int, default=80)
    pc.add_argument("--greedy", type=int, default=0)
    pb = sub.add_parser("bench")
    pb.add_argument("dir")
    pb.add_argument("--loops", type=int)
    pb.add_argument("--threads", type=int, default=1)
    pb.add_argument("--prompt-len", type=int, default=256)
    pb.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "bench":
        import time
        torch.set_num_threads(a.threads)
        cfg, w = load_checkpoint(a.dir)
        w = {k: v.to(torch.float32) for k, v in w.items()}
        ids = [(i * 7919 + 13) % cfg["vocab_size"] for i in range(a.prompt_len)]
        times = []
        with torch.no_grad():
            forward(cfg, w, ids, a.loops)
            for _ in range(a.reps):
                t0 = time.perf_counter()
                forward(cfg, w, ids, a.loops)
                times.append((time.perf_counter() - t0) * 1000)
        print("%.3f" % min(times))
        return
    if a.cmd == "write":
        write_checkpoint(a.dir, a)
        return
    if a.cmd == "forward":
        cfg, w = load_checkpoint(a.dir)
        ids = [int(x) for x in a.ids.split(",")]
        write_f64(a.out, forward(cfg, w, ids, a.loops))
        return
    write_checkpoint(a.dir, a)
    cfg, w = load_checkpoint(a.dir)
    gen = torch.Generator().manual_seed(a.seed + 1000)
    ids = torch.randint(0, a.vocab, (a.prompt_len,), generator=gen).tolist()
    with open(os.path.join(a.dir, "prompt.json"), "w") as f:
        json.dump({"ids": ids}, f)
    write_f64(os.path.join(a.dir, "logits.bin"), forward(cfg, w, ids))
    if a.greedy:
        out, margins = greedy(cfg, w, ids, a.greedy)
        with open(os.path.join(a.dir, "greedy.json"), "w") as f:
            json.dump({"ids": out, "margins": margins}, f)


if __name__ == "__main__":
    sys.exit(main())
