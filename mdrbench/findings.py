"""The paper's claims, and what the data shows, as families of like-for-like comparisons stated before the data.

A claim such as "proxy and classification models beat triplet models on retrieval" is tested pair by pair,
each pair alike in normalization and disentanglement (proxy-norm-full vs triplet-norm-full, ...), never as the
worst of one group against the best of the other. Each pair is a paired comparison across seeds *and* test
queries (:mod:`mdrbench.stats`, from the per-query evidence of :mod:`mdrbench.evidence`); every test of the
report is corrected together with Holm's method; and each finding says what its design can detect.

The rule for a finding's verdict, from its pairs' verdicts after correction:

- **holds**: every pair holds;
- **does not hold**: at least one pair goes the other way beyond noise (the claim says "in every pair");
- **holds in part**: some pairs hold, none goes the other way;
- **undetermined**: no pair is decided (or a run behind it did not converge).

A pair *holds* when its Holm-adjusted p-value is below 5% and the difference lies on the claimed side of the
claim's margin (0 for most; the information claim asks for a practical margin), *does not hold* when it is
below 5% on the other side, and is *undetermined* otherwise. Intervals are printed at 95% for each comparison
alone; a pair whose interval excludes 0 but whose adjusted p-value does not pass stays undetermined, and says
so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench import stats
from mdrbench.evidence import PROBE_COLUMN, bootstrap_weights, replicates
from mdrbench.results import RunFolder, UnreadableResult, baseline_folder, external_folder, run_folder

N_RESAMPLES = 1000  # test-set resamples per interval (the same for every model and seed)
RESAMPLE_SEED = 0
VERDICTS = ("holds", "does not hold", "holds in part", "undetermined")


@dataclass(frozen=True)
class Pair:
    """One like-for-like comparison: ``first`` minus ``second``, positive = the claim. With ``columns`` the two
    are one configuration's two columns (e.g. sub-space minus complete-space accuracy of one model)."""

    first: str
    second: str
    columns: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        if self.columns and not self.columns[1]:
            return f"{self.first}: {self.columns[0]}"
        if self.columns:
            return f"{self.first}: {self.columns[0]} - {self.columns[1]}"
        return f"{self.first} - {self.second}"


@dataclass(frozen=True)
class Claim:
    """A finding stated before the data: its text, the column it is judged on, its pairs, the paper's numbers,
    the practical effect size the power sentence is about, and how its noise is measured ("two-level": seeds
    and test queries; "seeds": a training-time figure, no query noise; "rounds": the interleaved step timing)."""

    key: str
    text: str
    column: str
    pairs: tuple[Pair, ...]
    paper: str
    practical: float
    digits: int = 3
    noise: str = "two-level"
    margin: float = 0.0
    source: str = "paper"  # "paper": a claim of the paper; "data": a finding the data shows


LIKE_FOR_LIKE = (Pair("proxy-norm-full", "triplet-norm-full"), Pair("proxy-norm-dis", "triplet-norm-dis"),
                 Pair("classification-norm-dis", "triplet-norm-dis"))
TRIPLET_FIRST = tuple(Pair(p.second, p.first) for p in LIKE_FOR_LIKE)
DISENTANGLED = ("triplet-norm-dis", "triplet-track-norm-dis", "proxy-norm-dis", "classification-norm-dis")

