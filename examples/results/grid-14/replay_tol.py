#!/usr/bin/env python3
"""Replays the stage's early-stopping rule (FitRounds.rounds) with other tol values on the
per-round validation losses that a log of the stage recorded, one fit per run of round lines.

The rule: the best round (lowest validation loss) is kept; a round restarts patience's count
only when its loss is below that of the last round that restarted it by more than tol (the
first round always does); the fit stops after `patience` rounds without a restart, unless that
round is the last. Which round is kept and when the fit stops depend on the loss sequence alone,
so replaying a fit that ran longer is exact for every round it ran. Relative: tol times the
reference loss. The AUC is the one the log printed next to each loss (4 decimals).

  python3 replay_tol.py LOG...    (patience 10, the default)
"""
import re
import sys

ROUND = re.compile(r"round +(\d+)[/:].*validation loss ([0-9.]+) AUC ([0-9.]+)")


def replay(losses, tol, patience=10, relative=False):
    """(kept round, rounds run), 1-based."""
    best, kept = float("inf"), 0
    ref, last = float("inf"), 0
    for r, m in enumerate(losses, 1):
        if m < best:
            best, kept = m, r
        t = tol * ref if relative and ref != float("inf") else tol
        if ref == float("inf") or m < ref - t:
            ref, last = m, r
        elif r - last >= patience and r < len(losses):
            return kept, r
    return kept, len(losses)


def fits(path):
    out, seen = [], set()
    for line in open(path, errors="replace"):
        m = ROUND.search(line)
        if m:
            if int(m.group(1)) == 1:
                out.append(([], []))
            out[-1][0].append(float(m.group(2)))
            out[-1][1].append(float(m.group(3)))
    unique = []
    for f in out:  # a log may print a fit's rounds twice (the round lines and a summary)
        if tuple(f[0]) not in seen:
            seen.add(tuple(f[0]))
            unique.append(f)
    return unique


if __name__ == "__main__":
    for path in sys.argv[1:]:
        for i, (loss, auc) in enumerate(fits(path)):
            k0, n0 = replay(loss, 0)
            cells = [f"tol 0: r{k0}/{n0} AUC {auc[k0 - 1]:.4f}"]
            for tol, rel in [(1e-5, False), (1e-4, False), (3e-4, False), (5e-4, False),
                             (1e-3, False), (1.5e-3, True), (2e-3, True)]:
                k, n = replay(loss, tol, relative=rel)
                cells.append(f"{'rel ' if rel else ''}{tol:g}: r{k}/{n} {auc[k - 1] - auc[k0 - 1]:+.4f}")
            print(f"{path} fit {i + 1} ({len(loss)} rounds) | " + " | ".join(cells))
