"""How good is `mdrbench bench --plan`? Its estimate against the measured `default` benchmark (the reference bundle).

The bundle's benchmark ran on one machine (provenance: 2-core Xeon, native bf16) and stored, for every run, its
epochs, steps and wall time, and in timing.json the step costs that the plan's own method measures (interleaved
rounds). So the plan can be fed exactly what it would have measured on that machine before the job, and its
estimate compared with what the job then took:

- no stored runs (a first-time user): epochs from the schedule's range, the overheads fixed at 1.3;
- leave one seed out: each seed's runs planned from the other two seeds' epochs and overheads (out of sample);
- in sample: all three seeds' epochs and overheads (an upper bound on how good stored runs make it).

Usage: python benchmarks/check_plan.py  (reads only the shipped reference bundle; seconds)
"""

import mdrbench  # noqa: F401, I001  (first: sets KERAS_BACKEND=torch before keras is imported)
import json

from mdrbench.bench import config_names, planned_runs
from mdrbench.plan import plan_from_costs, stored_runs
from mdrbench.reference import reference_folder
from mdrbench.results import scan_results
from mdrbench.sizes import get_size


def main():
    folder = reference_folder("default")
    provenance = json.loads((folder / "provenance.json").read_text())
    timing = json.loads((folder / "timing.json").read_text())
    step_seconds = {name: cost["median_step_seconds"] for name, cost in timing.items()}
    size = get_size("default")
    n_train = size.split_counts[0]
    records = {(r["config"], r["seed"]): r for r in scan_results(folder)[0]}
    stored = stored_runs([folder], "default")
    stored["seed"] = [r["seed"] for r in scan_results(folder)[0] if (r.get("training") or {}).get("epochs_run")]
    runs = planned_runs(config_names("all"), [0, 1, 2])
    measured_runs = sum(records[run]["wall_seconds"] for run in runs)

    fallback = {"proxy": 1.3, "classification": 1.3, "triplet": 1.3, "triplet-track": 1.3}
    empty = stored.iloc[0:0]
    first_time = plan_from_costs(size, runs, step_seconds, empty, fallback, n_train)
    out_of_sample = 0.0
    per_seed = {}
    for seed in (0, 1, 2):
        seed_runs = [run for run in runs if run[1] == seed]
        others = stored[stored["seed"] != seed]
        planned = plan_from_costs(size, seed_runs, step_seconds, others, fallback, n_train).serial_seconds[0]
        actual = sum(records[run]["wall_seconds"] for run in seed_runs)
        per_seed[seed] = {"planned_s": round(planned), "measured_s": round(actual), "ratio": round(planned / actual, 2)}
        out_of_sample += planned
    in_sample = plan_from_costs(size, runs, step_seconds, stored, fallback, n_train)
    lines = {
        "measured": {"bench_wall_s": provenance["wall_seconds"], "sum_of_run_walls_s": round(measured_runs),
                     "machine": provenance["machine"], "precision": provenance["precision"]},
        "first_time_user (schedule range)": {"expected_s": round(first_time.serial_seconds[0]),
                                             "low_s": round(first_time.serial_seconds[1]),
                                             "high_s": round(first_time.serial_seconds[2])},
        "leave_one_seed_out": {"expected_s": round(out_of_sample),
                               "ratio_to_runs": round(out_of_sample / measured_runs, 2),
                               "ratio_to_bench": round(out_of_sample / provenance["wall_seconds"], 2),
                               "per_seed": per_seed},
        "in_sample": {"expected_s": round(in_sample.serial_seconds[0]),
                      "ratio_to_runs": round(in_sample.serial_seconds[0] / measured_runs, 2)},
        "projected_on_N_workers_like_it_s": {n: round(s) for n, s in in_sample.workers_seconds.items()},
    }
    print(json.dumps(lines, indent=1))


if __name__ == "__main__":
    main()