CLAIMS: tuple[Claim, ...] = (
    Claim("normalization", "Normalization is essential for retrieval with a classifier: the normalized classifier "
          "beats the raw one on R@1", "R@1", (Pair("classification-norm-full", "classification-raw-full"),),
          "R@1 43.8 vs 6.1", practical=2.0, digits=1),
    Claim("retrieval", "Proxy and classification models beat triplet models on similarity retrieval (R@1), like "
          "for like", "R@1", LIKE_FOR_LIKE, "R@1 45.0 vs 31.8 (full), 44.7/44.7 vs 36.5 (dis)", practical=2.0,
          digits=1),
    Claim("tagging", "Proxy and classification models beat triplet models on auto-tagging (ROC-AUC), like for like",
          "AUC", LIKE_FOR_LIKE, "ROC-AUC 0.890 vs 0.815 (full), 0.890/0.890 vs 0.825 (dis)", practical=0.01),
    Claim("subspace-lead", "The disentangled triplet model leads triplet prediction in the sub-spaces (overall "
          "sub-space accuracy, against each other disentangled model)", "subspace:overall",
          tuple(Pair("triplet-norm-dis", other) for other in DISENTANGLED[1:]), "0.792 vs 0.752/0.738/0.737",
          practical=0.01),
    Claim("complete-triplets", "Triplet models lead triplet prediction in the complete space too, against proxy "
          "and classification models like for like (overall complete-space accuracy)", "complete:overall",
          TRIPLET_FIRST, "0.712 vs 0.714 (full), 0.733 vs 0.720/0.719 (dis)", practical=0.01, source="data"),
    Claim("similarity-disentanglement", "The disentangled spaces are disentangled for similarity: each "
          "dimension's triplets are predicted better inside its own sub-space than in the complete space",
          "subspace:overall - complete:overall",
          tuple(Pair(c, c, ("subspace:overall", "complete:overall")) for c in DISENTANGLED),
          "0.792 vs 0.733 (triplet-norm-dis)", practical=0.01, source="data"),
    Claim("information-disentanglement", "The disentangled spaces are disentangled for information: a linear probe "
          "reads a factor from its own block better than from the other blocks by at least 0.1 (adjusted "
          "balanced accuracy, own minus the mean of the others, mean over the four factors)", PROBE_COLUMN,
          tuple(Pair(c, c, (PROBE_COLUMN, "")) for c in DISENTANGLED), "not measured in the paper",
          practical=0.05, margin=0.1, source="data"),
    Claim("step-cost", "A triplet model's training step costs more than a proxy or classification model's, like "
          "for like (ratio of step times, interleaved timing, log scale)", "log step-time ratio", TRIPLET_FIRST,
          "implied: 1.87-3.05 vs 1.00-1.29 time ratios", practical=math.log(1.25), noise="rounds", source="data"),
    Claim("epochs", "Triplet models need more epochs to converge than proxy and classification models, like for "
          "like (epochs to the best validation loss)", "epochs_to_convergence", TRIPLET_FIRST,
          "not reported separately", practical=3.0, digits=1, noise="seeds", source="data"),
    Claim("training-time", "Classification-style models train faster than triplet models (training-time ratio: "
          "epochs to convergence x step cost), like for like", "time_ratio", TRIPLET_FIRST,
          "1.87 vs 1.11 (full), 2.37 vs 1.29/1.27 (dis)", practical=0.5, digits=2, noise="seeds"),
)


# ------------------------------------------------------------------------------------------- the evidence
def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


@lru_cache(maxsize=512)
def _evidence(path: str, mtime: float):
    return RunFolder(path).evidence()


@lru_cache(maxsize=8)
def _weights(n: int):
    return bootstrap_weights(n, N_RESAMPLES, RESAMPLE_SEED)


@lru_cache(maxsize=8192)
def _replicates(path: str, mtime: float, column: str):
    evidence = _evidence(path, mtime)
    values = replicates(evidence, column, _weights(evidence.n_queries))
    return None if values is None else np.asarray(values)


def run_path(folder, config: str, seed: int) -> Path:
    """The folder holding (config, seed): a trained run, a baseline or an external model."""
    from mdrbench.configs import trained_as
    from mdrbench.report import BASELINE_ROWS

    if config in BASELINE_ROWS:
        return baseline_folder(folder, config, seed)
    external = external_folder(folder, config, seed)
    if external.is_dir():
        return external
    return run_folder(folder, trained_as(config), seed)


def column_replicates(folder, config: str, seed: int, column: str) -> np.ndarray | None:
    """(B,) the report's ``column`` of one run on each test-set resample; None without evidence for it."""
    path = run_path(folder, config, seed) / RunFolder.EVIDENCE
    if folder is None or not path.exists():
        return None
    try:
        return _replicates(str(path.parent), _mtime(path), column)
    except UnreadableResult:
        return None


