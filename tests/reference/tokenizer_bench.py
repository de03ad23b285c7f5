#!/usr/bin/python3
"""tokenizer_bench.py - plait's SentencePiece encoder against python3-sentencepiece.

Usage: /usr/bin/python3 tests/reference/tokenizer_bench.py build/plait [MB]

Trains 8000-piece BPE and unigram models (byte fallback, identity
normalizer) on 3 MB of the Python standard library's own source, then
encodes MB (default 1.4) megabytes of it as one text: sentencepiece through
its Python binding (CPU time of sp.encode alone, best of 3) and
`plait tokenize --ids -` (CPU time of the whole process: start, model load,
reading, encoding, printing; best of 3).  Checks that the ids are equal
and prints one line per model.  A measurement, not a test.
"""
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time

import sentencepiece as spm


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    plait = os.path.abspath(sys.argv[1])
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 1.4
    files = sorted(glob.glob("/usr/lib/python3.11/*.py"))
    src = b"".join(open(f, "rb").read() for f in files)
    with tempfile.TemporaryDirectory(prefix="plait-tokbench-") as work:
        corpus = os.path.join(work, "corpus.txt")
        with open(corpus, "wb") as f:
            f.write(src[:3_000_000])
        text = src[3_000_000:3_000_000 + int(mb * 1e6)].decode("utf-8", "ignore")
        data = os.path.join(work, "text.txt")
        with open(data, "w", encoding="utf-8") as f:
            f.write(text)
        nbytes = len(text.encode("utf-8"))
        for kind in ("bpe", "unigram"):
            d = os.path.join(work, kind)
            os.makedirs(d)
            subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + os.path.join(d, "tokenizer"),
                            "--vocab_size=8000", "--model_type=" + kind, "--byte_fallback=true",
                            "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
                            "--allow_whitespace_only_pieces=true", "--max_sentence_length=100000",
                            "--num_threads=2"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
            best_sp = None
            for _ in range(3):
                t = time.process_time()
                ids = sp.encode(text)
                dt = time.process_time() - t
                best_sp = dt if best_sp is None else min(best_sp, dt)
            best_pl = None
            for _ in range(3):
                before = child_cpu()
                with open(data, "rb") as f:
                    out = subprocess.run([plait, "tokenize", "--model", d, "--ids", "-"], stdin=f,
                                         stdout=subprocess.PIPE, check=True).stdout
                dt = child_cpu() - before
                best_pl = dt if best_pl is None else min(best_pl, dt)
            same = out.decode().strip() == ",".join(map(str, ids))
            print("%-8s %d bytes -> %d tokens  sentencepiece %.3f s (%.2f MB/s)  plait %.3f s (%.2f MB/s)  "
                  "ratio %.2fx  ids %s" % (kind, nbytes, len(ids), best_sp, nbytes / best_sp / 1e6, best_pl,
                                          nbytes / best_pl / 1e6, best_sp / best_pl,
                                          "equal" if same else "DIFFER"))


if __name__ == "__main__":
    main()
