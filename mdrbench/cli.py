"""The ``mdrbench`` command: make or import corpora, train, benchmark, report, embed and search.

    mdrbench corpus synth --size ci --seed 0 --out corpora/ci
    mdrbench corpus import ~/music --tags tags.csv --vocabulary vocabulary.csv --out corpora/mine
    mdrbench corpus check corpora/mine
    mdrbench corpus info corpora/ci
    mdrbench train proxy-norm-dis --corpus corpora/ci --out runs/proxy
    mdrbench bench --size default --configs all --seeds 3     (results in ~/.cache/mdrbench/results/default)
    mdrbench bench --size default --plan                  (the cost plan: runs, s/step, epochs, wall time; no training)
    mdrbench bench --size full --ray auto                 (one Ray task per run; --shard I/N for Slurm arrays)
    mdrbench report ~/.cache/mdrbench/results/default     (no folder: the shipped reference results, --out DIR)
    mdrbench reference                     (check the shipped reference results; --from FOLDER refreshes them)
    mdrbench embed runs/proxy --corpus corpora/mine --out mine.npz      (or --audio a.mp3 b.flac ...; --ray)
    mdrbench search runs/proxy --query synth-000012 --subspace instrument       (the run's test tracks)
    mdrbench search runs/proxy --corpus corpora/mine --query my_song --database test -k 3
    mdrbench search runs/proxy --tag jazz --database corpora/mine
    mdrbench course --out .course/site      (every notebook executed, as an offline HTML site; or --executed FOLDER)
    mdrbench score --hear-module hearbaseline.naive --size ci       (any HEAR 2021 module, or a .py file)
    mdrbench export-hear runs/proxy --out hear/      (a trained run as a HEAR module)

Every bad input ends in one line, ``mdrbench: error: what, which file, the fix``, and exit status 2
(set MDRBENCH_DEBUG=1 to see the traceback instead).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mdrbench.errors import MdrbenchError

RUN_TEST_SET = "test"  # --corpus/--database value meaning the run's stored test tracks


class CommandError(MdrbenchError):
    """A user-facing error: printed as one line, exit status 2."""


def _size_names():
    from mdrbench.sizes import SIZES

    return list(SIZES)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mdrbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    corpus = commands.add_parser("corpus", help="make, import, check or inspect a corpus")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True, metavar="ACTION")
    synth = corpus_commands.add_parser("synth", help="generate the procedural music corpus")
    synth.add_argument("--size", choices=_size_names(), default="default")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", type=Path, required=True, help="folder to write (must not exist)")
    synth.add_argument("--tracks", type=int, default=None, help="override the size's number of tracks")
    synth.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    importing = corpus_commands.add_parser(
        "import", help="a folder of audio + tag table as a corpus that references the audio in place",
        description="Write a corpus folder (corpus.json, vocabulary.csv, tracks.csv, tags.csv) that references "
                    "the audio files where they are: nothing is copied; any format soundfile reads, any rates and "
                    "channel counts (resampled and down-mixed on load). The tag table has a track_id column (the "
                    "file name without extension, or give a path column), a tags column (tags joined by ';') or "
                    "one 0/1 column per tag, and optionally a split column (train/valid/test; otherwise 70/10/20 "
                    "at random with --seed).")
    importing.add_argument("audio_dir", type=Path, metavar="AUDIO_DIR", help="the folder holding the audio files")
    importing.add_argument("--tags", type=Path, required=True, metavar="TAGS.csv", help="the tag table (CSV)")
    importing.add_argument("--vocabulary", required=True, metavar="VOCAB.csv|msd50|jamendo",
                           help="a tag,category CSV; 'msd50' (MSD Last.fm top-50); or 'jamendo' (the table holds "
                                "MTG-Jamendo tags such as genre---rock, mood/theme---happy, instrument---piano, "
                                "genre---80s; the vocabulary is derived from the table)")
    importing.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help="corpus folder to write (must not exist)")
    importing.add_argument("--skip-errors", action="store_true",
                           help="leave out missing or unreadable audio files (listed) instead of stopping")
    importing.add_argument("--seed", type=int, default=0, help="seeds the random split when there is no split column")
    importing.add_argument("--name", default=None, help="corpus name (default: the audio folder's name)")
    check = corpus_commands.add_parser("check", help="report what is missing or wrong in a corpus folder, with fixes")
    check.add_argument("folder", type=Path, metavar="DIR")
    info = corpus_commands.add_parser("info", help="counts per tag and category, durations, splits")
    info.add_argument("folder", type=Path)

    train = commands.add_parser("train", help="train one configuration")
    train.add_argument("config", help="e.g. proxy-norm-dis (see `mdrbench train --list`)", nargs="?")
    train.add_argument("--list", action="store_true", help="list the configurations and exit")
    train.add_argument("--corpus", type=Path, metavar="DIR",
                       help="corpus folder, synthetic or imported (default: the synthetic corpus of --size)")
    train.add_argument("--size", choices=_size_names(), default="default")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                       help="cap the epochs (default: the size's cap); a run that reaches it is not converged")
    train.add_argument("--out", type=Path, required=False)

    bench = commands.add_parser("bench", help="train and evaluate every configuration; resumable")
    bench.add_argument("--size", choices=_size_names(), default=None,
                       help="corpus and training budget (default: $MDRBENCH_SIZE, else 'default')")
    bench.add_argument("--configs", default="all", help="'all' or a comma-separated list of configurations")
    bench.add_argument("--seeds", type=int, default=None,
                       help="number of seeds (0..N-1; default: the size's, 3 at default)")
    bench.add_argument("--corpus", type=Path, metavar="DIR",
                       help="corpus folder, synthetic or imported (default: the synthetic corpus of --size)")
    bench.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                       help="cap the epochs (default: the size's cap); a run that reaches it is not converged")
    bench.add_argument("--dimsim", type=Path, default=None, metavar="CSV",
                       help="real human triplets (Dim-Sim's CSV, Zenodo 3889149) to score instead of simulated "
                            "raters; the triplets whose three tracks are in the corpus are used")
    bench.add_argument("--out", type=Path, default=None,
                       help="results folder (default: $MDRBENCH_HOME/results/SIZE, which the notebooks read; "
                            "with --corpus, $MDRBENCH_HOME/results/SIZE-CORPUSNAME)")
    bench.add_argument("--shard", default=None, metavar="I/N",
                       help="train only shard I of N of the grid, into the same results folder (a Slurm job "
                            "array: one shard per task); then one call without --shard measures the step costs "
                            "and writes the whole report")
    _ray_arguments(bench, "run")
    bench.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                       help="training precision (auto: bf16 where the CPU or GPU computes it natively); on a "
                            "cluster whose nodes differ, name one")
    bench.add_argument("--plan", action="store_true",
                       help="print the cost plan and stop: the runs, the measured seconds per step of each "
                            "configuration, the expected epochs and the expected wall time serially and on N "
                            "workers; nothing is trained")

    score = commands.add_parser(
        "score", help="score any audio embedding model (a HEAR 2021 module) on the study's tasks",
        description="Score an external model on the benchmark's corpus and fixed evaluation sets, on frozen "
                    "embeddings: R@K, tag ROC-AUC (logistic probe and prototypes), triplet prediction per "
                    "dimension, and four learned 64-d sub-spaces (a linear map trained with the disentangled "
                    "triplet loss). The module hears each fixed 3-s excerpt, down-mixed and resampled (soxr) to "
                    "its rate; its excerpt embeddings are cached ($MDRBENCH_HOME/embeddings). Results go to "
                    "OUT/external/NAME/seedK and the report of OUT shows the model as a row.")
    score.add_argument("--hear-module", required=True, metavar="NAME|FILE.py",
                       help="an importable HEAR module (e.g. hearbaseline.naive) or the path of its .py file")
    score.add_argument("--model-file", type=Path, default=None, metavar="PATH",
                       help="the weights file its load_model reads (default: the module's own default)")
    score.add_argument("--size", choices=_size_names(), default=None,
                       help="corpus (unless --corpus), front-end and seeds (default: $MDRBENCH_SIZE, else 'default')")
    score.add_argument("--corpus", type=Path, metavar="DIR", help="a corpus folder instead of the synthetic one")
    score.add_argument("--seeds", type=_positive_int, default=None,
                       help="fitting seeds of the probes and sub-spaces (default: the size's)")
    score.add_argument("--out", type=Path, default=None,
                       help="results folder (default: the one `mdrbench bench` writes for this size and corpus)")
    score.add_argument("--batch-size", type=_positive_int, default=32, help="excerpts per module call")
    score.add_argument("--device", default="cpu", help="where the module runs: cpu or cuda")
    score.add_argument("--no-subspaces", action="store_true", help="skip the learned sub-spaces")
    score.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")

    export = commands.add_parser(
        "export-hear", help="write a trained run as a HEAR 2021 module (NAME.py + NAME.keras)",
        description="Write an importable HEAR 2021 module for a trained run: OUT/NAME.py (load_model, "
                    "get_scene_embeddings, get_timestamp_embeddings) and OUT/NAME.keras, the run's model. Importing "
                    "it pulls in mdrbench (torch, keras, numpy), never TensorFlow. Score it with `mdrbench score "
                    "--hear-module OUT/NAME.py`.")
    export.add_argument("run", type=Path, metavar="RUN_DIR", help="a run folder with model.keras and config.json")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write the module into")

    report = commands.add_parser("report", help="rebuild tables and figures from stored results")
    report.add_argument("folder", type=Path, nargs="?", default=None,
                        help="a results folder (default: the reference results that ship with mdrbench)")
    report.add_argument("--out", type=Path, default=None,
                        help="where report.md, report.html and results.csv go (default: FOLDER itself; for the "
                             "read-only reference results, ./mdrbench-report)")

    reference = commands.add_parser(
        "reference", help="check the reference results that ship with mdrbench, or refresh them from a benchmark",
        description="Without --from: check the shipped reference results (version, checksums, corpus) and print "
                    "their provenance. With --from: copy a finished `mdrbench bench` results folder into the "
                    "package as the new reference results (compact; provenance recorded). Refresh rarely: every "
                    "refresh adds its size to the git history.")
    reference.add_argument("--from", dest="source", type=Path, default=None, metavar="FOLDER",
                           help="a finished results folder, e.g. ~/.cache/mdrbench/results/default")
    reference.add_argument("--size", choices=_size_names(), default="default")
    reference.add_argument("--wall-seconds", type=float, default=None,
                           help="the measured wall time of the `mdrbench bench` that made FOLDER")
    reference.add_argument("--note", default="", help="free text kept in the provenance")

    embed = commands.add_parser(
        "embed", help="embeddings of any corpus or audio files with a trained run (.npz)",
        description="Embed every track with the run's model: audio resampled and down-mixed to the model's "
                    "front-end, each track the mean of the benchmark's fixed excerpts. Writes an .npz of plain "
                    "arrays (track_ids, embeddings, tag_scores, tags, categories, meta); read it with "
                    "numpy.load(path, allow_pickle=False) or mdrbench.search.load_embeddings.")
    embed.add_argument("run", type=Path, metavar="RUN_DIR",
                       help="a run folder (model.keras, config.json), e.g. runs/proxy-norm-dis/seed0")
    source = embed.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", type=Path, metavar="DIR",
                        help="a corpus folder (synthetic, or imported with `corpus import`)")
    source.add_argument("--audio", type=Path, nargs="+", metavar="FILE", help="audio files (any format and rate)")
    embed.add_argument("--out", type=Path, required=True, metavar="PATH.npz", help="the .npz file to write")
    embed.add_argument("--skip-errors", action="store_true",
                       help="leave out files that cannot be decoded (listed) instead of stopping")
    embed.add_argument("--max-seconds", type=float, default=None, metavar="S",
                       help="seconds of each track kept, centred (default 30)")
    _ray_arguments(embed, "task")
    embed.add_argument("--tracks-per-task", type=_positive_int, default=None, metavar="N",
                       help="with --ray: tracks per task (default 1000); each task writes one part, merged at "
                            "the end")

    search = commands.add_parser(
        "search", help="query a trained run by example or by tag, in a sub-space, across corpora",
        description="Query by example (--query) or by tag (--tag). The query track is looked up in --corpus "
                    "(default: the run's stored test tracks) and searched in --database (default: the same set). "
                    "Each of the two is a corpus folder (embedded with the run's model, features cached beside "
                    "it), an .npz written by `mdrbench embed`, or 'test': the run's stored test tracks.")
    search.add_argument("run", type=Path, metavar="RUN_DIR",
                        help="a run folder written by `mdrbench train` or `mdrbench bench`")
    group = search.add_mutually_exclusive_group(required=True)
    group.add_argument("--query", metavar="TRACK_ID", help="track id of the example")
    group.add_argument("--tag", help="tag to retrieve by (a tag of the run's vocabulary)")
    search.add_argument("--corpus", default=None, metavar="DIR|NPZ|test",
                        help="where the query track is: corpus folder, .npz or 'test'")
    search.add_argument("--database", default=None, metavar="DIR|NPZ|test",
                        help="what is searched: corpus folder, .npz or 'test'")
    search.add_argument("--subspace", default=None, metavar="S",
                        help="genre, mood, instrument or era: compare only that block (default: all dims)")
    search.add_argument("-k", type=_positive_int, default=5, help="how many results (default 5)")

    course = commands.add_parser(
        "course", help="build the course site: every notebook and its solutions, executed, as offline HTML",
        description="Execute every notebook and its solutions (nbclient, each in its own folder) into DIR/executed/ "
                    "and render them with nbconvert as a static site that works offline: DIR/index.html (the course "
                    "map), a page per notebook, the glossary, one local plotly.min.js. With --executed, render "
                    "notebooks already executed elsewhere (e.g. by pytest --nbmake --overwrite) instead.")
    course.add_argument("--out", type=Path, required=True, metavar="DIR", help="the site's folder (created)")
    course.add_argument("--executed", type=Path, default=None, metavar="FOLDER",
                        help="render the executed notebooks of FOLDER (NN_*.ipynb, solutions/NN_*.ipynb); no execution")
    course.add_argument("--only", default=None, metavar="PATTERN",
                        help="a glob of notebook names, e.g. '0[01]_*' (their solutions match too): a quick build")
    course.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                        help="the notebooks to execute (default: the checkout's notebooks/)")
    course.add_argument("--timeout", type=_positive_int, default=600, metavar="S",
                        help="seconds one cell may run when executing (default 600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler = {"corpus": _corpus, "train": _train, "bench": _bench, "report": _report, "embed": _embed,
                   "search": _search, "course": _course, "score": _score, "export-hear": _export_hear,
                   "reference": _reference}[args.command]
        handler(args)
    except KeyboardInterrupt:
        print("mdrbench: interrupted; finished work (runs, feature parts) is kept, rerun to resume.", file=sys.stderr)
        return 130
    except (MdrbenchError, ValueError, KeyError, OSError) as error:
        if os.environ.get("MDRBENCH_DEBUG"):
            raise
        print(f"mdrbench: error: {_one_line(error)}", file=sys.stderr)
        return 2
    return 0


def _one_line(error: BaseException) -> str:
    """The message of an error on one line (a KeyError's repr quotes dropped, an OSError's file named)."""
    if isinstance(error, KeyError) and error.args:
        message = str(error.args[0])
    elif isinstance(error, OSError) and error.filename and str(error.filename) not in str(error):
        message = f"{error.filename}: {error.strerror or error}"
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


def _load_corpus(folder: Path | None, size: str):
    from mdrbench.corpus import Corpus

    if folder is not None:
        return Corpus.load(folder)
    from mdrbench.synth import ensure_corpus

    return ensure_corpus(size)


def _check_out_folder(out: Path, must_be_empty: bool = True) -> None:
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is an existing file, not a folder. Fix: choose a new --out folder.")
    if must_be_empty and out.is_dir() and any(out.iterdir()):
        raise CommandError(f"--out {out} exists and is not empty. Fix: choose a new --out folder, or delete it.")


def _corpus(args) -> None:
    if args.corpus_command == "synth":
        _check_out_folder(args.out)
        if args.tracks is not None and args.tracks < 10:
            raise CommandError("--tracks must be at least 10 (the splits need tracks in each).")
        from mdrbench.synth import synthesize

        jobs = args.jobs or os.cpu_count() or 1
        corpus = synthesize(args.size, seed=args.seed, n_tracks=args.tracks, n_jobs=jobs, progress=True)
        corpus = corpus.save(args.out, progress=True)
        print(corpus)
        print(f"written to {args.out}")
    elif args.corpus_command == "import":
        _import(args)
    elif args.corpus_command == "check":
        from mdrbench.sources import check_corpus

        check = check_corpus(args.folder)
        print(check.text())
        if not check.ok:
            raise CommandError(f"{args.folder}: {len(check.problems)} problem(s), listed above with their fixes.")
    else:
        from mdrbench.corpus import Corpus

        print(corpus_info(Corpus.load(args.folder)))


def _import(args) -> None:
    from mdrbench.sources import check_corpus, import_folder

    _check_out_folder(args.out)
    corpus = import_folder(args.audio_dir, args.tags, args.vocabulary, args.out, seed=args.seed, name=args.name,
                           skip_errors=args.skip_errors)
    source = corpus.info.get("source", {})
    print(corpus)
    print(f"vocabulary: {source.get('vocabulary', args.vocabulary)}")
    rates = ", ".join(f"{rate} Hz x{n}" for rate, n in source.get("rates", {}).items())
    channels = ", ".join(f"{c} channel{'s' if str(c) != '1' else ''} x{n}"
                         for c, n in source.get("channels", {}).items())
    print(f"audio referenced in place, nothing copied: {rates}; {channels} (resampled and down-mixed on load)")
    for skipped in corpus.info.get("skipped", []):
        print(f"skipped {skipped['track_id']}: {skipped['error']}")
    check = check_corpus(args.out)
    for note in check.notes:
        print(f"note: {note}")
    print(f"written to {args.out}. Next: `mdrbench corpus check {args.out}`, then e.g. `mdrbench train "
          f"proxy-norm-dis --corpus {args.out} --out runs/mine` or `mdrbench embed RUN_DIR --corpus {args.out} "
          f"--out mine.npz`.")


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
    _check_out_folder(args.out, must_be_empty=False)
    from mdrbench.configs import get_config
    from mdrbench.evaluate import ModelEmbedder, track_arrays
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.results import RunFolder
    from mdrbench.sizes import get_size, with_overrides
    from mdrbench.train import train

    config = get_config(args.config)
    size = with_overrides(get_size(args.size), max_epochs=args.max_epochs)
    corpus = _load_corpus(args.corpus, args.size)
    _check_splits(corpus, args.corpus, for_bench=False)
    features = compute_features(corpus, FRONTENDS[size.frontend])
    try:
        result = train(config, corpus, features, size=size, seed=args.seed, out_dir=args.out,
                       verbose=1 if sys.stdout.isatty() else 2)
    except ValueError as error:
        raise CommandError(f"cannot train {config.name} on corpus {corpus.name!r} ({_split_sizes(corpus)}): "
                           f"{_one_line(error)}") from None
    if len(corpus.split_indices("test")):
        arrays = track_arrays(ModelEmbedder(result.model), corpus, features, args.seed)
        RunFolder(args.out).write_test_arrays(arrays["test_embeddings"], arrays["tag_scores"],
                                              corpus.track_ids[corpus.split_indices("test")],
                                              arrays["test_excerpts"], corpus.vocabulary)
    else:
        print(f"note: corpus {corpus.name!r} has no test tracks, so no test embeddings were stored; embed any "
              f"corpus with `mdrbench embed {args.out} --corpus DIR --out PATH.npz`.")
    print(f"{config.name}: {result.epochs_run} epochs, best {result.best_epoch}, stopped by {result.stopped_by}, "
          f"{result.total_seconds:.0f} s; written to {args.out}")


def _split_sizes(corpus) -> str:
    from mdrbench.corpus import SPLITS

    return ", ".join(f"{split} {len(corpus.split_indices(split))}" for split in SPLITS)


def _ray_arguments(parser, unit: str) -> None:
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help=f"one Ray task per {unit}: alone, a local Ray cluster on this machine; 'auto', the "
                             f"cluster this node belongs to; HOST:PORT, a head node (needs the cluster extra: "
                             f"pip install -e '.[cluster]'; see docs/cluster.md)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help=f"torch threads per {unit}, pinned (default: torch's own; with --ray, 4 or the largest "
                             f"node's CPUs); the same count gives the same numbers serially and on Ray")
    parser.add_argument("--ray-cpus", type=_positive_int, default=None, metavar="N",
                        help="CPUs of the local Ray cluster (default: every core)")


def _ray_address(args) -> str | None:
    if args.ray is None:
        if args.ray_cpus is not None:
            raise CommandError("--ray-cpus sizes a local Ray cluster: add --ray.")
        return None
    if args.ray != "local" and args.ray_cpus is not None:
        raise CommandError(f"--ray-cpus sizes a local Ray cluster, not the one at {args.ray}: leave it out.")
    return args.ray


def _check_splits(corpus, folder: Path | None, for_bench: bool) -> None:
    """A clear error when a split is too small for training (train, valid) or the evaluation (test)."""
    from mdrbench.sources.manifest import MIN_TRAIN_TRACKS, MIN_VALID_TRACKS, min_test_tracks

    where = f"{folder}" if folder is not None else f"corpus {corpus.name!r}"
    fix = ("Fix: assign more tracks to that split in the tag table's split column (train/valid/test) and re-import "
           "with `mdrbench corpus import`" + (f", or edit the split column of {folder / 'tracks.csv'}." if folder
                                              else "."))
    needs = {"train": MIN_TRAIN_TRACKS, "valid": MIN_VALID_TRACKS}
    if for_bench:
        needs["test"] = min_test_tracks()
    for split, minimum in needs.items():
        n = len(corpus.split_indices(split))
        if n < minimum:
            purpose = {"train": "training", "valid": "validation (the training schedule)",
                       "test": "the benchmark's evaluation (it ranks test tracks against each other up to R@8)"}[split]
            extra = " (`mdrbench train` needs no test tracks)" if split == "test" else ""
            raise CommandError(f"{where}: the {split!r} split has {n} track{'s' if n != 1 else ''} "
                               f"({_split_sizes(corpus)}); {purpose} needs at least {minimum}{extra}. {fix}")


def _bench(args) -> None:
    from mdrbench.bench import run_benchmark
    from mdrbench.report import TABLE1_DIGITS, compact, markdown_table, table1

    if args.seeds is not None and args.seeds < 1:
        raise CommandError("--seeds must be at least 1.")
    shard = None
    if args.shard is not None:
        from mdrbench.bench import parse_shard

        try:
            shard = parse_shard(args.shard)
        except ValueError as error:
            raise CommandError(str(error)) from None
    from mdrbench.paths import results_dir
    from mdrbench.sizes import get_size, with_overrides

    size = get_size(args.size)
    default_out = results_dir(size.name)
    size = with_overrides(size, max_epochs=args.max_epochs)
    corpus = None
    if args.corpus is not None:
        from mdrbench.corpus import Corpus

        corpus = Corpus.load(args.corpus)
        _check_splits(corpus, args.corpus, for_bench=True)
        default_out = results_dir(f"{size.name}-{corpus.name}")
    out = args.out or default_out
    _check_out_folder(out, must_be_empty=False)
    human = None
    if args.dimsim is not None:
        human = _dimsim_triplets(args.dimsim, corpus)
    address = _ray_address(args)
    if address is not None and shard is not None:
        raise CommandError("--ray and --shard are two ways to spread the grid (Ray schedules the runs; a Slurm "
                           "array runs one shard per task): choose one.")
    if args.plan:
        from mdrbench.plan import plan_benchmark

        print(plan_benchmark(size, configs=args.configs, seeds=args.seeds, corpus=corpus, results=out,
                             threads=args.threads, precision=args.precision).text)
        return
    # A live progress bar in a terminal; one line per epoch in logs (CI), where a bar is just noise.
    verbose = 1 if sys.stdout.isatty() else 2
    if address is not None:
        from mdrbench.cluster import run_benchmark_ray

        results = run_benchmark_ray(size=size, configs=args.configs, seeds=args.seeds, out_dir=out, corpus=corpus,
                                    address=None if address == "local" else address, threads=args.threads,
                                    local_cpus=args.ray_cpus, verbose=1, human=human, precision=args.precision)
    else:
        results = run_benchmark(size=size, configs=args.configs, seeds=args.seeds, out_dir=out, corpus=corpus,
                                verbose=verbose, human=human, shard=shard, threads=args.threads,
                                precision=args.precision)
    if len(results):
        print(markdown_table(compact(table1(results), TABLE1_DIGITS)[["time_ratio", "R@1", "R@8", "AUC", "converged"]]))
    print(f"report: {out / 'report.md'} and {out / 'report.html'}")


def _score(args) -> None:
    from mdrbench.plugins import load_hear_module
    from mdrbench.report import external_table, markdown_table
    from mdrbench.scoring import score_on_benchmark
    from mdrbench.sizes import get_size

    size = get_size(args.size)
    corpus = None
    if args.corpus is not None:
        from mdrbench.corpus import Corpus

        corpus = Corpus.load(args.corpus)
        _check_splits(corpus, args.corpus, for_bench=True)
    if args.out is not None:
        _check_out_folder(args.out, must_be_empty=False)
    model = load_hear_module(args.hear_module, args.model_file, device=args.device)
    print(f"{model.name}: {model.sample_rate} Hz, {model.embedding_size}-d scene embeddings", flush=True)
    results, records = score_on_benchmark(model, size, corpus, args.seeds, args.out, subspaces=not args.no_subspaces,
                                          batch_size=args.batch_size, cache=not args.no_cache,
                                          progress=sys.stderr.isatty())
    table = external_table(results)
    if len(table):
        from mdrbench.report import EXTERNAL_DIGITS, compact

        print(markdown_table(compact(table, EXTERNAL_DIGITS)))
    print(f"report: {results.attrs.get('folder')}/report.md and report.html")


def _export_hear(args) -> None:
    from mdrbench.export import export_hear

    _check_out_folder(args.out, must_be_empty=False)
    path = export_hear(args.run, args.out)
    print(f"HEAR module: {path} (weights {path.with_suffix('.keras').name} beside it). Score it with "
          f"`mdrbench score --hear-module {path}`.")


def _dimsim_triplets(path: Path, corpus):
    """Dim-Sim triplets read and checked, with a line on how many the corpus can score."""
    from mdrbench import dimsim

    if corpus is None:
        raise CommandError("--dimsim needs --corpus: the corpus that holds the triplets' tracks (for Dim-Sim, "
                           "your MSD clips imported with `mdrbench corpus import`).")
    triplets = dimsim.read_triplets(path)
    usable, dropped = dimsim.triplets_in_corpus(triplets, corpus)
    if not len(usable):
        example = triplets["anchor_id"].iloc[0] if len(triplets) else "?"
        raise CommandError(f"{path}: none of its {len(triplets)} triplets has all three tracks in corpus "
                           f"{corpus.name!r} (e.g. {example!r} is not a track id there). Fix: import the clips the "
                           f"triplets name, with those ids as track_id.")
    decided = usable[usable["song1_vote"] != usable["song2_vote"]]
    clean = int((dimsim.agreement_share(decided) >= dimsim.CLEAN_AGREEMENT).sum()) if len(decided) else 0
    print(f"Dim-Sim {path}: {len(usable)} of {len(triplets)} triplets have their three tracks in the corpus "
          f"({dropped} left out); {len(decided)} decided (no tie), {clean} clean (>= "
          f"{dimsim.CLEAN_AGREEMENT:.0%} agreement)")
    if not len(decided):
        raise CommandError(f"{path}: every usable triplet is a tie, so no human accuracy can be computed. Fix: "
                           f"import more of the triplets' clips.")
    return triplets


def _report(args) -> None:
    from mdrbench.reference import REFERENCE_ROOT, open_reference
    from mdrbench.report import write_report

    if args.folder is None:
        reference = open_reference("default")
        if not reference.usable:
            raise CommandError(reference.problem)
        args.folder = reference.folder
    if not args.folder.is_dir():
        raise CommandError(f"{args.folder}: no such folder; point at the --out folder of `mdrbench bench`.")
    if not (args.folder / "runs").is_dir():
        raise CommandError(f"{args.folder} holds no runs/ folder; point at the --out folder of `mdrbench bench`.")
    read_only = args.folder.resolve().is_relative_to(REFERENCE_ROOT.resolve())
    out = args.out or (Path("mdrbench-report") if read_only else args.folder)
    if out.resolve().is_relative_to(REFERENCE_ROOT.resolve()):
        raise CommandError(f"{out} is inside the reference results, which are read-only. Fix: --out another folder.")
    results = write_report(args.folder, out=out)
    print((out / "report.md").read_text())
    problems = results.attrs.get("problems", [])
    for problem in problems:
        print(f"mdrbench: warning: {problem}", file=sys.stderr)
    print(f"{len(results)} runs and baselines from {args.folder}"
          + (f", {len(problems)} unreadable (named above)" if problems else "")
          + f"; written {out / 'report.md'} and {out / 'report.html'}")


def _reference(args) -> None:
    from mdrbench.reference import build_reference, open_reference

    if args.source is None:
        reference = open_reference(args.size)
        if not reference.usable:
            raise CommandError(reference.problem)
        provenance = {k: v for k, v in reference.provenance.items() if k != "files"}
        print(f"{reference.folder}: checks out ({len(reference.provenance.get('files', {}))} files, "
              f"{provenance.get('bytes_total', 0) / 1e6:.1f} MB; SHA-256 and result version verified)")
        for key, value in provenance.items():
            print(f"  {key}: {value}")
        return
    if not args.source.is_dir():
        raise CommandError(f"{args.source}: no such folder; point --from at the results folder of `mdrbench bench`.")
    try:
        provenance = build_reference(args.source, wall_seconds=args.wall_seconds, note=args.note)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"reference results for {provenance['size']} written: {provenance['bytes_total'] / 1e6:.1f} MB "
          f"({provenance['runs']} runs, {provenance['baselines']} baselines); parts: {provenance['bytes_per_part']}")


# ------------------------------------------------------------------------------------------- embed, search
def _embed(args) -> None:
    from mdrbench.search import audio_corpus, embed_corpus, load_run_model, model_fingerprint, save_embeddings

    if args.out.suffix != ".npz":
        raise CommandError(f"--out {args.out}: give a file name ending in .npz (numpy's archive of plain arrays).")
    if args.out.is_dir():
        raise CommandError(f"--out {args.out} is a folder; give a file name ending in .npz.")
    if args.max_seconds is not None and not args.max_seconds > 0:
        raise CommandError(f"--max-seconds must be a positive number of seconds, got {args.max_seconds}.")
    address = _ray_address(args)
    if address is not None:
        return _embed_ray(args, address)
    if args.tracks_per_task is not None:
        raise CommandError("--tracks-per-task splits the work into Ray tasks: add --ray.")
    model, settings, vocabulary = load_run_model(args.run)
    if args.corpus is not None:
        from mdrbench.corpus import Corpus

        corpus, cache = Corpus.load(args.corpus, check_audio=not args.skip_errors), None
    else:
        files = args.audio
        if args.skip_errors:
            from mdrbench.audio import probe_files

            probes = probe_files(files)
            for error in probes.loc[probes["error"] != "", "error"]:
                print(f"skipped: {error}")
            files = [f for f, error in zip(files, probes["error"], strict=True) if not error]
            if not files:
                raise CommandError("none of the --audio files can be read (listed above).")
        corpus, cache = audio_corpus(files, vocabulary), False
    rates = corpus.info.get("source", {}).get("rates") or {str(corpus.sample_rate): len(corpus)}
    from mdrbench.train import pinned_threads

    with pinned_threads(args.threads):
        embedded = embed_corpus(model, corpus, frontend=settings, max_seconds=args.max_seconds, cache_dir=cache,
                                progress=sys.stderr.isatty(), skip_errors=args.skip_errors)
    save_embeddings(args.out, embedded, vocabulary, run=str(args.run.resolve()), config=model.config.name,
                    model_fingerprint=model_fingerprint(args.run), corpus=corpus.name,
                    source=str(args.corpus.resolve()) if args.corpus else [str(p.resolve()) for p in args.audio],
                    frontend=settings.to_dict(), max_seconds=args.max_seconds)
    scored = "head logits" if not model.config.objective.startswith("triplet") else (
        "tag prototypes of the corpus's train split" if not _all_nan(embedded.tag_scores) else "none (NaN): a "
        "triplet model scores tags against prototypes of tagged training tracks of the run's vocabulary")
    if len(embedded.track_ids) < len(corpus):
        print(f"left out {len(corpus) - len(embedded.track_ids)} track(s) whose audio cannot be decoded: "
              + ", ".join(sorted(set(corpus.track_ids) - set(embedded.track_ids))[:5]))
    print(f"embedded {len(embedded.track_ids)} tracks of {corpus.name!r} with {model.config.name} "
          f"({embedded.embeddings.shape[1]} dims): audio at " + ", ".join(f"{r} Hz x{n}" for r, n in rates.items())
          + f" resampled to {settings.sample_rate} Hz; tag scores: {scored}")
    print(f"written {args.out} (track_ids, embeddings, tag_scores, tags, categories, meta; "
          f"numpy.load(path, allow_pickle=False))")


def _embed_ray(args, address: str) -> None:
    """`mdrbench embed --ray`: shards of the corpus's track list as Ray tasks, merged into the one .npz."""
    import shutil

    from mdrbench.cluster import EMBED_TRACKS_PER_TASK, embed_corpus_ray
    from mdrbench.search import load_run_model, model_fingerprint, save_embeddings

    if args.corpus is None:
        raise CommandError("--ray embeds a corpus folder every worker reads: give --corpus DIR (for a few files, "
                           "--audio without --ray is enough).")
    model, settings, vocabulary = load_run_model(args.run)  # a clear error before any cluster starts
    parts = args.out.with_name(args.out.stem + ".parts")
    embedded, rate = embed_corpus_ray(args.run, args.corpus, parts, address=None if address == "local" else address,
                                      threads=args.threads, local_cpus=args.ray_cpus,
                                      tracks_per_task=args.tracks_per_task or EMBED_TRACKS_PER_TASK,
                                      max_seconds=args.max_seconds, skip_errors=args.skip_errors)
    save_embeddings(args.out, embedded, vocabulary, run=str(args.run.resolve()), config=model.config.name,
                    model_fingerprint=model_fingerprint(args.run), corpus=args.corpus.name,
                    source=str(args.corpus.resolve()), frontend=settings.to_dict(), max_seconds=args.max_seconds)
    shutil.rmtree(parts)  # merged: the parts have done their work
    print(f"embedded {len(embedded.track_ids)} tracks of {args.corpus.name!r} with {model.config.name} on Ray "
          f"({rate:.1f} tracks/s over the cluster); written {args.out} (numpy.load(path, allow_pickle=False))")


