#!/usr/bin/python3
"""generate_ref.py - fixtures and the sentencepiece oracle for the text side
of `plait generate` (tests/engine/test_generate_text.c).

Run with Debian's /usr/bin/python3 (python3-sentencepiece, python3-torch).

  setup DIR [--embedding-pad N]
      a random PLT checkpoint (plt_ref.py write) whose embedding has the
      tokenizer's ids plus N padding rows (default 13; a negative N makes
      the embedding smaller than the tokenizer), a tokenizer.model trained
      here with spm_train (BPE, byte fallback, identity normalizer, the
      user-defined pieces <tool_call> and </tool_call>), a
      tokenizer_config.json adding the ChatML tokens <|im_start|>,
      <|im_end|>, <|endoftext|> after the pieces (as LoopCoder-V2 does),
      and a generation_config.json whose eos ids are <|im_end|> and
      <|endoftext|>.  Writes DIR/tok.json: pieces, vocab, embedding, eos.
  encode DIR IN OUT
      IN holds {"texts": [...]}; OUT gets {"ids": [[...], ...]}: the ids of
      each text, added tokens parsed first and each stretch between them
      encoded by sentencepiece on its own (the rule of Hugging Face's slow
      tokenizers).
  decode DIR IN OUT
      IN holds {"prompt": [ids], "runs": [[ids], ...]}; OUT gets {"texts":
      [...]}: for each run, the text that the run adds after the prompt,
      i.e. decode(prompt + run) minus decode(prompt), with decode as in
      tokenizer_ref.decode_ref (sentencepiece over the runs between added
      tokens, ids beyond the tokenizer decode to nothing).  With an empty
      prompt that is decode(run), sentencepiece's own (its dummy prefix
      dropped).
"""
import json
import os
import random
import subprocess
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizer_ref  # noqa: E402

ADDED = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]


def load(d):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
    with open(os.path.join(d, "tokenizer_config.json")) as f:
        dec = json.load(f)["added_tokens_decoder"]
    added = {v["content"]: int(k) for k, v in dec.items()}
    n = sp.get_piece_size()
    separators = {i: a for a, i in added.items()
                  if i >= n or not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i))}
    return sp, added, separators


def setup(d, pad):
    os.makedirs(d, exist_ok=True)
    corpus = os.path.join(d, "corpus.txt")
    tokenizer_ref.write_corpus(corpus, random.Random(7))
    subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + os.path.join(d, "tokenizer"),
                    "--num_threads=1", "--hard_vocab_limit=false", "--model_type=bpe", "--vocab_size=400",
                    "--byte_fallback=true", "--normalization_rule_name=identity",
                    "--remove_extra_whitespaces=false", "--user_defined_symbols=<tool_call>,</tool_call>"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.remove(corpus)
    os.remove(os.path.join(d, "tokenizer.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
    n = sp.get_piece_size()
    dec = {str(i): {"content": sp.id_to_piece(i), "special": True} for i in (0, 1, 2)}
    for k, a in enumerate(ADDED):
        dec[str(n + k)] = {"content": a, "special": True}
    vocab = n + len(ADDED)
    emb = vocab + pad
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "plt_ref.py"), "write", d, "--seed", "21",
                    "--vocab", str(emb), "--hidden", "32", "--inter", "48", "--layers", "2", "--heads", "4",
                    "--kv-heads", "2", "--loops", "2", "--dtype", "bf16"], check=True)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "add_eos_token": False, "bos_token": "<s>",
                   "eos_token": "<|im_end|>", "added_tokens_decoder": dec}, f)
    eos = [n + 1, n + 2]
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": eos, "do_sample": False}, f)
    with open(os.path.join(d, "tok.json"), "w") as f:
        json.dump({"pieces": n, "vocab": vocab, "embedding": emb, "eos": eos}, f)


def encode(d, src, dst):
    sp, added, _ = load(d)
    with open(src, encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    out = []
    for text in texts:
        ids = []
        for part in tokenizer_ref.split_added(text, list(added)):
            if part in added:
                ids.append(added[part])
            else:
                ids.extend(sp.encode(part))
        out.append(ids)
    with open(dst, "w") as f:
        json.dump({"ids": out}, f)


def decode(d, src, dst):
    sp, _, separators = load(d)
    with open(src) as f:
        req = json.load(f)
    n = sp.get_piece_size()
    vocab = max([n - 1] + list(separators)) + 1

    def dec(ids):
        # ids beyond the tokenizer (the embedding's padding) are nothing
        return tokenizer_ref.decode_ref(sp, [i for i in ids if i < vocab], separators)

    prompt = req["prompt"]
    head = dec(prompt)
    texts = []
    for run in req["runs"]:
        full = dec(prompt + run)
        if not full.startswith(head):
            sys.exit("decode of prompt + run does not start with the prompt's text")
        texts.append(full[len(head):])
    with open(dst, "w", encoding="utf-8") as f:
        json.dump({"texts": texts}, f, ensure_ascii=False)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "setup":
        pad = 13
        if len(sys.argv) > 4 and sys.argv[3] == "--embedding-pad":
            pad = int(sys.argv[4])
        setup(d, pad)
    elif cmd == "encode":
        encode(d, sys.argv[3], sys.argv[4])
    elif cmd == "decode":
        decode(d, sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
