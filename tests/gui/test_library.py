"""The model library from the window: the picker in the tab bar, Manage models (rename, delete,
never the active or the shipped model), and Help > About."""
from __future__ import annotations

from model_factory import make_model

from digitpad.core.paths import RunFiles, data_dir
from digitpad.gui import run_actions


def test_the_picker_is_in_the_tab_bar_on_every_tab(window):
    assert window.tabs.cornerWidget() is window.picker
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        assert window.picker.isVisible()


def test_manage_models_renames_and_deletes_with_the_runs_files(window, qtbot, private_data_dir, monkeypatch):
    models = private_data_dir / "models"
    mine = make_model(models / "mine.onnx", arch="mine-net")
    RunFiles(mine).checkpoint.write_bytes(b"ckpt")
    RunFiles(mine).run_log.write_text('{"model": "mine.onnx", "status": "completed"}')
    dialog = window.manage_models()
    qtbot.addWidget(dialog)
    names = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())]
    assert "mine" in names and any("(active)" in n for n in names)
    row = names.index("mine")
    dialog.table.selectRow(row)
    monkeypatch.setattr(run_actions, "ask_name", lambda parent, stem: "yours")
    dialog.rename_button.click()
    assert not mine.exists() and (models / "yours.onnx").is_file() and (models / "yours.ckpt.pt").is_file()
    assert '"yours.onnx"' in (models / "yours.run.json").read_text()
    combo = window.picker.combo
    assert any("yours" in combo.itemText(i) for i in range(combo.count()))      # the picker follows at once

    # the active model: renaming follows it, deleting is refused with the reason
    assert window.controller.load(models / "yours.onnx")
    row = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())].index("yours  (active)")
    dialog.table.selectRow(row)
    assert not dialog.delete_button.isEnabled() and "active model" in dialog.delete_button.toolTip()
    monkeypatch.setattr(run_actions, "ask_name", lambda parent, stem: "ours")
    dialog.rename_button.click()
    assert window.controller.predictor.path == models / "ours.onnx"
    assert "ours" in window.model_label.text()

    # another model active: now it can go, after the question
    window.controller.load(window.controller.library.entries()[0].path)       # the shipped model
    row = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())].index("ours")
    dialog.table.selectRow(row)
    asked = []
    monkeypatch.setattr(run_actions, "confirm_delete", lambda parent, model: asked.append(model) or False)
    dialog.delete_button.click()
    assert asked and (models / "ours.onnx").exists()                          # "Cancel" keeps it
    monkeypatch.setattr(run_actions, "confirm_delete", lambda parent, model: True)
    dialog.delete_button.click()
    assert not list(models.glob("ours*"))
    shipped = [dialog.table.item(i, 4).text() for i in range(dialog.table.rowCount())].index("shipped with the app")
    dialog.table.selectRow(shipped)
    assert not dialog.rename_button.isEnabled() and "part of the app" in dialog.rename_button.toolTip()
    dialog.close()


def test_about_says_version_data_folder_and_data_licences(window, qtbot):
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert "digitpad 0." in text and str(data_dir()) in text
    assert "MNIST" in text and "CC BY-SA 3.0" in text
    assert "UNIPEN project, International Unipen Foundation" in text and "CC BY 4.0" in text
    dialog.close()


def test_about_names_the_8x8_digits_and_their_licence(window, qtbot):
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert "optdigits" in text and "Alpaydin" in text and "10.24432/C50P49" in text
    assert text.count("CC BY 4.0") >= 2          # UNIPEN's and the UCI digits'
    dialog.close()


def test_a_model_opened_from_elsewhere_can_be_taken_off_the_list(window, qtbot, tmp_path):
    """Manage models: "Remove from list" for an opened file (the file stays), and a readable Where."""
    from digitpad.core.settings import SettingsStore

    (tmp_path / "downloads").mkdir()
    elsewhere = make_model(tmp_path / "downloads" / "theirs.onnx", arch="their-net")
    assert window.controller.load(elsewhere)
    dialog = window.manage_models()
    qtbot.addWidget(dialog)
    dialog.show()
    rows = {dialog.table.item(i, 0).text(): i for i in range(dialog.table.rowCount())}
    row = rows["theirs  (active)"]
    where = dialog.table.item(row, 4)
    assert where.text() == "opened from downloads"
    assert dialog.table.columnWidth(4) >= dialog.table.fontMetrics().horizontalAdvance(where.text())   # whole
    dialog.table.selectRow(row)
    assert not dialog.remove_button.isEnabled() and "active model" in dialog.remove_button.toolTip()
    window.controller.load(window.controller.library.entries()[0].path)      # the shipped model
    row = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())].index("theirs")
    dialog.table.selectRow(row)
    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    names = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())]
    assert "theirs" not in names and elsewhere.is_file()
    assert str(elsewhere) not in SettingsStore().values.opened_models
    assert not any("theirs" in window.picker.combo.itemText(i) for i in range(window.picker.combo.count()))
    shipped = names.index([n for n in names if "(active)" in n][0])
    dialog.table.selectRow(shipped)
    assert not dialog.remove_button.isEnabled()                              # listed from where it is
    dialog.close()
