"""Speed and memory of ``mdrbench.metrics.recall_at_k`` against a straightforward implementation.

The straightforward way builds the full (n, n) cosine similarity matrix and argsorts every row: O(n^2)
memory (3.2 GB of float32 plus 6.5 GB of int64 indices for the paper's 28,435 test tracks). The chunked
version keeps one block of rows at a time and selects the top K with ``torch.topk`` plus an exact tie rule.

Both run in this process on the same random data; the baseline runs at a size where it still fits
(``--baseline-n``), and the chunked version also at the paper's full test size (``--n``). Peak memory is the
peak of Python-visible allocations (``tracemalloc``: numpy arrays included) during the call.

    python benchmarks/bench_recall.py                # paper size, 2 threads
    python benchmarks/bench_recall.py --n 5000 --baseline-n 5000 --threads 1
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from mdrbench.metrics import recall_at_k


def straightforward_recall_at_k(embeddings, labels, ks=(1, 2, 4, 8)):
    """Full similarity matrix + stable argsort per row (ties by lower index, like recall_at_k)."""
    normalized = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    similarity = normalized @ normalized.T
    np.fill_diagonal(similarity, -np.inf)
    neighbors = np.argsort(-similarity, axis=1, kind="stable")[:, : max(ks)]
    labels = labels.astype(bool)
    tag_counts = labels.sum(axis=1)
    keep = tag_counts > 0
    union = np.logical_or.accumulate(labels[neighbors[keep]], axis=1)
    result = {}
    for k in ks:
        covered = (union[:, k - 1] & labels[keep]).sum(axis=1)
        result[k] = float(np.mean(covered / tag_counts[keep]))
    return result


def measure(function, *args, **kwargs):
    """(result, wall seconds, process CPU seconds, peak MB of traced allocations).

    CPU seconds (all threads) are reported too because the wall time on a shared machine depends on its load.
    """
    tracemalloc.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, cpu_seconds, peak / 2**20


def random_data(n, dim, n_tags, seed):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(n, dim)).astype(np.float32)
    labels = rng.random((n, n_tags)) < 0.06  # about 3 tags per track, like Last.fm-50
    return embeddings, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=28_435, help="queries for the chunked run (paper: 28,435)")
    parser.add_argument("--baseline-n", type=int, default=8_000, help="size for the head-to-head comparison")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)

    with threadpool_limits(arguments.threads):
        embeddings, labels = random_data(arguments.baseline_n, arguments.dim, arguments.tags, seed=0)
        chunked, chunked_seconds, chunked_cpu, chunked_mb = measure(recall_at_k, embeddings, labels)
        baseline, baseline_seconds, baseline_cpu, baseline_mb = measure(straightforward_recall_at_k, embeddings,
                                                                        labels)
        difference = max(abs(chunked[k] - baseline[k]) for k in chunked)
        print(f"n={arguments.baseline_n}, d={arguments.dim}, {arguments.threads} threads")
        print(f"  straightforward: {baseline_seconds:7.2f} s wall {baseline_cpu:7.2f} s CPU peak {baseline_mb:8.1f} MB")
        print(f"  chunked        : {chunked_seconds:7.2f} s wall {chunked_cpu:7.2f} s CPU peak {chunked_mb:8.1f} MB")
        print(f"  ratio (straightforward / chunked): time {baseline_seconds / chunked_seconds:.2f}x, "
              f"memory {baseline_mb / chunked_mb:.1f}x; max |R@K difference| = {difference:.2e}")

        embeddings, labels = random_data(arguments.n, arguments.dim, arguments.tags, seed=1)
        result, seconds, cpu_seconds, peak_mb = measure(recall_at_k, embeddings, labels)
        print(f"n={arguments.n}, d={arguments.dim}: chunked {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU, "
              f"peak {peak_mb:.1f} MB; "
              f"straightforward would hold {arguments.n**2 * 12 / 2**30:.1f} GB (similarities + argsort)")
        print("  R@K:", {k: round(v, 4) for k, v in result.items()})


if __name__ == "__main__":
    main()
