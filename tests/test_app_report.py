"""AppTest of the Report page on the bundled digits: the figures it shows are the library's, and
the threshold picked on the Threshold page is the report's."""

import pytest
from conftest import open_page

from explorer.evaluation import ThresholdChoice, evaluate


@pytest.fixture(scope="module")
def page():
    return open_page("app_pages/report.py")


def _m(at):
    return {m.label: m.value for m in at.metric}


def test_the_report_is_the_librarys_evaluation(page):
    assert not page.metric  # nothing is computed before the button
    page.button(key="rp_go").click().run()
    assert not page.exception, page.exception
    emb = page.session_state["workspace"].embeddings
    want = evaluate(emb, metric=page.selectbox(key="rp_metric").value, choice=ThresholdChoice("EER"))
    m = _m(page)
    assert m["ROC AUC"] == f"{want.verification.head.auc:.6f}"
    assert m["Threshold"] == f"{want.verification.result.threshold:.5g}"
    assert m["MAP@R"] == f"{want.retrieval.map_at_r:.4f}"
    assert {b.label for b in page.get("download_button")} >= {"Download the report (HTML)", "Download (JSON)"}


def test_a_target_far_and_the_threshold_pages_pick(page):
    page.radio(key="rp_how").set_value("At a target FAR").run()
    page.number_input(key="rp_far").set_value(1e-3).run()
    page.button(key="rp_go").click().run()
    assert not page.exception, page.exception
    emb = page.session_state["workspace"].embeddings
    want = evaluate(emb, metric=page.selectbox(key="rp_metric").value, choice=ThresholdChoice("target FAR", 1e-3))
    assert _m(page)["Threshold"] == f"{want.verification.result.threshold:.5g}"
    page.switch_page("app_pages/threshold.py").run()
    page.selectbox(key="th_by").set_value("EER").run()
    picked = page.session_state["th_picked"]
    page.switch_page("app_pages/report.py").run()
    assert not page.exception, page.exception
    assert page.radio(key="rp_how").options[0].startswith("As picked on the Threshold page")
    page.radio(key="rp_how").set_value("As picked on the Threshold page").run()
    page.button(key="rp_go").click().run()
    assert _m(page)["Threshold"] == f"{picked['threshold']:.5g}"


def test_bad_target_says_why_and_keeps_the_workspace(page):
    page.radio(key="rp_how").set_value("At a target FAR").run()
    page.number_input(key="rp_far").set_value(1e-7).run()  # 1.45 million impostor pairs: below one
    page.button(key="rp_go").click().run()
    assert not page.exception
    assert any("cannot be measured" in e.value for e in page.error)
    assert page.session_state["workspace"] is not None


def test_the_report_proves_its_threshold_on_held_out_people_when_asked():
    from explorer.report import card_markdown

    page = open_page("app_pages/report.py")
    page.number_input(key="rp_held_out").set_value(2).run()
    page.button(key="rp_go").click().run()
    assert not page.exception, page.exception
    emb = page.session_state["workspace"].embeddings
    want = evaluate(emb, metric=page.selectbox(key="rp_metric").value, choice=ThresholdChoice("EER"), held_out=2)
    card = want.verification.card
    assert card["held_out_people"]["estimates"] == 4
    shown = [m.value for m in page.markdown if "On held-out people" in m.value]
    assert shown and card_markdown(card).split("## On held-out people")[1].split("##")[0].strip() in shown[0]


def test_a_groups_file_puts_false_matches_between_groups_in_the_report():
    page = open_page("app_pages/report.py")
    rows = "label,group\n" + "\n".join(f"{k},{'low' if k < 5 else 'high'}" for k in range(10))
    page.file_uploader(key="rp_groups_file").upload("groups.csv", rows.encode(), "text/csv")
    page.run()
    page.button(key="rp_go").click().run()
    assert not page.exception, page.exception
    emb = page.session_state["workspace"].embeddings
    mapping = {str(k): "low" if k < 5 else "high" for k in range(10)}
    want = evaluate(emb, metric=page.selectbox(key="rp_metric").value, choice=ThresholdChoice("EER"), groups=mapping)
    cells = want.verification.card["between_groups"]["cells"]
    shown = " ".join(m.value for m in page.markdown)
    assert "Between groups" in shown and "| FMR | high | low |" in shown
    assert len(cells) == 3
