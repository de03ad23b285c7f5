#!/usr/bin/python3
"""tokenizer_ref.py - the oracle for plait's SentencePiece tokenizer.

Usage: /usr/bin/python3 tokenizer_ref.py WORKDIR [MODEL]

Writes a corpus of code, Unicode and whitespace runs, trains small models
with Debian's spm_train (BPE and unigram, with and without byte fallback),
gives each a tokenizer_config.json and generation_config.json, and writes
WORKDIR/expected.json with what Debian's python3-sentencepiece says for a
set of texts: plain ids, ids with added tokens parsed first (each stretch
of text between added tokens encoded on its own), and decodes of those ids
and of random id sequences (decode_ref states plait's rule).  The C test (tests/engine/test_tokenizer.c)
compares plait's tokenizer with every one of them.
"""
import json
import os
import random
import re
import subprocess
import sys

import sentencepiece as spm

WORDS = [
    "def", "return", "int", "for", "while", "if", "else", "class", "import", "self", "print",
    "value", "x", "y", "i", "j", "0", "1", "42", "3.14", "==", "!=", "(", ")", "{", "}", "[", "]",
    ";", ":", "->", "=>", "struct", "#include", "<stdio.h>", "std::vector<int>", "fn", "let", "mut",
    "naïve", "café", "日本語", "中文", "测试", "😀", "🚀", "привет", "мир", "λ", "→", "über",
    "foo_bar", "camelCase", "/* comment */", "# comment", "'str'", '"str"', "\\n", "0x1F",
]

MODELS = {
    # name: spm_train flags
    "bpe_bf": ["--model_type=bpe", "--vocab_size=400", "--byte_fallback=true",
               "--remove_extra_whitespaces=false", "--user_defined_symbols=<tool_call>,</tool_call>",
               "--control_symbols=<ctl>"],
    "bpe": ["--model_type=bpe", "--vocab_size=300"],
    "uni_bf": ["--model_type=unigram", "--vocab_size=500", "--byte_fallback=true",
               "--remove_extra_whitespaces=false", "--allow_whitespace_only_pieces=true",
               "--split_by_whitespace=false"],
    "uni": ["--model_type=unigram", "--vocab_size=400", "--user_defined_symbols=<tool_call>",
            "--add_dummy_prefix=false"],
    # precompiled character maps: sentencepiece's default rule and its case-folding one
    "bpe_nfkc": ["--model_type=bpe", "--vocab_size=400", "--byte_fallback=true",
                 "--normalization_rule_name=nmt_nfkc"],
    "uni_nfkc_cf": ["--model_type=unigram", "--vocab_size=400", "--normalization_rule_name=nfkc_cf"],
}

ADDED = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]

TEXTS = [
    "", " ", "  ", "hello world", "def foo(x):\n    return x * 2\n",
    "int main(void) {\n\treturn 0;\n}\n", "   leading and trailing   ", "tabs\tand\t\ttabs",
    "new\n\nlines\r\n", "naïve café 日本語 中文 测试", "emoji 😀🚀 and 🦀 rare ✨",
    "한국어 텍스트", "привет мир", "x→y λx. x", "a" * 50, "    " * 10 + "indented",
    '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>', "<s>hello</s> <unk> <ctl>",
    "<|im_start|>user\nhi<|im_end|>\n", "mixed<|im_start|><|im_start|>x<|im_end|>",
    "<|im_start|> spaced <|endoftext|>", "ＡＢＣ１２３ full width", "ﬁne ligature ½ ① Ⅻ", "e\u0301 combining",
    "HELLO World ÄÖÜ", "ctrl\x01\x7f chars", "\ufeffbom", "ß∑∂ƒ©˙∆˚¬", "\u00a0nbsp\u3000ideographic space",
    "日本語のテキストです。", "0123456789 3.14159 1e-9",
    '#include <stdio.h>\nint main() { printf("%d\\n", 42); }', "xxx       y", "\t\t\n\n  \n",
    "end with space ", "\u2581already escaped\u2581", "zero\u200bwidth", "<0x41> literal",
]


# Not UTF-8: sentencepiece replaces each bad byte by U+FFFD before encoding.
BYTE_TEXTS = [b"a\xffb", b"\xe2\x82", b"ok \xc3\x28 \xa0\xa1", b"\xf0\x9f\x98", b"\xed\xa0\x80 surrogate",
              b"\xc0\xaf overlong", b"\xf4\x90\x80\x80 too big", b"tail \xe6\x97"]


def make_texts(rng):
    extra = []
    pool = WORDS + ["ß", "🦀", "한", "∑", "\t", "\n", "  ", "    "]
    for _ in range(40):
        n = rng.randint(1, 16)
        parts = [rng.choice(pool) for _ in range(n)]
        extra.append("".join(p + rng.choice(["", " ", " ", "  ", "\t", "\n"]) for p in parts))
    return TEXTS + extra


