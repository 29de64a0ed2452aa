"""The ``mdrbench`` command: make corpora, train, benchmark, report, search.

    mdrbench corpus synth --size ci --seed 0 --out corpora/ci
    mdrbench corpus info corpora/ci
    mdrbench train proxy-norm-dis --corpus corpora/ci --out runs/proxy
    mdrbench bench --size default --configs all --seeds 3     (results in ~/.cache/mdrbench/results/default)
    mdrbench report ~/.cache/mdrbench/results/default
    mdrbench search ~/.cache/mdrbench/results/default/runs/proxy-norm-dis/seed0 --query synth-000012 \
        --subspace instrument
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _size_names():
    from mdrbench.sizes import SIZES

    return list(SIZES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mdrbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    corpus = commands.add_parser("corpus", help="make or inspect a corpus")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True, metavar="ACTION")
    synth = corpus_commands.add_parser("synth", help="generate the procedural music corpus")
    synth.add_argument("--size", choices=_size_names(), default="default")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", type=Path, required=True, help="folder to write (must not exist)")
    synth.add_argument("--tracks", type=int, default=None, help="override the size's number of tracks")
    synth.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    info = corpus_commands.add_parser("info", help="counts per tag and category, durations, splits")
    info.add_argument("folder", type=Path)

    train = commands.add_parser("train", help="train one configuration")
    train.add_argument("config", help="e.g. proxy-norm-dis (see `mdrbench train --list`)", nargs="?")
    train.add_argument("--list", action="store_true", help="list the configurations and exit")
    train.add_argument("--corpus", type=Path, help="corpus folder (default: the synthetic corpus of --size)")
    train.add_argument("--size", choices=_size_names(), default="default")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, required=False)

    bench = commands.add_parser("bench", help="train and evaluate every configuration; resumable")
    bench.add_argument("--size", choices=_size_names(), default=None,
                       help="corpus and training budget (default: $MDRBENCH_SIZE, else 'default')")
    bench.add_argument("--configs", default="all", help="'all' or a comma-separated list of configurations")
    bench.add_argument("--seeds", type=int, default=None,
                       help="number of seeds (0..N-1; default: the size's, 3 at default)")
    bench.add_argument("--corpus", type=Path, help="corpus folder (default: the synthetic corpus of --size)")
    bench.add_argument("--out", type=Path, default=None,
                       help="results folder (default: $MDRBENCH_HOME/results/SIZE, which the notebooks read)")

    report = commands.add_parser("report", help="rebuild tables and figures from stored results")
    report.add_argument("folder", type=Path)

    search = commands.add_parser("search", help="query a trained run by example or by tag, in a sub-space")
    search.add_argument("run", type=Path, help="a run folder holding test_embeddings.npy")
    group = search.add_mutually_exclusive_group(required=True)
    group.add_argument("--query", help="track id of the example")
    group.add_argument("--tag", help="tag to retrieve by")
    search.add_argument("--subspace", default=None, help="genre, mood, instrument or era (default: all dims)")
    search.add_argument("-k", type=int, default=5)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler = {"corpus": _corpus, "train": _train, "bench": _bench, "report": _report,
                   "search": _search}[args.command]
        handler(args)
    except CommandError as error:
        print(f"mdrbench: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, FileNotFoundError) as error:
        from mdrbench.corpus import CorpusError

        if isinstance(error, KeyError | CorpusError | FileNotFoundError) or type(error) is ValueError:
            message = str(error) if isinstance(error, OSError) or not error.args else error.args[0]
            print(f"mdrbench: error: {message}", file=sys.stderr)
            return 2
        raise
    return 0


def _load_corpus(folder: Path | None, size: str):
    from mdrbench.corpus import Corpus

    if folder is not None:
        return Corpus.load(folder)
    from mdrbench.synth import ensure_corpus

    return ensure_corpus(size)


def _corpus(args) -> None:
    if args.corpus_command == "synth":
        if args.out.exists() and any(args.out.iterdir()):
            raise CommandError(f"{args.out} exists and is not empty; choose a new --out folder.")
        if args.tracks is not None and args.tracks < 10:
            raise CommandError("--tracks must be at least 10 (the splits need tracks in each).")
        import os

        from mdrbench.synth import synthesize

        jobs = args.jobs or os.cpu_count() or 1
        corpus = synthesize(args.size, seed=args.seed, n_tracks=args.tracks, n_jobs=jobs, progress=True)
        corpus = corpus.save(args.out, progress=True)
        print(corpus)
        print(f"written to {args.out}")
    else:
        from mdrbench.corpus import Corpus

        print(corpus_info(Corpus.load(args.folder)))


def corpus_info(corpus) -> str:
    """Human-readable counts per split, category and tag, and the duration statistics."""
    import numpy as np

    from mdrbench.corpus import CATEGORIES, SPLITS

    summary = corpus.summary()
    lines = [repr(corpus), ""]
    durations = corpus.durations
    lines.append(f"durations: min {durations.min():.1f} s, median {float(np.median(durations)):.1f} s, "
                 f"max {durations.max():.1f} s, total {durations.sum() / 3600:.2f} h")
    lines.append("splits: " + ", ".join(f"{s} {len(corpus.split_indices(s))}" for s in SPLITS))
    tags_per_track = corpus.tags.sum(axis=1)
    lines.append(f"tags per track: mean {tags_per_track.mean():.2f}, tracks without tags "
                 f"{int((tags_per_track == 0).sum())}")
    lines.append("")
    width = max(len(t) for t in corpus.vocabulary.tags)
    for category in CATEGORIES:
        rows = summary[summary["category"] == category]
        lines.append(f"{category} ({len(rows)} tags, {int(rows['all'].sum())} tag assignments)")
        for row in rows.itertuples():
            lines.append(f"  {row.tag:<{width}}  all {row.all:6d}  train {row.train:6d}  valid {row.valid:5d}  "
                         f"test {row.test:5d}")
    if corpus.factors is not None:
        lines += ["", "clean factors (ground truth):"]
        for column in corpus.factors.columns:
            counts = corpus.factors[column].value_counts().sort_index()
            lines.append(f"  {column}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


def _train(args) -> None:
    from mdrbench.configs import CONFIGS

    if args.list or args.config is None:
        for name, config in CONFIGS.items():
            print(f"{name:26s} objective={config.objective} normalize={config.normalize} "
                  f"disentangled={config.disentangled}")
        if args.config is None and not args.list:
            raise CommandError("name a configuration to train (listed above).")
        return
    if args.out is None:
        raise CommandError("--out is required: the folder for the model, its history and test embeddings.")
    from mdrbench.bench import save_test_arrays
    from mdrbench.configs import get_config
    from mdrbench.evaluate import Evaluation, ModelEmbedder, track_arrays
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.sizes import get_size
    from mdrbench.train import train

    config = get_config(args.config)
    size = get_size(args.size)
    corpus = _load_corpus(args.corpus, args.size)
    features = compute_features(corpus, FRONTENDS[size.frontend])
    result = train(config, corpus, features, size=size, seed=args.seed, out_dir=args.out,
                   verbose=1 if sys.stdout.isatty() else 2)
    arrays = track_arrays(ModelEmbedder(result.model), corpus, features, args.seed)
    save_test_arrays(Evaluation({}, arrays["test_embeddings"], arrays["tag_scores"], arrays["train_embeddings"]),
                     corpus, args.out)
    print(f"{config.name}: {result.epochs_run} epochs, best {result.best_epoch}, stopped by {result.stopped_by}, "
          f"{result.total_seconds:.0f} s; written to {args.out}")


def _bench(args) -> None:
    from mdrbench.bench import run_benchmark
    from mdrbench.report import TABLE1_DIGITS, compact, markdown_table, table1

    if args.seeds is not None and args.seeds < 1:
        raise CommandError("--seeds must be at least 1.")
    from mdrbench.sizes import get_size

    size = get_size(args.size)
    from mdrbench.paths import results_dir

    out = args.out or results_dir(size.name)
    corpus = None
    if args.corpus is not None:
        from mdrbench.corpus import Corpus

        corpus = Corpus.load(args.corpus)
    # A live progress bar in a terminal; one line per epoch in logs (CI), where a bar is just noise.
    verbose = 1 if sys.stdout.isatty() else 2
    results = run_benchmark(size=size, configs=args.configs, seeds=args.seeds, out_dir=out, corpus=corpus,
                            verbose=verbose)
    if len(results):
        print(markdown_table(compact(table1(results), TABLE1_DIGITS)[["time_ratio", "R@1", "R@8", "AUC", "converged"]]))
    print(f"report: {out / 'report.md'} and {out / 'report.html'}")


def _report(args) -> None:
    from mdrbench.report import write_report

    if not (args.folder / "runs").is_dir():
        raise CommandError(f"{args.folder} holds no runs/ folder; point at the --out folder of `mdrbench bench`.")
    results = write_report(args.folder)
    print((args.folder / "report.md").read_text())
    for problem in results.attrs.get("problems", []):
        print(f"mdrbench: warning: {problem}", file=sys.stderr)
    print(f"{len(results)} runs and baselines; written {args.folder / 'report.md'} and {args.folder / 'report.html'}")


def _search(args) -> None:
    import numpy as np

    from mdrbench.subspaces import subspace_slices

    run = args.run
    for name in ("test_embeddings.npy", "test_track_ids.npy"):
        if not (run / name).exists():
            raise CommandError(f"{run / name} is missing: point at a run folder written by `mdrbench bench` "
                               f"or `mdrbench train` (e.g. results/default/runs/proxy-norm-dis/seed0).")
    embeddings = np.load(run / "test_embeddings.npy", allow_pickle=False)
    track_ids = np.load(run / "test_track_ids.npy", allow_pickle=False)
    if args.k < 1:
        raise CommandError("-k must be at least 1.")
    if args.subspace is not None:
        slices = subspace_slices(embeddings.shape[1])
        if args.subspace not in slices:
            raise CommandError(f"unknown sub-space {args.subspace!r}; choose one of {list(slices)}.")
        embeddings = embeddings[:, slices[args.subspace]]
    if args.query is not None:
        matches = np.flatnonzero(track_ids == args.query)
        if not len(matches):
            raise CommandError(f"track {args.query!r} is not among the {len(track_ids)} test tracks of this run "
                               f"(e.g. {', '.join(track_ids[:3])}).")
        from mdrbench.metrics import nearest_neighbors

        # Ask for one more than k: the query itself is among the candidates and is dropped.
        candidates = nearest_neighbors(embeddings, min(args.k + 1, len(embeddings)),
                                       queries=embeddings[matches[:1]], exclude_self=False)[0]
        neighbours = [n for n in candidates if n != matches[0]][: args.k]
        unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        similarities = unit[neighbours] @ unit[matches[0]]
        print(f"nearest to {args.query} ({args.subspace or 'complete'} space):")
        for index, similarity in zip(neighbours, similarities, strict=True):
            print(f"  {track_ids[index]}  cosine {similarity:.3f}")
    else:
        vocabulary = _find_vocabulary(run)
        if args.tag not in vocabulary.tags:
            raise CommandError(f"unknown tag {args.tag!r}; the vocabulary has: {', '.join(vocabulary.tags)}")
        scores = np.load(run / "test_tag_scores.npy", allow_pickle=False)[:, vocabulary.index(args.tag)]
        order = np.argsort(-scores, kind="stable")[: args.k]
        print(f"top {args.k} test tracks for tag {args.tag!r}:")
        for index in order:
            print(f"  {track_ids[index]}  score {scores[index]:.3f}")


def _find_vocabulary(run: Path):
    from mdrbench.corpus import TagVocabulary

    for folder in (run, *run.parents):
        if (folder / "vocabulary.csv").exists():
            return TagVocabulary.read_csv(folder / "vocabulary.csv")
    raise CommandError(f"no vocabulary.csv in {run} or its parents; rerun `mdrbench bench` or `mdrbench train`.")


if __name__ == "__main__":
    sys.exit(main())
