"""Render the README's sub-space picture from a finished benchmark, and print the probe numbers beside it.

    python docs/subspace_figure.py [--size default] [--config proxy-norm-dis] [--seed 0] [--color-by era]

Reads the stored test embeddings of one run (nothing is trained), draws the complete space and each
sub-space coloured by one clean factor (mdrbench.views.subspace_grid), writes it as a self-contained HTML
page and, when Chromium is installed, screenshots it to docs/<config>-<factor>-subspaces.png. It also
prints the run's stored linear-probe matrix (adjusted balanced accuracy of each factor read from each
block), which the README quotes.
"""

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import mdrbench
import mdrbench.paths
import mdrbench.synth
from mdrbench import views
from mdrbench.results import load_run
from mdrbench.subspaces import subspace_slices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default")
    parser.add_argument("--config", default="proxy-norm-dis")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--color-by", default="era", choices=list(mdrbench.CATEGORIES))
    arguments = parser.parse_args()

    corpus = mdrbench.synth.ensure_corpus(arguments.size, progress=False)
    run = load_run(mdrbench.paths.results_dir(arguments.size), arguments.config, arguments.seed)
    test_indices = corpus.split_indices("test")
    if not (run.test_track_ids == corpus.track_ids[test_indices]).all():
        raise SystemExit("the stored run was not made on this corpus; rerun `mdrbench bench` for this size.")
    factors = corpus.factors.iloc[test_indices]
    labels = {category: factors[category].to_numpy() for category in factors.columns}
    slices = subspace_slices(run.test_embeddings.shape[1])
    figure = views.subspace_grid(run.test_embeddings, labels, slices, color_by=arguments.color_by,
                                 title=f"{arguments.config} (seed {arguments.seed}), {len(test_indices)} test tracks, "
                                       f"coloured by {arguments.color_by}")
    figure.update_layout(width=1500, height=420)

    print("linear probe, adjusted balanced accuracy of each factor (columns) read from one block (rows):")
    for block, row in run.result["disentanglement"].items():
        print(f"  {block:>10}: " + ", ".join(f"{factor} {value:.2f}" for factor, value in row.items()))

    out = Path(__file__).parent / f"{arguments.config}-{arguments.color_by}-subspaces.png"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "figure.html"
        # plotly.js inline: the screenshot needs no network
        figure.write_html(page, include_plotlyjs=True, config={"displayModeBar": False})
        if chromium is None:
            kept = out.with_suffix(".html")
            shutil.copy(page, kept)
            print(f"Chromium not found: wrote {kept} instead of a PNG.")
            return
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1500,425", f"--screenshot={out}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
