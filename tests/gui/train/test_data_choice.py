"""Choosing the data in the Train tab: CIFAR-10 and a folder of the user's pictures, what was found
said at once (classes, counts, a damaged file, or why it cannot be used), colour samples per class,
archs and presets that follow the images, the engine's command line; and no message widens the page."""
from __future__ import annotations

import pytest
from picture_sets import write_cifar_folder, write_user_folder
from PySide6.QtWidgets import QLabel

from digitpad.client import commands
from digitpad.core.archs import ARCHS
from digitpad.core.contract import CIFAR10_CLASSES

PETS = ["cat", "dog", "fox"]


def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())   # what a user's pick sends


def _looked(tab, qtbot) -> None:
    """Wait for the tab's look at the data (a worker) to have been shown."""
    qtbot.waitUntil(lambda: not tab._look.isActive() and not tab.previews.busy(), timeout=20_000)
    qtbot.wait(20)


@pytest.fixture
def shown_tab(tab, qtbot, tmp_path, monkeypatch):
    """The tab on screen, without the engine processes a shown tab starts (the arch list, a warm engine):
    what is offered before the engine answers is the zoo's (core.archs)."""
    monkeypatch.setattr(tab, "_prewarm", lambda: None)
    monkeypatch.setattr(tab, "start_probes", lambda: None)
    tab.form.data.set_values(str(write_cifar_folder(tmp_path / "data")), False, "")
    tab.resize(1240, 640)
    tab.show()
    _looked(tab, qtbot)
    return tab


def test_cifar10_shows_its_classes_and_colour_samples_and_runs_the_engines_command(shown_tab, qtbot, tmp_path):
    tab, form = shown_tab, shown_tab.form
    _choose(form.dataset, "cifar10")
    _looked(tab, qtbot)
    assert tab.views.currentWidget() is tab.data_view                # the pick shows the data
    assert form.data.note.text() == "10 classes · 30 training and 23 test images."
    view = tab.data_view
    assert view.class_names() == CIFAR10_CLASSES and len(view.blocks.blocks) == 10
    pictures = [pic for pic in view.blocks.blocks[0].pictures if pic.isVisible()]
    assert pictures and not pictures[0].pixmap().toImage().isGrayscale()   # colour thumbnails
    # the archs offered take 32x32 RGB (the zoo's facts), and the one chosen is one of them
    offered = [form.arch.itemData(i) for i in range(form.arch.count())]
    assert offered == [n for n, a in ARCHS.items() if (a.size, a.channels) == (32, 3)]
    assert ARCHS[form.arch.currentData()].fits("cifar10") and form.fit_note.isHidden()
    s = form.settings()
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--dataset") + 1] == "cifar10" and args[args.index("--data-dir") + 1] == s.data_dir
    assert form.source_download.isEnabled()                           # torchvision downloads CIFAR-10
    form.source_download.setChecked(True)
    assert "--data-dir" not in commands.train_args(form.settings(), tmp_path / "m.onnx")


def test_an_image_folder_is_asked_for_and_what_was_found_is_said(shown_tab, qtbot, tmp_path):
    tab, form = shown_tab, shown_tab.form
    pets = write_user_folder(tmp_path / "pets", PETS, damaged="fox")
    asked = []
    form.data.ask_folder = lambda title, start: asked.append(title) or str(pets)
    _choose(form.dataset, "folder")
    assert asked and form.data.own.isVisible() and not form.data.shared.isVisible()
    _looked(tab, qtbot)
    note = form.data.note.text()
    assert note.startswith("3 classes · ") and "training and" in note and "broken.jpg" in note
    assert tab.data_view.class_names() == PETS
    assert "fox" in tab.data_view.blocks.blocks[2].title.text()
    s = form.settings()
    assert (s.dataset, s.image_folder) == ("folder", str(pets)) and ARCHS[s.arch].fits("folder")
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--dataset") + 1] == "folder" and args[args.index("--data-dir") + 1] == str(pets)
    # a folder that cannot be used: one line at once, and Start refuses with it
    form.data.image_dir.setText(str(pets / "cat"))
    form.data.image_dir.editingFinished.emit()
    _looked(tab, qtbot)
    assert "holds pictures but no class folders" in form.data.note.text()
    assert not tab.data_view.problem.isHidden() and tab.data_view.blocks.blocks == []
    assert not tab.start() and "no class folders" in form.problem_label.text()


