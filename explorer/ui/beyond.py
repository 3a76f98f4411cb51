"""The Threshold page's figures beyond the counts: the EER's interval, pyeer's named points,
rates modelled beyond the impostor pairs (with the fit's QQ plot) and calibration."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import plots
from explorer.analysis.deployment import Deployment, deployment_of
from explorer.analysis.scores import PairScores


def figures(scores: PairScores) -> Deployment | None:
    with st.spinner("The EER's interval, the impostor tail's fit and the calibration ..."):
        try:
            return deployment_of(scores)
        except ValueError as exc:
            st.caption(f"Beyond the counts: not computed ({exc}).")
            return None


def eer_interval(d: Deployment) -> str:
    lo, hi = d.eer_interval
    return f"95% over pairs: {100 * lo:.3f}% to {100 * hi:.3f}%"


def beyond(d: Deployment, threshold: float) -> None:
    n = d.named
    pct = lambda v: "not measurable" if v is None else f"{100 * v:.3f}%"  # noqa: E731
    st.markdown("**Named points** (pyeer's)")
    st.dataframe(
        pd.DataFrame(
            [
                {"point": "FMR100", "what": "lowest FNMR with FMR <= 1%", "value": pct(n.fmr100)},
                {"point": "FMR1000", "what": "lowest FNMR with FMR <= 0.1%", "value": pct(n.fmr1000)},
                {"point": "ZeroFMR", "what": "lowest FNMR with no false match", "value": pct(n.zero_fmr)},
                {"point": "ZeroFNMR", "what": "lowest FMR with no false non-match", "value": pct(n.zero_fnmr)},
            ]
        ),
        hide_index=True,
        key="th_named",
    )
    if not n.exact:
        st.caption("Read at the curve's nearest exact point: within one bin of the exact value.")
    modelled(d, threshold)
    c = d.calibration
    st.markdown("**Calibration** (the distances as likelihood ratios)")
    m = st.columns(3)
    m[0].metric("Cllr, logistic", f"{c.cllr['logistic regression']:.4f} bits", help="0 perfect, 1 says nothing")
    m[1].metric("min Cllr", f"{c.min_cllr:.4f} bits", help="the best any monotone map of the distances reaches")
    m[2].metric("calibration loss", f"{c.cllr['logistic regression'] - c.min_cllr:.4f} bits")
    st.caption(
        f"Fitted on {c.fitted_on}, measured on {c.measured_on}: llr = {c.logistic[0]:.4g} + {c.logistic[1]:.4g} d."
    )


def modelled(d: Deployment, threshold: float) -> None:
    t = d.tail
    if t is None:
        st.caption(f"Modelled rates: none ({d.tail_note}).")
        return
    with st.expander("Modelled beyond the pairs (an extrapolation, not a count)", expanded=bool(d.modelled_targets)):
        st.caption(
            f"A generalized Pareto fit of the {t.k:,} smallest of {t.n:,} impostor distances (below {t.u:.5g}"
            f"{'; of their logarithm, as distances end at 0' if t.floor is not None else ''}; shape {t.xi:.3f}). "
            "Modelled, not counted: for a promise take the interval's safe end."
        )
        at = d.fmr_modelled_at(threshold)
        if at is not None:
            st.markdown(
                f"Modelled FMR at this threshold: **{at[0]:.3g}** (95% interval {at[1][0]:.3g} to {at[1][1]:.3g})."
            )
        if d.modelled_targets:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "FMR": f"{f:g}",
                            "modelled threshold": f"{th:.5g}",
                            "95% interval": f"{lo:.5g} to {hi:.5g}",
                            "FNMR there (counted)": f"{100 * fnmr:.3f}%",
                        }
                        for f, (th, (lo, hi), fnmr) in d.modelled_targets.items()
                    ]
                ),
                hide_index=True,
                key="th_modelled",
            )
        st.plotly_chart(plots.tail_qq(*t.qq(), log=t.floor is not None), key="th_tail_qq")
