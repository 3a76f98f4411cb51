"""Visitors' text is shown as text: a label that is Markdown never becomes an image or a link."""

from conftest import open_page

from explorer.ui.safe import plain

TRACK = "![t](http://127.0.0.1:9/track.png)"


def test_plain_escapes_what_markdown_and_streamlit_read():
    assert plain(TRACK) == r"\!\[t\](http://127.0.0.1:9/track.png)"  # no image: the brackets are text
    assert plain(":red[x] $y$ *b*") == r"\:red\[x\] \$y\$ \*b\*"
    assert plain("1. first") == r"1\. first" and plain("# h") == r"\# h" and plain("a\nb") == "a b"
    assert plain("blank.png: no face found (200 x 200 px).") == "blank.png: no face found (200 x 200 px)."


def _rendered(at) -> list[str]:
    """Every text the page renders through Markdown."""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    out += [e.value for e in at.error] + [i.value for i in at.info] + [m.label for m in at.metric]
    return out


def test_a_markdown_label_is_shown_as_written_on_the_data_page():
    at = open_page("app_pages/data_model.py")
    rows = [f"{TRACK if k == 0 else 'p' + str(k % 3)},{k},{k * 2}" for k in range(12)]
    at.radio(key="dm_source").set_value("Vector table").run()
    at.file_uploader[0].upload("t.csv", ("label,x,y\n" + "\n".join(rows)).encode(), "text/csv")
    at.run()
    at.button(key="dm_go").click().run()
    assert not at.exception
    assert TRACK in at.session_state["workspace"].dataset.labels  # kept as written
    texts = _rendered(at)
    assert any(plain(TRACK) in t for t in texts)  # the single-item class is named, escaped
    assert not any(TRACK in t for t in texts)


def test_csv_exports_open_as_data_in_a_spreadsheet():
    import io

    import pandas as pd

    from explorer.fileio import csv_bytes

    frame = pd.DataFrame({"label": ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(A1)", "ann"], "d": [-1.5, 2, 3, 4, 5]})
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)))
    assert back["label"].tolist() == ["'=cmd|' /C calc'!A0", "'+1", "'-x", "'@SUM(A1)", "ann"]
    assert back["d"].tolist() == [-1.5, 2, 3, 4, 5]  # numbers stay numbers


def test_an_unexpected_error_says_what_to_do_and_the_session_goes_on():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from explorer.ui.guard import run_page

        class Broken:
            title = "broken"

            def run(self):
                raise KeyError("boom")

        st.session_state["kept"] = st.session_state.get("kept", 0) + 1
        run_page(Broken())
        st.write("still here")

    at = AppTest.from_function(script)
    at.run()
    assert not at.exception
    assert "did not expect (KeyError)" in at.error[0].value and "workspace is kept" in at.error[0].value
    assert at.markdown[-1].value == "still here"