def n_queries(folder, config: str, seed: int) -> int:
    path = run_path(folder, config, seed) / RunFolder.EVIDENCE
    return _evidence(str(path.parent), _mtime(path)).n_queries if path.exists() else 0


def _value(models: pd.DataFrame, config: str, column: str) -> pd.Series:
    """Per seed (index), one configuration's column; a one-seed baseline serves every seed."""
    rows = models[models["config"] == config].set_index("seed")
    if column == PROBE_COLUMN:
        return rows["probe_selectivity"] if "probe_selectivity" in rows else pd.Series(dtype=float)
    return rows[column] if column in rows else pd.Series(dtype=float)


def estimate_column(results: pd.DataFrame, config: str, column: str) -> stats.Estimate | None:
    """One configuration's column over its seeds and the test queries (the report's table cells)."""
    folder = results.attrs.get("folder")
    values = _value(results, config, column).dropna()
    if values.empty:
        return None
    parts = [column_replicates(folder, config, int(seed), column) for seed in values.index]
    if any(part is None for part in parts):
        return stats.two_level_estimate(values.to_numpy())
    return stats.two_level_estimate(values.to_numpy(), np.mean(parts, axis=0), n_queries(folder, config,
                                                                                         int(values.index[0])))


def pair_estimate(results: pd.DataFrame, claim: Claim, pair: Pair) -> tuple[stats.Estimate | None, bool, str]:
    """(estimate of the pair's difference, whether every run behind it converged, a reason when None)."""
    folder = results.attrs.get("folder")
    if claim.noise == "rounds":
        return _step_cost_estimate(folder, pair)
    columns = pair.columns or (claim.column, claim.column)
    first = _value(results, pair.first, columns[0])
    second = _value(results, pair.second, columns[1]) if columns[1] else first
    if first.isna().any() or second.isna().any():
        return None, True, "a value is missing (NaN)"
    if columns[1]:
        second = _value(results, pair.second, columns[1])
    else:  # a test against the claim's margin: nothing is subtracted
        second = pd.Series(0.0, index=first.index)
    # a deterministic baseline is scored once (seed 0): that one score is paired with every seed
    second_seed = {int(s): int(s) for s in second.index}
    if len(second) == 1 and len(first) > 1:
        second_seed = {int(s): int(second.index[0]) for s in first.index}
        second = pd.Series(second.iloc[0], index=first.index)
    seeds = first.index.intersection(second.index)
    if len(seeds) == 0:
        return None, False, "no seed has both runs"
    used = results[results["config"].isin([pair.first, pair.second]) & results["seed"].isin(seeds)]
    converged = bool(used["converged"].all())
    differences = (first.loc[seeds] - second.loc[seeds]).to_numpy(dtype=float)
    if claim.noise == "seeds":
        return stats.two_level_estimate(differences), converged, ""
    parts = []
    for seed in (int(s) for s in seeds):
        one = column_replicates(folder, pair.first, seed, columns[0])
        other = column_replicates(folder, pair.second, second_seed[seed], columns[1]) if columns[1] else 0.0
        if one is None or other is None:
            return None, converged, "no per-query evidence for it (rerun `mdrbench bench`)"
        parts.append(one - other)
    count = n_queries(folder, pair.first, int(seeds[0]))
    return stats.two_level_estimate(differences, np.mean(parts, axis=0), count), converged, ""


def _step_cost_estimate(folder, pair: Pair) -> tuple[stats.Estimate | None, bool, str]:
    """log(step time of first / of second) per interleaved timing round, over the rounds."""
    from mdrbench.configs import trained_as

    timing = read_timing(folder)
    first, second = timing.get(trained_as(pair.first)), timing.get(trained_as(pair.second))
    if not first or not second or "round_median_seconds" not in first or "round_median_seconds" not in second:
        return None, True, "no per-round step timing (timing.json)"
    ratios = np.log(np.asarray(first["round_median_seconds"]) / np.asarray(second["round_median_seconds"]))
    return stats.two_level_estimate(ratios), True, ""