SYLLABLES = ["ka", "to", "ri", "men", "st", "ar", "get", "set", "len", "buf", "ptr", "num", "io",
             "tion", "er", "ing", "ex", "pre", "un", "re", "_", "2", "x"]


def ident(rng):
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))


def write_corpus(path, rng):
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(3000):
            k = rng.randint(1, 12)
            ws = [rng.choice(WORDS) if rng.random() < 0.6 else ident(rng) for _ in range(k)]
            sep = rng.choice([" ", "  ", "\t", " ", "    "])
            f.write(rng.choice(["", "    ", "\t", "        "]) + sep.join(ws) + "\n")


def split_added(text, added):
    """Splits text on added tokens, longest first, leftmost."""
    if not added:
        return [text]
    pat = "(" + "|".join(re.escape(a) for a in sorted(added, key=len, reverse=True)) + ")"
    return [p for p in re.split(pat, text) if p != ""]


def decode_ref(sp, ids, separators):
    """plait's decode rule: ids split at the added tokens that are text
    (user-defined or normal pieces, or beyond the model), each run decoded
    by sentencepiece, the added tokens by their content."""
    out, run = [], []
    for i in ids:
        if i in separators:
            out.append(sp.decode(run))
            out.append(separators[i])
            run = []
        else:
            run.append(i)
    out.append(sp.decode(run))
    return "".join(out)


def main():
    work = sys.argv[1]
    rng = random.Random(20261123)
    corpus = os.path.join(work, "corpus.txt")
    write_corpus(corpus, rng)
    texts = make_texts(rng)
    out = {"texts": texts, "byte_texts": [b.hex() for b in BYTE_TEXTS], "models": {}}
    for name, flags in MODELS.items():
        if len(sys.argv) > 2 and name != sys.argv[2]:
            continue
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        prefix = os.path.join(d, "tokenizer")
        rule = [] if any(f.startswith("--normalization_rule_name") for f in flags) else \
            ["--normalization_rule_name=identity"]
        subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + prefix,
                        "--num_threads=1", "--hard_vocab_limit=false"] + rule + flags,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        n = sp.get_piece_size()
        # added tokens: the model's own <unk>/<s>/</s> and user-defined
        # <tool_call>, plus chat tokens beyond the model (as in LoopCoder-V2)
        dec = {}
        for i in range(n):
            if sp.id_to_piece(i) in ("<unk>", "<s>", "</s>", "<tool_call>"):
                dec[str(i)] = {"content": sp.id_to_piece(i), "special": sp.id_to_piece(i) != "<tool_call>"}
        for k, a in enumerate(ADDED):
            dec[str(n + 10 + k)] = {"content": a, "special": True}
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"add_bos_token": False, "add_eos_token": False, "bos_token": "<s>",
                       "eos_token": {"content": "<|im_end|>"}, "added_tokens_decoder": dec}, f)
        with open(os.path.join(d, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": 1, "eos_token_id": [2, n + 11, n + 12]}, f)
        added = {v["content"]: int(k) for k, v in dec.items()}
        separators = {i: a for a, i in added.items()
                      if i >= n or not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i))}
        plain, special, decoded = [], [], []
        for t in texts:
            ids = sp.encode(t)
            plain.append(ids)
            decoded.append(decode_ref(sp, ids, separators))
            s = []
            for part in split_added(t, list(added)):
                if part in added:
                    s.append(added[part])
                else:
                    s.extend(sp.encode(part))
            special.append(s)
        # random id sequences over the whole model, byte pieces weighted up
        # so that split and invalid UTF-8 sequences are common
        byte_ids = [i for i in range(n) if sp.is_byte(i)]
        rand_ids, rand_text = [], []
        for _ in range(200):
            k = rng.randint(0, 12)
            ids = [rng.choice(byte_ids) if byte_ids and rng.random() < 0.6 else rng.randrange(n + 13)
                   for _ in range(k)]
            ids = [i for i in ids if i < n or i in separators]
            rand_ids.append(ids)
            rand_text.append(decode_ref(sp, ids, separators))
        byte_plain = [sp.encode(b) for b in BYTE_TEXTS]
        out["models"][name] = {
            "byte_plain": byte_plain,
            "dir": d, "pieces": n, "unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(),
            "added": added, "plain": plain, "special": special, "decoded": decoded,
            "rand_ids": rand_ids, "rand_text": rand_text,
            "pieces_list": [sp.id_to_piece(i) for i in range(n)],
        }
    with open(os.path.join(work, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