def test_cancelling_the_folder_question_goes_back(shown_tab):
    form = shown_tab.form
    _choose(form.dataset, "fashion-mnist")
    form.data.ask_folder = lambda title, start: ""
    _choose(form.dataset, "folder")
    assert form.dataset.currentData() == "fashion-mnist" and form.data.shared.isVisible()


def test_the_8x8_digits_cannot_be_downloaded_and_say_so(shown_tab):
    form = shown_tab.form
    _choose(form.dataset, "optdigits")
    assert not form.source_download.isEnabled() and "cannot be downloaded" in form.source_download.toolTip()
    assert form.arch.currentData() in ("seed004", "optdigits")       # the engine's preset for them applied


def test_once_the_engine_has_answered_only_the_archs_it_builds_are_offered(shown_tab, qtbot):
    from digitpad.client.run_settings import KNOWN_ARCHS, ArchInfo

    form = shown_tab.form
    _choose(form.dataset, "cifar10")
    assert form.arch.currentData() == "cifar10"      # the cifar10 preset's arch
    built = [a for a in KNOWN_ARCHS if a.name != "cifar10"]      # an engine that does not build it
    form.set_archs([*built, ArchInfo("quick32", 90_000, "32x32 RGB: a quick one")])
    offered = [form.arch.itemData(i) for i in range(form.arch.count())]
    assert "cifar10" not in offered[:-1] and offered[-1] == "cifar10"   # kept only while chosen: said not to run
    assert not shown_tab.start() and "unknown architecture 'cifar10'" in form.problem_label.text()


def test_presets_follow_the_data_set(qtbot, controller, monkeypatch, tmp_path):
    """A preset the engine adds for CIFAR-10 is applied when CIFAR-10 is chosen, and a folder of photos
    keeps it with the folder as its data."""
    from digitpad.gui.train import TrainingTab
    from training import config

    monkeypatch.setitem(config.PRESETS, "cifar10", ("photos, quick", dict(arch="seed003", dataset="cifar10",
                                                                           epochs=4, batch_size=256, lr=0.01)))
    tab = TrainingTab(controller)
    qtbot.addWidget(tab)
    form = tab.form
    _choose(form.dataset, "cifar10")
    assert form.preset.currentData() == "cifar10" and (form.epochs.value(), form.batch.value()) == (4, 256)
    pets = write_user_folder(tmp_path / "pets", PETS)
    form.data.ask_folder = lambda title, start: str(pets)
    _choose(form.dataset, "folder")
    s = form.settings()
    assert s.dataset == "folder" and s.epochs == 4 and s.base() == "cifar10"
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--preset") + 1] == "cifar10" and args[args.index("--dataset") + 1] == "folder"
    _choose(form.dataset, "mnist")                                    # back to digits: a digits network
    assert ARCHS[form.arch.currentData()].fits("mnist")


def test_a_long_message_wraps_instead_of_widening_the_page(shown_tab, qtbot, tmp_path):
    tab, form = shown_tab, shown_tab.form
    deep = tmp_path.joinpath(*[f"a-folder-with-a-long-name-{i}" for i in range(8)])
    deep.mkdir(parents=True)
    wide_before = tab.minimumSizeHint().width()
    form.data.ask_folder = lambda title, start: str(deep)
    _choose(form.dataset, "folder")
    _looked(tab, qtbot)
    assert str(deep.name) in form.data.note.text().replace("\u200b", "")
    assert form.width() == 380 and tab.minimumSizeHint().width() <= wide_before
    for label in (*form.findChildren(QLabel), *tab.data_view.findChildren(QLabel)):
        if label.isVisible() and label.wordWrap():
            assert label.minimumSizeHint().width() <= 380, label.text()