def read_timing(folder) -> dict:
    path = Path(folder) / "timing.json" if folder is not None else None
    if path is None or not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


# ------------------------------------------------------------------------------------------- the verdicts
@dataclass
class PairResult:
    """One pair's difference, interval, p-values, verdict and power."""

    pair: Pair
    estimate: stats.Estimate | None
    converged: bool
    reason: str = ""
    p_value: float = math.nan
    p_holm: float = math.nan
    verdict: str = "undetermined"
    power: str = ""

    def interval(self) -> tuple[float, float]:
        if self.estimate is None or self.estimate.n_seeds < 2 or not np.isfinite(self.estimate.df):
            return math.nan, math.nan
        return self.estimate.interval()

    def describe(self, claim: Claim) -> str:
        digits = claim.digits
        if self.estimate is None:
            return f"{self.pair.label}: no difference computable ({self.reason})"
        low, high = self.interval()
        interval = f"[{low:+.{digits}f}, {high:+.{digits}f}]" if np.isfinite(low) else "no interval"
        units = {"rounds": "timing rounds", "seeds": "seeds"}.get(claim.noise, "seeds")
        noise = (f"{self.estimate.n_seeds} {units} x {self.estimate.n_queries} test tracks"
                 if self.estimate.n_queries else f"{self.estimate.n_seeds} {units}")
        against = f" against {claim.margin:g}" if claim.margin else ""
        text = (f"{self.pair.label} {self.estimate.mean:+.{digits}f}, 95% {interval} ({noise}), "
                f"p{against} {self.p_value:.3g}, Holm {self.p_holm:.3g}: {self.verdict}")
        return text + (f" ({self.reason})" if self.reason else "")


def _pair_verdict(result: PairResult, claim: Claim, alpha: float = stats.ALPHA) -> None:
    estimate = result.estimate
    if estimate is None:
        result.verdict = "undetermined"
        return
    if not result.converged:
        result.verdict, result.reason = "undetermined", "a run behind it did not stop by the schedule"
        return
    if estimate.n_seeds < 2:
        result.verdict, result.reason = "undetermined", "one seed: the seed noise is unknown"
        return
    if estimate.variance == 0:
        result.verdict, result.reason = "undetermined", "every seed and resample gave the same difference: no " \
                                                        "spread to measure the noise with"
        return
    if np.isfinite(result.p_holm) and result.p_holm < alpha:
        result.verdict = "holds" if estimate.mean > claim.margin else "does not hold"
        return
    result.verdict = "undetermined"
    if np.isfinite(result.p_value) and result.p_value < alpha:
        result.reason = f"p < {alpha:g} alone, not after Holm's correction over the report's tests"
    else:
        result.reason = "within noise"


def _power_sentence(result: PairResult, claim: Claim, alpha: float) -> str:
    """What this design detects, and what would detect the claim's practical effect, at the corrected level."""
    estimate = result.estimate
    if estimate is None or estimate.n_seeds < 2 or not np.isfinite(estimate.seed_variance):
        return ""
    digits = claim.digits
    detectable = stats.minimum_detectable_effect(estimate, alpha=alpha)
    units = "timing rounds" if claim.noise == "rounds" else "seeds"
    text = f"detects {detectable:.{digits}f} with 80% power"
    if not np.isfinite(detectable) or detectable <= claim.practical:
        return text + f" (the practical size {claim.practical:.{digits}f} is within reach)"
    seeds = stats.seeds_needed(estimate, claim.practical, alpha)
    seed_text = f"{seeds} {units}" if seeds else f"more than {stats.MAX_SEEDS} {units}"
    if claim.noise != "two-level":
        return text + f"; {claim.practical:.{digits}f} needs {seed_text}"
    tracks = stats.queries_needed(estimate, claim.practical, alpha)
    track_text = (f"{tracks} test tracks at {estimate.n_seeds} seeds" if tracks else
                  f"no number of test tracks at {estimate.n_seeds} seeds (the seed noise alone is too large)")
    return text + f"; {claim.practical:.{digits}f} needs {seed_text} at {estimate.n_queries} test tracks, or " \
                  f"{track_text}"


