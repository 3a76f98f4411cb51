"""1:N as the reference evaluations report it, beyond one open-set measurement: the CMC (ranks 1
to 50) and the investigation mode (a candidate list of 50, no threshold), FNIR against the
gallery size N with a fit to extrapolate, and enrolment templates of several images against one.

Every figure comes from searching probes against a gallery of enrolled templates (exact search:
one BLAS pass), with the vocabulary of NIST FRTE 1:N: FNIR (a mated probe whose mate is not
returned), FPIR (a non-mated probe for whom someone is), N (the identities enrolled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.distances import pairwise

CANDIDATES = 50  # the investigation mode's candidate list (FRTE's R = 50)
OPERATING_FPIR = (0.003, 0.01)  # FRTE's operating points


def cmc(
    vectors: np.ndarray,
    labels: np.ndarray,
    enrolled: np.ndarray,
    probes: np.ndarray,
    *,
    metric: str,
    ranks: int = CANDIDATES,
) -> np.ndarray:
    """The share of mated probes whose mate is among the first r candidates, r = 1 .. ranks (at most N)."""
    labels = np.asarray(labels).astype(str)
    d = pairwise(vectors[probes], vectors[enrolled], metric=metric)
    ranked = labels[enrolled][np.argsort(d, axis=1, kind="stable")[:, : min(ranks, len(enrolled))]]
    hit = ranked == labels[probes][:, None]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), ranked.shape[1])  # the mate's rank - 1 (or beyond)
    return np.array([(first < r).mean() for r in range(1, ranked.shape[1] + 1)])


def templates(vectors: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per identity with more than k items: the mean of its first k items enrolled as one template,
    its other items the probes. Returns (template vectors, their labels, probe rows)."""
    labels = np.asarray(labels).astype(str)
    names = list(dict.fromkeys(labels.tolist()))
    rows = [np.flatnonzero(labels == n) for n in names]
    kept = [(n, r) for n, r in zip(names, rows, strict=True) if len(r) > k]
    if len(kept) < 2:
        raise ValueError(f"templates of {k} images need two identities with more than {k} items")
    t = np.stack([vectors[r[:k]].mean(axis=0) for _, r in kept]).astype(np.float32)
    return t, np.array([n for n, _ in kept]), np.concatenate([r[k:] for _, r in kept])


@dataclass(frozen=True)
class TemplateRow:
    images: int  # k: images averaged into each template
    identities: int
    probes: int
    rank1: float
    cmc: np.ndarray


def template_comparison(
    vectors: np.ndarray, labels: np.ndarray, ks: tuple[int, ...], *, metric: str
) -> list[TemplateRow]:
    """Rank-1 and the CMC with templates of k images, for each k, on the same probes: every
    identity with more than max(ks) items, probed by its items after the first max(ks)."""
    labels = np.asarray(labels).astype(str)
    top = max(ks)
    _, names, probes = templates(vectors, labels, top)  # the identities and probes every k shares
    keep = np.isin(labels, names)
    out = []
    for k in ks:
        t, t_labels, _ = templates(vectors[keep], labels[keep], k)
        x = np.concatenate([t, vectors[probes]])
        lab = np.concatenate([t_labels, labels[probes]])
        c = cmc(x, lab, np.arange(len(t)), np.arange(len(t), len(x)), metric=metric)
        out.append(TemplateRow(k, len(t), len(probes), float(c[0]), c))
    return out


@dataclass(frozen=True)
class SizeCurve:
    sizes: np.ndarray  # gallery sizes N measured
    fnir: np.ndarray  # rank-1 miss rate at each (investigation at rank 1, no threshold), mean over draws
    spread: np.ndarray  # its standard deviation over the draws
    fit: tuple[float, float] | None  # (a, b): FNIR = a N^b, by least squares in log-log over nonzero points

    def extrapolate(self, n: int) -> float | None:
        if self.fit is None:
            return None
        a, b = self.fit
        return float(min(a * n**b, 1.0))


def fnir_by_gallery_size(
    vectors: np.ndarray, labels: np.ndarray, *, metric: str, probed: int = 10, draws: int = 5, seed: int = 0
) -> SizeCurve:
    """How the rank-1 miss rate grows with the gallery: ``probed`` identities are always enrolled
    (first item) and probed (their other items); other identities' first items are added as
    distractors up to every identity, the sizes spaced evenly in log N; each size over ``draws``
    random choices of both."""
    labels = np.asarray(labels).astype(str)
    names = np.array(list(dict.fromkeys(labels.tolist())))
    firsts = np.array([np.flatnonzero(labels == n)[0] for n in names])
    has_probe = np.array([(labels == n).sum() > 1 for n in names])
    if has_probe.sum() < 2 or len(names) < 4:
        raise ValueError("the N curve needs at least four identities, two with a second item")
    probed = min(probed, int(has_probe.sum()), len(names) // 2)
    sizes = np.unique(np.geomspace(probed, len(names), num=min(8, len(names) - probed + 1)).round().astype(int))
    rng = np.random.default_rng(seed)
    fnir = np.zeros((draws, len(sizes)))
    for r in range(draws):
        ids = rng.permutation(np.flatnonzero(has_probe))[:probed]
        others = rng.permutation(np.setdiff1d(np.arange(len(names)), ids))
        probes = np.flatnonzero(np.isin(labels, names[ids]))
        probes = np.setdiff1d(probes, firsts[ids])
        for j, n in enumerate(sizes):
            gallery = firsts[np.r_[ids, others[: n - probed]]]
            fnir[r, j] = 1.0 - cmc(vectors, labels, gallery, probes, metric=metric, ranks=1)[0]
    mean = fnir.mean(axis=0)
    ok = mean > 0
    fit = None
    if ok.sum() >= 2:
        b, log_a = np.polyfit(np.log(sizes[ok]), np.log(mean[ok]), 1)
        fit = (float(np.exp(log_a)), float(b))
    return SizeCurve(sizes, mean, fnir.std(axis=0), fit)
