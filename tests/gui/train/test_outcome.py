"""The Train tab as a run ends, and before one starts (issue 22): a failed download says what to do in
the form's terms, no message makes the page wider than the window, a model ready leaves the charts
their height, SGD is named as it will train, and Start checks the data folder first."""
from __future__ import annotations

import pytest
from windows import open_window

from digitpad.client.run_settings import RunSettings

LONG = "/home/someone/.local/share/digitpad/datasets/MNIST/raw/train-images-idx3-ubyte.gz"


@pytest.fixture
def train_window(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    w.tabs.setCurrentWidget(w.training)
    qtbot.wait(50)
    yield w
    w.close()


def _page_width_problem(w) -> str:
    area = w.tabs.area(w.tabs.currentIndex())
    need, has = area.needed().width(), area.viewport().width()
    return f"the page needs {need} px, the window gives {has}" if need > has else ""


def _finished_run(tab, tmp_path, exported: bool):
    st = tab.runner.state
    st.history = [{"epoch": e, "train_loss": 0.5 / e, "test_loss": 0.4 / e, "test_accuracy": 0.9 + e / 100,
                   "train_accuracy": 0.9, "lr": 0.001, "elapsed_s": e * 10.0} for e in (1, 2, 3)]
    st.steps = list(range(1, 200))
    st.losses, st.lrs, st.times = [1.0 / s for s in st.steps], [1e-3] * 199, [s * 0.1 for s in st.steps]
    st.total_steps, st.step, st.epoch, st.epochs = 200, 199, 3, 3
    tab.live.show_state(st)
    if exported:
        st.exported = tmp_path / "digitpad-s-mnist-20261123-151004-a-rather-long-name-somebody-typed.onnx"
        st.exported.write_bytes(b"not read")
        st.metrics = {"test_accuracy": 0.9912}


def test_a_failed_download_says_what_to_do_in_the_forms_terms(train_window, qtbot, tmp_path):
    """No network: the error widened the page to 2.5 times the window and said "pass --data-dir"."""
    w = train_window
    tab = w.training
    _finished_run(tab, tmp_path, exported=False)
    reason = "<urlopen error [Errno -3] Temporary failure in name resolution>"
    tab.runner.state.feed({"event": "error", "kind": "download", "reason": reason,
                           "message": f"could not download mnist into {LONG} ({reason}); pass --data-dir with local "
                                      "IDX files"})
    tab.runner.state.stderr_tail.extend([f"Downloading https://ossci-datasets.s3.amazonaws.com{LONG} to {LONG}",
                                         f"Failed to download (trying next): {reason}"])
    tab._finished("failed")
    qtbot.wait(50)
    text = tab.live.result.text()
    assert "Could not download MNIST" in text and "<b>Local folder</b>" in text and "--data-dir" not in text
    assert "Temporary failure in name resolution" in text.replace("&lt;", "<")
    assert not _page_width_problem(w)


def test_no_message_makes_a_page_wider_than_the_window(train_window, qtbot, tmp_path):
    """The rule for long text, on every tab: any wrapped label given a message with a long unbroken run
    (a path, a URL) leaves its page no wider than the window."""
    from PySide6.QtWidgets import QLabel

    w = train_window
    message = "A long message: " + LONG * 3 + " and " + "x" * 180 + " then words."
    problems = []
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        qtbot.wait(30)
        page = w.tabs.widget(i)
        labels = [lab for lab in page.findChildren(QLabel) if lab.isVisible() and lab.wordWrap()]
        assert labels, w.tabs.tabText(i)
        for lab in labels:
            lab.setText(message)
        qtbot.wait(50)
        found = _page_width_problem(w)
        if found:
            problems.append(f"{w.tabs.tabText(i)}: {found}")
    assert not problems, problems


def test_a_model_ready_leaves_the_charts_their_height(train_window, qtbot, tmp_path):
    """The "Model ready" box squashed the charts until their axis labels piled up."""
    w = train_window
    tab = w.training
    _finished_run(tab, tmp_path, exported=True)
    tab._finished("completed")
    qtbot.wait(80)
    assert "Model ready" in tab.live.result.text() and not tab.live.progress_text.isVisible()
    for key, plot in tab.live.curves.plots.items():
        assert plot.item.vb.height() >= 50, f"{key}: {plot.item.vb.height():.0f} px"
    assert not _page_width_problem(w)


def test_sgd_is_named_as_it_will_train(tab):
    """seed004's plain SGD was called "Nesterov momentum"."""
    form = tab.form
    form.set_settings(RunSettings.from_preset("seed004"))
    sgd = form.optimizer.findData("sgd")
    assert form.optimizer.currentIndex() == sgd and form.optimizer.itemText(sgd) == "SGD, plain (no momentum)"
    form.set_settings(RunSettings.from_preset("fast"))
    form.optimizer.setCurrentIndex(sgd)
    assert form.optimizer.itemText(sgd) == "SGD (Nesterov momentum 0.9)"


def test_start_checks_the_data_folder_first(tab, tmp_path):
    """A local folder without the data set: Start says so, no engine is started."""
    s = RunSettings.from_preset("fast")
    s.download, s.data_dir = False, str(tmp_path)
    tab.form.set_settings(s)
    assert not tab.start() and not tab.runner.is_running()
    text = tab.form.problem_label.text()
    assert f"no MNIST in {tmp_path}" in text and "MNIST/raw/" in text and "Download it" in text