def _all_nan(values) -> bool:
    import numpy as np

    return bool(values.size) and bool(np.isnan(values).all())


class _SearchSet:
    """One side of a search: embeddings, a description, and the tags of each track when known."""

    def __init__(self, label, embedded, corpus=None, vocabulary=None):
        self.label, self.embedded, self.corpus, self.vocabulary = label, embedded, corpus, vocabulary

    def tags(self, row: int) -> str:
        if self.corpus is None:
            return ""
        return "  [" + "; ".join(self.corpus.tags_of(row)) + "]"


def _search_set(value: str | None, run: Path, state: dict) -> _SearchSet:
    """The run's test set ('test' or None), an .npz from `mdrbench embed`, or a corpus folder (embedded)."""
    from mdrbench.search import embed_corpus, load_embeddings, load_run_model, model_fingerprint, run_test_set

    if value is None or value == RUN_TEST_SET:
        embedded = run_test_set(run)
        return _SearchSet(f"the run's {len(embedded.track_ids)} test tracks", embedded)
    path = Path(value)
    if path.is_file():
        embedded, vocabulary, meta = load_embeddings(path)
        fingerprint = model_fingerprint(run)
        if meta.get("model_fingerprint") not in (None, fingerprint):
            raise CommandError(f"{path} was embedded by another model ({meta.get('run')}), not by {run}: the two "
                               f"spaces cannot be compared. Fix: `mdrbench embed {run} --corpus DIR --out {path}`.")
        return _SearchSet(f"{path} ({len(embedded.track_ids)} tracks)", embedded, vocabulary=vocabulary)
    if not path.exists():
        raise CommandError(f"{path}: no such corpus folder or .npz file. Fix: give a corpus folder (`mdrbench corpus "
                           f"import`), an .npz written by `mdrbench embed`, or '{RUN_TEST_SET}' for the run's test "
                           f"tracks.")
    from mdrbench.corpus import Corpus

    corpus = Corpus.load(path)
    if "model" not in state:
        state["model"] = load_run_model(run)
    model, settings, _ = state["model"]
    embedded = embed_corpus(model, corpus, frontend=settings, progress=sys.stderr.isatty())
    return _SearchSet(f"corpus {corpus.name!r} ({len(corpus)} tracks)", embedded, corpus=corpus)


