"""Rename and delete a model with everything beside it (its run), from any view that lists them
(the runs history, Manage models): the questions asked, the checks made, the words used.

The file work is ``digitpad.client.run_files``; what this adds is what only the app knows:
which model is active (it cannot be deleted from under the app) and which engine is using
a file (a run writing it, a fine-tune reading it).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from digitpad.client.run_files import RunFileError, delete_run, name_problem, rename_run
from digitpad.core.paths import MODEL_SUFFIX, RunFiles, shipped_model_path

from .text import ask_text, message_box, warn


def _same(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def engine_using(engine_slot, model: Path) -> str | None:
    """What a running engine does with ``model`` (writing it, or fine-tuning from it), or None."""
    if engine_slot is None:
        return None
    for runner, activity in engine_slot.runners():
        if not runner.is_running():
            continue
        if _same(runner.state.out, model) or any(_same(Path(a), model) for a in runner.arguments
                                                  if a.endswith(MODEL_SUFFIX)):
            return activity
    return None


def change_blocker(model: Path, controller, engine_slot, deleting: bool) -> str | None:
    """Why ``model`` cannot be renamed (``deleting`` False) or deleted now, or None."""
    if _same(model, shipped_model_path()):
        return "The shipped model is part of the app; it cannot be renamed or deleted."
    if controller is not None and controller.library.models.resolve() != Path(model).resolve().parent:
        return "This model was opened from another folder; digitpad renames and deletes only its own models."
    if deleting and controller is not None and controller.predictor is not None \
            and _same(controller.predictor.path, model):
        return "This is the active model: choose another model first, then delete this one."
    busy = engine_using(engine_slot, model)
    if busy:
        return f"{busy[0].upper()}{busy[1:]} is using this model; wait until it has finished."
    return None


def ask_name(parent: QWidget, stem: str) -> str | None:
    """The new name the user typed, or None (cancelled)."""
    return ask_text(parent, "Rename model", f"New name for {stem} (its checkpoint and logs are renamed with it):",
                    stem)


def ask_rename(parent: QWidget, model: Path, controller=None) -> Path | None:
    """Ask for a new name and rename the run; the new model path, or None (cancelled or failed:
    the user was told why)."""
    files = RunFiles(Path(model))
    stem = ask_name(parent, files.stem)
    if stem is None:
        return None
    stem = stem.strip()
    if stem.lower().endswith(MODEL_SUFFIX):
        stem = stem[: -len(MODEL_SUFFIX)]
    if stem == files.stem:
        return None
    problem = name_problem(stem)
    try:
        if problem:
            raise RunFileError(problem)
        new = rename_run(files.model, stem)
    except RunFileError as e:
        warn(parent, "Rename model", f"Could not rename {files.stem}: {e}.")
        return None
    if controller is not None:
        if controller.predictor is not None and _same(controller.predictor.path, files.model):
            controller.load(new.model)        # the active model: follow it to its new name
        controller.refresh_library()
    return new.model


def confirm_delete(parent: QWidget, model: Path) -> bool:
    files = [p for p in RunFiles(Path(model)).all() if p.exists()]
    names = "".join(f"\n    • {p.name}" for p in files)
    box = message_box(parent, QMessageBox.Warning, "Delete model",
                      f"Delete {RunFiles(Path(model)).stem} and everything of its run?\n{names}\n\n"
                      f"This cannot be undone.", QMessageBox.Cancel)
    delete = box.addButton("Delete", QMessageBox.DestructiveRole)
    box.setDefaultButton(QMessageBox.Cancel)
    box.exec()
    return box.clickedButton() is delete


def ask_delete(parent: QWidget, model: Path, controller=None) -> bool:
    """Ask first (:func:`confirm_delete`), then remove every file of the run. True when it is gone."""
    if not confirm_delete(parent, model):
        return False
    try:
        delete_run(Path(model))
    except RunFileError as e:
        warn(parent, "Delete model", f"{e}.")
        return False
    if controller is not None:
        controller.refresh_library()
    return True
