"""How far the modelled FMR (explorer/analysis/tail_model.py) is from the truth beyond the data:
impostor distances of known distributions, 1e5 pairs each (they count FMR down to 1e-5), the
model asked at the exact thresholds of FMR 1e-6, 1e-7 and 1e-8, over independent samples.

    .venv/bin/python benchmarks/bench_tail_model.py [--samples 20]

Prints, per distribution and FMR, the median and the spread of modelled / true (log10), and how
often the 95% interval held the truth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import chi2, norm
from scipy.stats import t as student

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.analysis.scores import from_distances  # noqa: E402
from explorer.analysis.tail_model import fit_tail  # noqa: E402

CASES = {  # name: (distribution, shift, floor: distances never below it)
    "Gaussian N(10, 1)": (norm, 10.0, None),
    "Student-t (5 df) + 60": (student(5), 60.0, None),
    "chi-square (4 df): squared distances, floor 0": (chi2(4), 0.0, 0.0),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    print("| impostor distances | FMR | median modelled / true | 10-90% of log10 ratio | interval held the truth |")
    print("| --- | --- | --- | --- | --- |")
    for name, (dist, shift, floor) in CASES.items():
        ratios, held = {f: [] for f in (1e-6, 1e-7, 1e-8)}, {f: 0 for f in (1e-6, 1e-7, 1e-8)}
        for seed in range(args.samples):
            rng = np.random.default_rng(seed)
            d = shift + dist.rvs(size=100_000, random_state=rng)
            s = from_distances(np.full(10, d.min() / 2 if floor is not None else shift - 8), d, metric="x", bins=4096)
            m = fit_tail(s.impostor, s.n_impostor, floor=floor)
            for f in ratios:
                t = shift + dist.ppf(f)
                ratios[f].append(np.log10(max(m.fmr(t), 1e-300) / f))
                lo, hi = m.fmr_interval(t)
                held[f] += lo <= f <= hi
        for f, r in ratios.items():
            lo, hi = np.percentile(r, [10, 90])
            print(
                f"| {name} | {f:g} | {10 ** np.median(r):.2f} | {lo:+.2f} to {hi:+.2f} | {held[f]} of {args.samples} |"
            )


if __name__ == "__main__":
    main()