def summary_verdict(verdicts: list[str]) -> str:
    """The finding's verdict from its pairs' (the rule in the module docstring)."""
    if not verdicts:
        return "undetermined"
    if "does not hold" in verdicts:
        return "does not hold"
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "holds in part" if "holds" in verdicts else "undetermined"


def findings(results: pd.DataFrame, claims: tuple[Claim, ...] = CLAIMS, alpha: float = stats.ALPHA) -> list[dict]:
    """Every claim whose configurations were run, its pairs tested, all tests of the report Holm-corrected.

    Each finding is a dict: ``key``, ``claim``, ``source`` ("paper" or "data"), ``verdict`` (see
    :func:`summary_verdict`), ``evidence`` (one line per pair, starting with the column), ``paper``,
    ``pairs`` (one dict per pair: label, difference, low, high, p, p_holm, verdict, reason, power, n_seeds,
    n_queries, seed_share), ``power`` and, for the weakest pair (the largest adjusted p-value),
    ``difference``, ``low``, ``high`` and ``n_seeds``. ``results`` comes from
    :func:`mdrbench.report.collect_results` (its ``attrs["folder"]`` locates the per-query evidence).
    """
    if not len(results) or not (results["kind"] == "model").any():
        return []
    have = set(results["config"])
    tested: list[tuple[Claim, list[PairResult]]] = []
    for claim in claims:
        pairs = [pair for pair in claim.pairs if {pair.first, pair.second} <= have]
        if not pairs:
            continue
        outcomes = []
        for pair in pairs:
            estimate, converged, reason = pair_estimate(results, claim, pair)
            outcome = PairResult(pair, estimate, converged, reason)
            if estimate is not None and estimate.n_seeds >= 2:
                outcome.p_value = estimate.p_value(claim.margin)
            outcomes.append(outcome)
        tested.append((claim, outcomes))
    every = [outcome for _, outcomes in tested for outcome in outcomes]
    adjusted = stats.holm([outcome.p_value for outcome in every])
    n_tests = int(np.isfinite([outcome.p_value for outcome in every]).sum())
    for outcome, p_holm in zip(every, adjusted, strict=True):
        outcome.p_holm = p_holm
    corrected = alpha / max(n_tests, 1)  # Holm's strictest step: the level the power sentences use
    out = []
    for claim, outcomes in tested:
        for outcome in outcomes:
            _pair_verdict(outcome, claim, alpha)
            outcome.power = _power_sentence(outcome, claim, corrected)
        weakest = max(outcomes, key=lambda o: o.p_holm if np.isfinite(o.p_holm) else 2.0)
        low, high = weakest.interval()
        out.append({
            "key": claim.key, "claim": claim.text, "source": claim.source,
            "verdict": summary_verdict([o.verdict for o in outcomes]),
            "evidence": f"{claim.column}: " + "; ".join(o.describe(claim) for o in outcomes),
            "paper": claim.paper, "n_tests": n_tests,
            "power": "; ".join(f"{o.pair.label}: {o.power}" for o in outcomes if o.power),
            "difference": weakest.estimate.mean if weakest.estimate else math.nan, "low": low, "high": high,
            "n_seeds": weakest.estimate.n_seeds if weakest.estimate else 0,
            "pairs": [_pair_dict(o, claim) for o in outcomes],
        })
    return out


def _pair_dict(outcome: PairResult, claim: Claim) -> dict:
    low, high = outcome.interval()
    estimate = outcome.estimate
    text = outcome.describe(claim) + (f"; this design {outcome.power}" if outcome.power else "")
    return {"label": outcome.pair.label, "text": text, "first": outcome.pair.first, "second": outcome.pair.second,
            "difference": estimate.mean if estimate else math.nan, "low": low, "high": high,
            "p": outcome.p_value, "p_holm": outcome.p_holm, "verdict": outcome.verdict, "reason": outcome.reason,
            "power": outcome.power, "n_seeds": estimate.n_seeds if estimate else 0,
            "n_queries": estimate.n_queries if estimate else 0,
            "seed_share": estimate.seed_share() if estimate else math.nan}
