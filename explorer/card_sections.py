"""The threshold card's sections beyond the counts at its threshold, in Markdown: false matches
between groups, the threshold proven on held-out people, and the EER's interval, the named points,
modelled rates and calibration (modelled figures marked as such)."""

from __future__ import annotations

from explorer.markdown import plain


def pct(v: float) -> str:
    return f"{100 * v:.4g}%"


def interval(v) -> str:
    if v is None:
        return ""
    return "no spread: every replicate gave one value" if v[0] == v[1] else f"{pct(v[0])} to {pct(v[1])}"


def ratio_text(r: dict) -> str:
    """A max / min ratio with its interval, or why there is none."""
    if r["value"] is None:
        return "not measurable"
    return f"{r['value']:.3g} (95%: {r['interval'][0]:.3g} to {r['interval'][1]:.3g})"


def beyond_the_counts(card: dict) -> str:
    return (
        between_groups_markdown(card.get("between_groups"))
        + held_out_markdown(card.get("held_out_people"), card["comparison"])
        + beyond_markdown(card["beyond_counting"])
    )


def between_groups_markdown(b: dict | None) -> str:
    """The FMR of every pair of groups as a matrix, each group's FNMR, and the ratios."""
    if not b:
        return ""
    if "cells" not in b:
        return f"\n\n## Between groups\n\nNot counted: {plain(b['note'])}."
    names = sorted({c["a"] for c in b["cells"]} | {c["b"] for c in b["cells"]})
    fmr = {(c["a"], c["b"]): c for c in b["cells"]}
    cell = lambda a, c: fmr.get((a, c)) or fmr.get((c, a))  # noqa: E731
    value = lambda x: "not measurable" if x["fmr"] is None else f"{x['fmr']:.3g}"  # noqa: E731
    head = "| FMR | " + " | ".join(plain(n) for n in names) + " |\n|" + " --- |" * (len(names) + 1)
    rows = "\n".join(f"| {plain(a)} | " + " | ".join(value(cell(a, c)) for c in names) + " |" for a in names)
    fnmr = ", ".join(
        f"{plain(g['group'])} {'not measurable' if g['fnmr'] is None else pct(g['fnmr'])}" for g in b["fnmr"]
    )
    return (
        f"\n\n## Between groups\n\n{head}\n{rows}\n\nFNMR by group: {fnmr}.\n\nmax / min across groups: FMR "
        f"{ratio_text(b['fmr_max_min_ratio'])}, FNMR {ratio_text(b['fnmr_max_min_ratio'])}. {b['note'][0].upper() + b['note'][1:]}."
    )


def held_out_markdown(h: dict | None, comparison: dict) -> str:
    """The threshold's rule proven on people it was not picked on, beside the in-sample rates."""
    if not h:
        return ""
    if "estimates" not in h:
        return f"\n\n## On held-out people\n\nNot counted: {plain(h['note'])}."
    f = lambda s: f"{pct(s['mean'])} (sd {pct(s['sd'])}, {pct(s['min'])} to {pct(s['max'])})"  # noqa: E731
    return (
        "\n\n## On held-out people\n\n"
        f"{h['method'][0].upper() + h['method'][1:]}: {h['estimates']} estimates.\n\n"
        "| | picked and counted on every pair | counted on people it was not picked on |\n| --- | --- | --- |\n"
        f"| FMR | {pct(comparison['fmr'])} | {f(h['eval_fmr'])} |\n"
        f"| FNMR | {pct(comparison['fnmr'])} | {f(h['eval_fnmr'])} |\n\n"
        f"Cllr on held-out people (logistic fitted on dev): {h['eval_cllr_bits']['mean']:.4f} bits "
        f"(min Cllr {h['eval_min_cllr_bits']['mean']:.4f}). {h['note'].split('. ')[0][0].upper() + h['note'].split('. ')[0][1:]}."
    )


def beyond_markdown(b: dict) -> str:
    """The card's figures beyond the counts, modelled ones marked as such."""
    if "eer" not in b:
        return f"\n\n## Beyond the counts\n\n{plain(b['note'])}"
    e, n, m, c = b["eer"], b["named_points"], b["modelled"], b["calibration"]
    point = lambda v: "not measurable" if v is None else pct(v)  # noqa: E731
    out = [
        "\n\n## Beyond the counts",
        f"EER {pct(e['value'])} (95% interval: {interval(e['interval'])}; {e['over']}).",
        f"Named points (pyeer; counted {n['counted']}): FMR100 {point(n['FMR100'])}, FMR1000 {point(n['FMR1000'])}, "
        f"ZeroFMR {point(n['ZeroFMR'])} (the FNMR at each), ZeroFNMR {point(n['ZeroFNMR'])} (the FMR).",
    ]
    if "tail" not in m:
        out.append(f"Modelled rates: none ({plain(m['note'])}).")
    else:
        t = m["tail"]
        out.append(
            f"**Modelled, not counted**: {m['method']}; the tail: {t['pairs']:,} of {t['of']:,} impostor pairs, "
            f"starting at {t['starts_at']:.6g}, shape {t['shape_xi']:.3f}."
        )
        if m["fmr_at_threshold"]:
            f = m["fmr_at_threshold"]
            out.append(
                f"Modelled FMR at this threshold: {f['fmr']:.3g} (95% interval {f['interval'][0]:.3g} to {f['interval'][1]:.3g})."
            )
        if m["threshold_for_fmr"]:
            rows = "\n".join(
                f"| {k} | {v['threshold']:.6g} | {v['threshold_interval'][0]:.6g} to {v['threshold_interval'][1]:.6g} | "
                f"{pct(v['fnmr'])} |"
                for k, v in m["threshold_for_fmr"].items()
            )
            out.append(
                "| FMR (beyond counting) | modelled threshold | 95% interval | FNMR there (counted) |\n"
                f"| --- | --- | --- | --- |\n{rows}"
            )
        out.append(m["note"][0].upper() + m["note"][1:] + ".")
    cl = ", ".join(f"{v:.4f} ({plain(k)})" for k, v in c["cllr_bits"].items())
    out.append(
        f"Calibration: Cllr {cl}; min Cllr {c['min_cllr_bits']:.4f} bits (fitted on {c['fitted_on']}, measured on "
        f"{c['measured_on']}). {c['note'][0].upper() + c['note'][1:]}."
    )
    return "\n\n".join(out)
