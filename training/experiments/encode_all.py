"""Encode every text of the experiment once with each encoder (cached); writes encode stats.

    python training/experiments/encode_all.py static minilm
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import encoders as E  # noqa: E402

import data  # noqa: E402


def main() -> None:
    """Encode all texts with the encoders named on the command line."""
    texts = data.all_texts(data.load_rows())
    print(f"{len(texts)} unique texts", flush=True)
    stats_path = E.CACHE / "encode_stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    for name in sys.argv[1:]:
        t0 = time.perf_counter()
        if name == "static":
            enc = E.Cached("static", E.static_encode, 64)
            size = E.static_weights_bytes()
            chunk = 2048
        else:
            m = E.MiniLM()
            print("sanity:", E.sanity_check(m), flush=True)
            enc = E.Cached("minilm", m, 384)
            size = m.weights_bytes()
            chunk = 256
        load_s = time.perf_counter() - t0
        enc(texts, chunk=chunk)
        prev = stats.get(name, {})
        secs = enc.seconds + prev.get("encode_seconds", 0.0)
        n = enc.encoded + prev.get("texts_encoded", 0)
        stats[name] = {"texts_encoded": n, "encode_seconds": round(secs, 1),
                       "texts_per_s": round(n / max(secs, 1e-9), 2), "load_seconds": round(load_s, 2),
                       "weights_bytes": size,
                       "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        if name == "minilm":
            stats[name]["sanity"] = E.sanity_check(m)
        E.CACHE.mkdir(parents=True, exist_ok=True)
        stats_path.write_text(json.dumps(stats, indent=1))
        print(name, stats[name], flush=True)


if __name__ == "__main__":
    main()
