"""One similarity kernel: cosine similarity, top-k ranking, nearest neighbours and the spread of a space.

Every ranking in mdrbench goes through this module: the metrics' R@K, precision@1 and MAP@R, the tag
prototypes and triplets (:mod:`mdrbench.metrics`), the queries by example, across corpora and by tag
(:mod:`mdrbench.search`), and the collapse check of training and evaluation (mean pairwise cosine). So a tie, a
zero vector or a NaN is handled one way everywhere. Similarity is cosine similarity, computed as
``(a . b) * (1/|a|) * (1/|b|)``:

- a zero-norm embedding (e.g. a silent excerpt through a ReLU head) has cosine 0 with everything, instead of
  NaN, so it neither wins nor crashes a ranking;
- the dot product is taken on the raw vectors and scaled afterwards, element by element, so each similarity
  does not depend on how the queries are cut into chunks (exactly so for integer-valued embeddings);
- non-finite embeddings (NaN or inf) raise ``ValueError`` naming how many rows are affected.

Rankings are by decreasing similarity; **ties are broken by the lower database index**, so every ranking (and
every metric built on it) is deterministic. The nearest-neighbour search is chunked and uses a top-k selection
(``torch.topk``, with the tie rule restored exactly) per chunk instead of a full sort; a set searched against
itself computes each block of the symmetric similarity matrix once. The paper's whole 28,435-track test set
takes about 100 MB instead of 9 GB (see ``benchmarks/bench_recall.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

# A chunk's similarity block holds at most this many entries (float32: 32 MB).
_CHUNK_ENTRIES = 2**23
# Up to this k, a database searched against itself uses the symmetric block search (half the matrix
# products; it keeps a running (n, k) top-k list, so large k, e.g. MAP@R's, use the row-chunk search).
_SYMMETRIC_MAX_K = 64


def as_embeddings(embeddings, name: str = "embeddings") -> np.ndarray:
    """Float32 (n, d) array; raises ValueError on wrong shape or non-finite rows."""
    array = np.asarray(embeddings)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d); got shape {array.shape}. "
                         f"Fix: stack one embedding vector per row.")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {array.dtype}.")
    array = array.astype(np.float32, copy=False)
    bad_rows = ~np.isfinite(array).all(axis=1)
    if bad_rows.any():
        raise ValueError(
            f"{name}: {int(bad_rows.sum())} of {len(array)} rows contain NaN or inf "
            f"(first at row {int(np.argmax(bad_rows))}). Fix: find why the model produced them (a diverged "
            f"training run, a silent excerpt divided by a zero norm) or drop those rows (and their labels) "
            f"before evaluating.")
    return array


def inverse_norms(array: np.ndarray) -> np.ndarray:
    """1/|x| per row, 0 for zero rows (so their cosine with anything is 0)."""
    norms = np.linalg.norm(array, axis=1)
    inverse = np.zeros_like(norms)
    np.divide(1.0, norms, out=inverse, where=norms > 0)
    return inverse.astype(np.float32)


def unit_rows(embeddings) -> np.ndarray:
    """Each row divided by its L2 norm, (n, d) float32; a zero row stays zero.

    The dot product of two unit rows is their cosine similarity: ``unit_rows(a) @ unit_rows(b).T``.
    """
    array = as_embeddings(embeddings)
    return array * inverse_norms(array)[:, None]


def cosine_matrix(embeddings) -> np.ndarray:
    """Cosine similarity of every pair of rows, (n, n) float32 (0 for a zero row)."""
    unit = unit_rows(embeddings)
    return unit @ unit.T


def scaled_cosine_block(queries, query_inverse_norms, database, database_inverse_norms) -> np.ndarray:
    """Cosine similarity (n_queries, n_database), scaled after the dot product (see the module docstring).

    The scale is the outer product of the inverse norms, so that entry (i, j) and entry (j, i) of a transposed
    block are bit-identical (a * b == b * a in IEEE arithmetic; (d * a) * b == (d * b) * a is not).
    """
    similarity = queries @ database.T
    similarity *= query_inverse_norms[:, None] * database_inverse_norms[None, :]
    return similarity


def top_k_rows(similarity: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of every row, best first, ties by lower column index.

    Returns (values, columns), both (c, k), for a similarity block (c, n).

    ``torch.topk`` picks k winners per row without a full sort, but its choice among equal values is not
    specified. So the winners are re-sorted by (similarity desc, index asc), and the rare rows where more
    entries equal the k-th value than fit (a tie across the cut) are redone exactly: everything above the
    cut is in, and the lowest-indexed entries at the cut fill the remaining places.
    """
    values, columns = torch.topk(torch.from_numpy(similarity), k, dim=1, sorted=False)
    values, columns = values.numpy(), columns.numpy()
    threshold = values.min(axis=1)
    ambiguous = np.nonzero(np.count_nonzero(similarity >= threshold[:, None], axis=1) > k)[0]
    if ambiguous.size:
        rows = similarity[ambiguous]
        cut = threshold[ambiguous, None]
        above, at_cut = rows > cut, rows == cut
        places_left = k - above.sum(axis=1)
        at_cut &= np.cumsum(at_cut, axis=1) <= places_left[:, None]
        fixed = np.nonzero(above | at_cut)[1].reshape(len(ambiguous), k)  # row-major: ascending columns
        columns = columns.copy()
        columns[ambiguous] = fixed
        values = values.copy()
        values[ambiguous] = np.take_along_axis(rows, fixed, axis=1)
    order = np.lexsort((columns, -values), axis=1)
    return np.take_along_axis(values, order, axis=1), np.take_along_axis(columns, order, axis=1)


