#!/usr/bin/python3
"""tokenizer_hf_ref.py - fixtures and expected ids for plait's tokenizer.json reader.

Usage: /usr/bin/python3 tokenizer_hf_ref.py WORKDIR

Debian 12 has no python3-tokenizers, so the expected ids come from the
algorithms written out here, independently of the C code:

- byte-level BPE as GPT-2 defined it: the text is split with GPT-2's
  pattern (python3-regex gives \\p{L} and \\p{N}), each piece's bytes are
  mapped to GPT-2's printable alphabet, and merges apply lowest rank first;
- metaspace BPE as Hugging Face converts SentencePiece models: spaces become
  U+2581, a leading U+2581 is prepended, characters missing from the
  vocabulary fall back to <0xNN> byte tokens (or one fused <unk>), and the
  same ranked merges apply.

Merges are learned here from a generated corpus (most frequent pair,
lexicographic on ties).  Three tokenizer.json files are written:
bytelevel/, llama/ (Prepend+Replace normalizer, byte fallback, the
Replace/ByteFallback/Fuse/Strip decoder) and metaspace/ (Metaspace
pre-tokenizer, prepend_scheme "first", <unk> fused), with expected.json.
"""
import json
import os
import random
import sys

import regex

GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
MARK = "\u2581"
ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

WORDS = ["def", "return", "int", "for", "while", "if", "else", "class", "import", "self", "print", "value",
         "x", "y", "0", "1", "42", "==", "(", ")", "{", "}", ";", ":", "->", "struct", "#include",
         "naïve", "café", "日本語", "中文", "привет", "λ", "foo_bar", "camelCase", "don't", "it's", "we'll"]

TEXTS = ["", " ", "hello world", "def foo(x):\n    return x * 2\n", "int main(void) {\n\treturn 0;\n}\n",
         "   leading and trailing   ", "tabs\tand\t\ttabs", "new\n\nlines\r\n", "naïve café 日本語 中文",
         "emoji 😀🚀 and 🦀 rare ✨", "don't stop, it's we'll they've I'm you'd", "x→y λx. x",
         "    " * 4 + "indented", "<|im_start|>user\nhi<|im_end|>\n", "a<|endoftext|>b <|im_end|>",
         "0123456789 3.14159 1e-9", "ß∑∂ƒ ©˙∆", "\u00a0nbsp\u3000ideo", "zero\u200bwidth", "'s'S 'LL"]


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


def learn(words, base, n_merges):
    """words: {tuple of symbols: count}; returns the merges list."""
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def apply_merges(symbols, ranks):
    """Lowest-rank adjacent pair first, leftmost on ties, one merge at a time."""
    symbols = list(symbols)
    while len(symbols) > 1:
        best, at = None, -1
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best):
                best, at = r, i
        if best is None:
            break
        symbols[at:at + 2] = [symbols[at] + symbols[at + 1]]
    return symbols


def split_added(text):
    pat = "(" + "|".join(regex.escape(a) for a in sorted(ADDED, key=len, reverse=True)) + ")"
    return [p for p in regex.split(pat, text) if p != ""]


def corpus(rng):
    lines = []
    for _ in range(600):
        k = rng.randint(1, 10)
        lines.append(rng.choice(["", "    ", "\t"]) + rng.choice([" ", "  ", "\t"]).join(
            rng.choice(WORDS) for _ in range(k)) + "\n")
    return lines


def added_json(vocab_size):
    return [{"id": vocab_size + i, "content": a, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, a in enumerate(ADDED)]


def bytelevel(work, lines, texts):
    b2u = bytes_to_unicode()
    counts = {}
    for line in lines:
        for piece in GPT2.findall(line):
            w = tuple(b2u[b] for b in piece.encode("utf-8"))
            counts[w] = counts.get(w, 0) + 1
    merges = learn(counts, None, 300)
    vocab = {b2u[b]: b for b in range(256)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    ranks = {m: i for i, m in enumerate(merges)}
    n = len(vocab)
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_json(n),
          "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
          "post_processor": None,
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                    "vocab": vocab, "merges": [a + " " + b for a, b in merges]}}

    def enc(t):
        ids = []
        for piece in GPT2.findall(t):
            sym = [b2u[b] for b in piece.encode("utf-8")]
            ids.extend(vocab[s] for s in apply_merges(sym, ranks))
        return ids
    return tj, enc, n


