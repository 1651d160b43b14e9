"""A model's test images a page at a time (core.image_strip): which set belongs to which model, where it
is looked for and what is said when it is nowhere, pages with the model's answers, classes in turn."""
from __future__ import annotations

import numpy as np
import pytest
from model_factory import make_colour_model, make_fashion_model, make_model
from pictures import write_cifar_folder

from digitpad.core import evaluation
from digitpad.core.background import Task
from digitpad.core.contract import CIFAR10_CLASSES
from digitpad.core.image_strip import choose_test_set, mixed_order, strip_page
from digitpad.core.inference import Predictor
from digitpad.core.paths import datasets_dir


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    return Predictor(make_colour_model(tmp_path_factory.mktemp("c") / "colour.onnx"))


def test_each_model_gets_its_test_set_and_the_folders_to_look_in(colour, tmp_path, random_model):
    fashion = Predictor(make_fashion_model(tmp_path / "fashion.onnx"))
    digits = Predictor(random_model)
    grey32 = Predictor(make_model(tmp_path / "grey32.onnx", metadata=False, input_shape=("N", 1, 32, 32)))
    assert choose_test_set(colour, tmp_path).dataset == "cifar10"
    assert choose_test_set(fashion, None).dataset == "fashion-mnist"
    assert choose_test_set(digits, None).dataset == "mnist"
    assert choose_test_set(grey32, None) is None        # no built-in set of 32x32 grey images
    choice = choose_test_set(colour, tmp_path)
    assert choice.candidates == (tmp_path, datasets_dir()) and choice.find() is None
    assert choice.not_found() == (f"No CIFAR-10 test set found: looked in {tmp_path}, {datasets_dir()} for "
                                  "cifar-10-batches-py/ or cifar10/test/<class>/.")
    write_cifar_folder(tmp_path)
    assert choice.find() == tmp_path


def test_classes_take_turns():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    order = mixed_order(labels)
    assert sorted(order) == list(range(9))
    assert list(labels[order]) == [0, 1, 2, 0, 1, 2, 0, 2, 2]


def test_a_page_is_canonical_images_with_the_models_answers(colour, tmp_path):
    write_cifar_folder(tmp_path, per_class=2)
    sets = evaluation.TestSets()
    page = strip_page(Task(), colour, tmp_path, "cifar10", sets, start=0, count=12)
    assert (page.size, page.matching, page.start, page.end) == (20, 20, 0, 12)
    assert page.images.shape == (12, 3, 32, 32) and page.images.dtype == np.float32
    assert list(page.labels[:10]) == list(range(10)) and page.label_names == CIFAR10_CLASSES
    test = sets.get(tmp_path, "cifar10")
    assert np.array_equal(page.images, colour.input.from_rows(test.images[page.indices]))
    assert np.allclose(page.probs, colour.predict_batch(page.images))
    cats = strip_page(Task(), colour, tmp_path, "cifar10", sets, start=1, count=5, label=3)
    assert cats.matching == 2 and list(cats.labels) == [3] and cats.start == 1


def test_a_set_that_is_not_the_models_is_refused_in_words(tmp_path, random_model, mnist_dir):
    digits = Predictor(random_model)
    write_cifar_folder(tmp_path)
    with pytest.raises(evaluation.TestSetError, match="takes 28x28 input; the cifar10 test set holds 32x32 colour"):
        strip_page(Task(), digits, tmp_path, "cifar10", evaluation.TestSets())


def test_a_superseded_page_is_dropped(colour, tmp_path):
    write_cifar_folder(tmp_path, per_class=1)
    task = Task()
    task.cancel()
    assert strip_page(task, colour, tmp_path, "cifar10", evaluation.TestSets()) is None


def test_a_model_of_the_users_pictures_looks_where_it_was_trained(tmp_path):
    import json

    import onnx
    from model_factory import make_model

    from digitpad.core.contract import METADATA_KEY

    path = make_model(tmp_path / "mine.onnx", dataset="cifar10", input_shape=("N", 3, 32, 32))
    model = onnx.load(str(path))
    prop = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    meta = json.loads(prop.value)
    meta.update(dataset="folder", training={"config": {"data_dir": str(tmp_path / "my-pictures")}})
    prop.value = json.dumps(meta)
    onnx.save(model, str(path))
    choice = choose_test_set(Predictor(path), tmp_path / "shared")
    assert choice.dataset == "folder" and choice.candidates == (tmp_path / "my-pictures",)
    assert "No image folder test set found: looked in" in choice.not_found()