def _default_chunk_size(n_database: int) -> int:
    return max(1, _CHUNK_ENTRIES // max(n_database, 1))


def neighbor_chunks(embeddings, k: int, queries=None, exclude_self: bool = True,
                     chunk_size: int | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (start, stop, neighbours (stop - start, k)) over consecutive chunks of the queries."""
    database = as_embeddings(embeddings)
    if queries is None:
        query_array = database
    else:
        query_array = as_embeddings(queries, "queries")
        exclude_self = False  # separate query vectors are not rows of the database
        if query_array.shape[1] != database.shape[1]:
            raise ValueError(f"queries have {query_array.shape[1]} dimensions but embeddings have "
                             f"{database.shape[1]}; embed both with the same model.")
    available = len(database) - int(exclude_self)
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    if k > available:
        raise ValueError(f"k={k} but only {available} database items can be neighbours"
                         f"{' (the query itself is excluded)' if exclude_self else ''}. Fix: lower k.")
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")
    database_inverse = inverse_norms(database)
    if queries is None and k <= _SYMMETRIC_MAX_K:
        # Square blocks: the default holds about _CHUNK_ENTRIES similarities per block.
        block = int(np.sqrt(_CHUNK_ENTRIES)) if chunk_size is None else int(chunk_size)
        yield from _symmetric_chunks(database, database_inverse, k, exclude_self, block)
        return
    chunk_size = _default_chunk_size(len(database)) if chunk_size is None else int(chunk_size)
    query_inverse = database_inverse if queries is None else inverse_norms(query_array)
    for start in range(0, len(query_array), chunk_size):
        stop = min(start + chunk_size, len(query_array))
        similarity = scaled_cosine_block(query_array[start:stop], query_inverse[start:stop], database, database_inverse)
        if exclude_self:
            similarity[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        yield start, stop, top_k_rows(similarity, k)[1]


def _symmetric_chunks(database, database_inverse, k, exclude_self, block):
    """Self-search over square blocks using sim(i, j) == sim(j, i): each off-diagonal block is computed once.

    Blocks (i, j) with j >= i are visited row block by row block; block (i, j) updates the running top-k of
    rows i directly and of rows j through its transpose. Every row's list is the exact top-k under the
    order (similarity desc, index asc), because merging exact per-block top-k lists under that total order
    is exact. Row block i is final (and yielded) once its blocks j >= i are done.
    """
    n = len(database)
    best_values = np.full((n, k), -np.inf, dtype=np.float32)
    best_columns = np.full((n, k), n, dtype=np.int64)  # sentinel index n loses every tie at -inf

    def merge(rows: slice, similarity: np.ndarray, column_offset: int):
        values, columns = top_k_rows(similarity, min(k, similarity.shape[1]))
        values = np.concatenate([best_values[rows], values], axis=1)
        columns = np.concatenate([best_columns[rows], columns + column_offset], axis=1)
        order = np.lexsort((columns, -values), axis=1)[:, :k]
        best_values[rows] = np.take_along_axis(values, order, axis=1)
        best_columns[rows] = np.take_along_axis(columns, order, axis=1)

    for row_start in range(0, n, block):
        rows = slice(row_start, min(row_start + block, n))
        for column_start in range(row_start, n, block):
            columns = slice(column_start, min(column_start + block, n))
            similarity = scaled_cosine_block(database[rows], database_inverse[rows], database[columns],
                                             database_inverse[columns])
            if column_start == row_start:
                if exclude_self:
                    np.fill_diagonal(similarity, -np.inf)
                merge(rows, similarity, column_start)
            else:
                merge(rows, similarity, column_start)
                merge(columns, np.ascontiguousarray(similarity.T), row_start)
        yield rows.start, rows.stop, best_columns[rows].copy()


def nearest_neighbors(embeddings, k: int, queries=None, exclude_self: bool = True,
                      chunk_size: int | None = None) -> np.ndarray:
    """Indices of the k nearest database items by cosine similarity, best first.

    Args:
        embeddings: database, shape (n, d).
        k: number of neighbours.
        queries: optional separate query vectors, shape (n_queries, d). When None, every database row is a
            query in turn.
        exclude_self: when the queries are the database rows, leave each query out of its own neighbours.
            Ignored (no exclusion) when ``queries`` is given: those vectors are not database rows, and a
            duplicate of a query in the database is a legitimate first hit.
        chunk_size: queries per chunk; None picks about 2**23 similarities per chunk (32 MB). For a
            database searched against itself with k <= 64, chunks are square blocks of this many rows and
            each block pair is computed once (the similarity is symmetric).

    Returns:
        int64 array (n_queries, k) of database row indices. Ties in similarity are broken by lower index.
    """
    parts = [neighbors for _, _, neighbors in neighbor_chunks(embeddings, k, queries, exclude_self, chunk_size)]
    if not parts:
        return np.zeros((0, k), dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def cosine_block(queries, database) -> np.ndarray:
    """Cosine similarity of every query with every database row, (m, n) float32 (0 for a zero row).

    ``queries`` (m, d) and ``database`` (n, d); the kernel of every ranking here (see the module docstring).
    """
    queries, database = as_embeddings(queries, "queries"), as_embeddings(database, "database")
    if queries.shape[1] != database.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dimensions but the database has {database.shape[1]}; "
                         f"embed both with the same model.")
    return scaled_cosine_block(queries, inverse_norms(queries), database, inverse_norms(database))


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the k largest scores of every row, best first, ties to the lower index, NaN last.

    ``scores`` (n,) or (m, n); returns int64 (k',) or (m, k') with k' = min(k, n).
    """
    scores = np.asarray(scores, dtype=np.float32)
    rows = np.nan_to_num(np.atleast_2d(scores), nan=-np.inf, posinf=np.inf, neginf=-np.inf)
    k = min(int(k), rows.shape[1])
    if k == 0:
        columns = np.zeros((len(rows), 0), dtype=np.int64)
    else:
        columns = top_k_rows(np.ascontiguousarray(rows), k)[1].astype(np.int64)
    return columns[0] if scores.ndim == 1 else columns


def mean_pairwise_cosine(embeddings) -> float:
    """Mean cosine over all pairs of distinct rows of (n, D): about 0 for a spread space, near 1 for a
    collapsed one (every embedding points the same way). O(n D): the sum of unit rows squared, less the
    diagonal, in float64."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    n = len(unit)
    if n < 2:
        return math.nan
    total = unit.sum(axis=0)
    return float((total @ total - (unit * unit).sum()) / (n * (n - 1)))


def cosine_spread(embeddings) -> dict:
    """Mean and 5th percentile of the pairwise cosine of (n, D) embeddings: near 1 means a collapsed space."""
    if len(embeddings) < 2:
        return {"mean_cosine": float("nan"), "p5_cosine": float("nan")}
    cosines = cosine_matrix(embeddings)[~np.eye(len(embeddings), dtype=bool)]
    return {"mean_cosine": float(cosines.mean()), "p5_cosine": float(np.percentile(cosines, 5))}