def _search(args) -> None:
    from mdrbench.search import SearchError, by_tag, find_track, nearest, subspace_block

    run = args.run
    if not run.is_dir():
        raise CommandError(f"{run}: no such run folder; point at a run written by `mdrbench train --out` or "
                           f"`mdrbench bench` (e.g. results/default/runs/proxy-norm-dis/seed0).")
    if args.tag is not None and args.subspace is not None:
        raise CommandError("--subspace goes with --query (search by example); --tag ranks by the model's tag scores. "
                           "Fix: drop --subspace, or query by example.")
    state: dict = {}
    queries = _search_set(args.corpus, run, state)
    database = queries if args.database in (None, args.corpus) else _search_set(args.database, run, state)
    config = _run_config(run)
    if args.query is not None:
        dim = queries.embedded.embeddings.shape[1]
        subspace_block(dim, args.subspace)  # unknown names fail before anything else
        row = find_track(queries.embedded.track_ids, args.query, queries.label)
        vector = queries.embedded.embeddings[row]
        same = database is queries
        indices, cosines = nearest(database.embedded.embeddings, row if same else vector, args.k, args.subspace)
        space = f"{args.subspace} sub-space" if args.subspace else "complete space"
        if args.subspace and config is not None and not config.get("disentangled", True):
            space += f" (note: {config.get('name')} is not disentangled, so this block has no category of its own)"
        print(f"nearest to {args.query}{queries.tags(row)}" + ("" if same else f" from {queries.label}")
              + f" in {database.label}, {space}, cosine:")
        for rank, (index, cosine) in enumerate(zip(indices, cosines, strict=True), start=1):
            print(f"  {rank:2d}. {database.embedded.track_ids[index]}  {cosine:.3f}{database.tags(index)}")
        return
    vocabulary = database.vocabulary or _find_vocabulary(run)
    if args.tag not in vocabulary.tags:
        raise CommandError(f"unknown tag {args.tag!r}; the run's vocabulary has: {', '.join(vocabulary.tags)}")
    scores = database.embedded.tag_scores
    if scores.shape[1] != len(vocabulary):
        raise CommandError(f"the tag scores have {scores.shape[1]} columns but the run's vocabulary {len(vocabulary)} "
                           f"tags. Fix: re-embed with `mdrbench embed {run}`.")
    try:
        indices, values = by_tag(scores, vocabulary.index(args.tag), args.k)
    except SearchError as error:
        raise CommandError(f"{database.label}: {error}") from None
    print(f"top {len(indices)} of {database.label} for tag {args.tag!r} ({vocabulary.category_of(args.tag)}):")
    for rank, (index, value) in enumerate(zip(indices, values, strict=True), start=1):
        print(f"  {rank:2d}. {database.embedded.track_ids[index]}  score {value:.3f}{database.tags(index)}")
    if not len(indices):
        print("  (no track has a score for this tag)")


def _run_config(run: Path) -> dict | None:
    import json

    try:
        return json.loads((run / "config.json").read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None


def _find_vocabulary(run: Path):
    from mdrbench.search import _find_vocabulary as find

    vocabulary = find(run)
    if vocabulary is None:
        raise CommandError(f"no vocabulary.csv in {run} or its parents; rerun `mdrbench bench` or `mdrbench train`.")
    return vocabulary


# ------------------------------------------------------------------------------------------- course
def _course(args) -> None:
    from mdrbench.course import build_site

    if args.executed is not None and args.notebooks is not None:
        raise CommandError("--executed renders notebooks executed elsewhere and --notebooks names notebooks to "
                           "execute here. Fix: give one of the two.")
    _check_out_folder(args.out, must_be_empty=False)
    site = build_site(args.out, executed=args.executed, notebooks=args.notebooks, only=args.only, timeout=args.timeout)
    print(site.summary())


if __name__ == "__main__":
    sys.exit(main())