def metaspace_vocab(lines, byte_fallback):
    counts = {}
    for line in lines:
        t = MARK + line.rstrip("\n").replace(" ", MARK)
        for w in regex.findall(MARK + "[^" + MARK + "]*|[^" + MARK + "]+", t):
            counts[tuple(w)] = counts.get(tuple(w), 0) + 1
    merges = learn(counts, None, 250)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    if byte_fallback:
        for b in range(256):
            vocab["<0x%02X>" % b] = len(vocab)
    chars = sorted({c for w in counts for c in w})
    for c in chars:
        vocab.setdefault(c, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def metaspace_word(w, vocab, ranks, byte_fallback):
    sym = []
    for c in w:
        if c in vocab:
            sym.append(c)
        elif byte_fallback:
            sym.extend("<0x%02X>" % b for b in c.encode("utf-8"))
        elif sym and sym[-1] == "<unk>":
            pass  # fuse_unk
        else:
            sym.append("<unk>")
    # byte and unk symbols take part in no merge
    return [vocab[s] for s in apply_merges(sym, ranks)]


def main():
    work = sys.argv[1]
    rng = random.Random(7)
    lines = corpus(rng)
    texts = TEXTS + ["".join(rng.choice(WORDS + [" ", "  ", "\n", "\t", "🦀"]) for _ in range(rng.randint(1, 12)))
                     for _ in range(30)]
    out = {"texts": texts, "models": {}}

    def record(name, tj, enc, n, added_ids):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        plain, special = [], []
        for t in texts:
            plain.append(enc(t, True))
            s = []
            for i, part in enumerate(split_added(t)):
                s.extend([added_ids[part]] if part in added_ids else enc(part, t.startswith(part) and i == 0))
            special.append(s)
        out["models"][name] = {"dir": d, "size": n + len(ADDED), "plain": plain, "special": special}

    tj, enc, n = bytelevel(work, lines, texts)
    record("bytelevel", tj, lambda t, first: enc(t), n, {a: n + i for i, a in enumerate(ADDED)})

    # Llama-2 as converted by transformers: Prepend + Replace, no pre-tokenizer
    vocab, merges = metaspace_vocab(lines, True)
    ranks = {m: i for i, m in enumerate(merges)}
    n = len(vocab)
    tj = {"version": "1.0", "added_tokens": added_json(n),
          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": MARK},
                                                             {"type": "Replace", "pattern": {"String": " "},
                                                              "content": MARK}]},
          "pre_tokenizer": None,
          "decoder": {"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": MARK}, "content": " "}, {"type": "ByteFallback"},
              {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
          "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
                    "vocab": vocab, "merges": [[a, b] for a, b in merges]}}

    def enc_llama(t, first):
        if not t:
            return []
        return metaspace_word(MARK + t.replace(" ", MARK), vocab, ranks, True)
    record("llama", tj, enc_llama, n, {a: n + i for i, a in enumerate(ADDED)})

    # Metaspace pre-tokenizer, prepend only at the start of the input, no byte fallback
    vocab2, merges2 = metaspace_vocab(lines, False)
    ranks2 = {m: i for i, m in enumerate(merges2)}
    n2 = len(vocab2)
    tj = {"version": "1.0", "added_tokens": added_json(n2), "normalizer": None,
          "pre_tokenizer": {"type": "Metaspace", "replacement": MARK, "prepend_scheme": "first", "split": True},
          "decoder": {"type": "Metaspace", "replacement": MARK, "prepend_scheme": "first", "split": True},
          "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": False,
                    "vocab": vocab2, "merges": [a + " " + b for a, b in merges2]}}

    def enc_meta(t, first):
        t = t.replace(" ", MARK)
        if t and first and not t.startswith(MARK):
            t = MARK + t
        ids = []
        for w in regex.findall(MARK + "[^" + MARK + "]*|[^" + MARK + "]+", t):
            ids.extend(metaspace_word(w, vocab2, ranks2, False))
        return ids
    record("metaspace", tj, enc_meta, n2, {a: n2 + i for i, a in enumerate(ADDED)})

    with open(os.path.join(work, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
