"""Retrain without training: the decision rule, the progress parser, the model folder's life cycle, the run's
status and lock, and a whole run with a fake candidate, fake scores and a fake Rasa."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.trainer import progress, retrain, runs
from bot.trainer.evaluate import Metrics
from bot.trainer.model_files import ModelStore, NoPreviousModel
from bot.trainer.retrain import Run, decide
from tests.trainer.conftest import FakeRasa, fake_model

pytestmark = pytest.mark.usefixtures("runs_in_tmp")

# -- decision rule ------------------------------------------------------------------------------------------

LIVE = {"accuracy": 0.962, "macro_f1": 0.961}


@pytest.mark.parametrize(("after", "accept"), [
    ({"accuracy": 0.970, "macro_f1": 0.965}, True),   # better
    ({"accuracy": 0.962, "macro_f1": 0.961}, True),   # same
    ({"accuracy": 0.957, "macro_f1": 0.955}, True),   # one example worse: within the tolerance
    ({"accuracy": 0.951, "macro_f1": 0.961}, False),  # accuracy two examples worse
    ({"accuracy": 0.980, "macro_f1": 0.940}, False),  # macro-F1 worse, even though accuracy is better
])
def test_accepts_a_candidate_only_if_neither_score_is_worse_beyond_the_tolerance(after: dict, accept: bool) -> None:
    decision = decide(LIVE, after)
    assert decision.accept is accept
    assert decision.reason.startswith("worse") is not accept


def test_tolerance_zero_rejects_any_loss_and_force_accepts_anyway() -> None:
    slightly_worse = {"accuracy": 0.957, "macro_f1": 0.961}
    assert not decide(LIVE, slightly_worse, tolerance=0).accept
    forced = decide(LIVE, slightly_worse, tolerance=0, force=True)
    assert forced.accept and forced.reason.startswith("forced")


def test_without_a_live_model_the_candidate_is_accepted() -> None:
    assert decide(None, {"accuracy": 0.5, "macro_f1": 0.5}).accept


# -- progress parser ----------------------------------------------------------------------------------------

COMPONENTS = ["JiebaTokenizer", "CountVectorsFeaturizer", "DIETClassifier", "TEDPolicy"]
HOOK = "2026-11-23 12:15:03 INFO     rasa.engine.training.hooks  - "


def epochs(done: int, of: int) -> str:
    return f"\rEpochs:  {100 * done // of}%|███       | {done}/{of} [00:20<01:00, 2.0s/it, t_loss=2.5, i_acc=0.9]"


def test_progress_before_training_is_validation() -> None:
    step = progress.parse("INFO rasa.cli.train  - Started validating domain and training data...\n", COMPONENTS)
    assert step == progress.Progress(0.0, "validating the training data")


def test_progress_counts_components_and_epochs_weighted_by_typical_time() -> None:
    log = (f"{HOOK}Starting to train component 'JiebaTokenizer'.\n{HOOK}Finished training component 'JiebaTokenizer'.\n"
           f"{HOOK}Restored component 'CountVectorsFeaturizer' from cache.\n"
           f"{HOOK}Starting to train component 'DIETClassifier'.\n" + epochs(1, 50) + epochs(25, 50))
    step = progress.parse(log, COMPONENTS)
    assert step.phase == "training DIETClassifier, epoch 25/50 (2 of 4 components trained)"
    total = 1 + 1 + progress.TYPICAL_SECONDS["DIETClassifier"] + progress.TYPICAL_SECONDS["TEDPolicy"]
    assert step.percent == pytest.approx(100 * (2 + 0.5 * progress.TYPICAL_SECONDS["DIETClassifier"]) / total, abs=0.1)


def test_epoch_bars_of_a_finished_component_do_not_count_for_the_next() -> None:
    log = (f"{HOOK}Starting to train component 'DIETClassifier'.\n" + epochs(50, 50) +
           f"\n{HOOK}Finished training component 'DIETClassifier'.\n{HOOK}Starting to train component 'TEDPolicy'.\n")
    assert progress.parse(log, COMPONENTS).phase == "training TEDPolicy (1 of 4 components trained)"


def test_progress_is_complete_only_when_the_model_is_saved() -> None:
    log = "".join(f"{HOOK}Finished training component '{c}'.\n" for c in COMPONENTS)
    assert progress.parse(log, COMPONENTS) == progress.Progress(99.0, "saving the model")
    saved = log + "Your Rasa model is trained and saved at 'models/candidates/x.tar.gz'.\n"
    assert progress.parse(saved, COMPONENTS) == progress.Progress(100.0, "model saved")


def test_components_come_from_the_project_config() -> None:
    names = progress.components_of(Path(__file__).resolve().parents[2] / "config.yml")
    assert names[0] == "TextNormaliserComponent" and names[1] == "JiebaTokenizer"
    assert "RuleEntityExtractor" in names and "LinearIntentClassifier" in names and "RulePolicy" in names
    assert "FallbackClassifier" not in names  # it has no training step, the log never mentions it


# -- model folder life cycle --------------------------------------------------------------------------------

def names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_install_makes_the_candidate_the_newest_and_prune_keeps_three(model_store: ModelStore) -> None:
    candidate = fake_model(model_store.candidates, "d.tar.gz", age_s=1000)  # older file time than every live model
    installed = model_store.install(candidate)
    assert model_store.newest() == installed and not candidate.exists()
    assert names(model_store.prune(live="d.tar.gz")) == ["a.tar.gz"]
    assert names(model_store.installed()) == ["d.tar.gz", "c.tar.gz", "b.tar.gz"]


def test_prune_never_deletes_the_live_model(model_store: ModelStore) -> None:
    fake_model(model_store.root, "d.tar.gz", age_s=50)
    model_store.prune(live="a.tar.gz")  # a Rasa still running on the oldest model
    assert names(model_store.installed()) == ["d.tar.gz", "c.tar.gz", "b.tar.gz", "a.tar.gz"]


def test_rejected_models_leave_models_and_are_kept_for_inspection(model_store: ModelStore) -> None:
    for i in range(5):
        model_store.reject(fake_model(model_store.candidates, f"cand{i}.tar.gz", age_s=100 - i))
    assert model_store.newest().name == "c.tar.gz"
    assert names(sorted(model_store.rejected.iterdir())) == ["cand2.tar.gz", "cand3.tar.gz", "cand4.tar.gz"]


def test_rollback_loads_the_previous_model_and_moves_the_current_out(model_store: ModelStore) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    result = retrain.rollback(store=model_store, rasa=rasa)
    assert result["live_model"] == "b.tar.gz" and result["removed"] == "c.tar.gz" and result["loaded"]
    assert rasa.loads == ["b.tar.gz"]
    assert model_store.newest().name == "b.tar.gz"  # a restarted Rasa loads the same model
    assert (model_store.rejected / "c.tar.gz").exists()


def test_rollback_without_rasa_only_changes_the_folder(model_store: ModelStore) -> None:
    result = retrain.rollback(store=model_store, rasa=FakeRasa(live=None))
    assert result == {"live_model": "b.tar.gz", "removed": "c.tar.gz", "loaded": False, "load_s": None}
    assert names(model_store.installed()) == ["b.tar.gz", "a.tar.gz"]


def test_rollback_needs_a_previous_model(tmp_path: Path) -> None:
    only = ModelStore(tmp_path / "m")
    fake_model(only.root, "a.tar.gz")
    with pytest.raises(NoPreviousModel):
        retrain.rollback(store=only, rasa=FakeRasa(live="a.tar.gz"))


def test_a_failed_load_during_rollback_changes_nothing(model_store: ModelStore) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    rasa.fail = True
    with pytest.raises(retrain.ReloadFailed):
        retrain.rollback(store=model_store, rasa=rasa)
    assert names(model_store.installed()) == ["c.tar.gz", "b.tar.gz", "a.tar.gz"]


# -- status files and the lock ------------------------------------------------------------------------------

def test_one_run_at_a_time(model_store: ModelStore) -> None:
    fd = runs.acquire_lock()
    try:
        with pytest.raises(runs.RetrainBusy):
            retrain.start_retrain()
        with pytest.raises(runs.RetrainBusy):
            retrain.rollback(store=model_store, rasa=FakeRasa(live="c.tar.gz"))
    finally:
        os.close(fd)
    assert not runs.lock_is_held()


def test_a_run_whose_process_died_reads_as_failed(runs_in_tmp: Path) -> None:
    runs.write_status({"run_id": "r1", "state": "training", "phase": "training DIETClassifier"})
    assert runs.read_status("r1")["state"] == "failed"
    fd = runs.acquire_lock()  # while a process holds the lock, the run is believed
    try:
        assert runs.read_status("r1")["state"] == "training"
    finally:
        os.close(fd)
    assert not list(runs_in_tmp.glob("*.tmp"))  # written atomically, no leftovers


def test_unknown_or_malformed_run_ids_have_no_status() -> None:
    assert runs.read_status("nope") is None
    assert runs.read_status("../../etc/passwd") is None
    assert runs.latest_status() is None


# -- a whole run, with a fake candidate, fake scores and a fake Rasa ----------------------------------------

def metrics(accuracy: float, macro_f1: float) -> Metrics:
    return Metrics(results_dir=Path("."), accuracy=accuracy, macro_f1=macro_f1, weighted_f1=macro_f1, examples=185,
                   per_intent={"inform": {"f1": macro_f1}, "greet": {"f1": 1.0}})


@pytest.fixture
def fake_run(model_store: ModelStore, monkeypatch: pytest.MonkeyPatch):
    """A Run whose training makes d.tar.gz and whose evaluation returns the given scores per model."""
    def make(scores: dict[str, Metrics], rasa: FakeRasa) -> Run:
        # "<model>@unseen" gives a model's unseen-set score; without one it scores the same on both sets
        monkeypatch.setattr(retrain, "evaluate_model", lambda model, test_set=None: scores.get(
            f"{model.name}@unseen" if test_set else model.name, scores[model.name]))
        monkeypatch.setattr(retrain.fold, "fold_score", lambda: {"accuracy": 0.9, "macro_f1": 0.9})
        run = Run("r1", store=model_store, rasa=rasa, tolerance=retrain.DEFAULT_TOLERANCE, force=False)
        monkeypatch.setattr(run, "train", lambda: fake_model(model_store.candidates, "d.tar.gz"))
        return run
    return make


def test_a_better_candidate_goes_live_and_the_previous_stays_for_rollback(model_store: ModelStore, fake_run) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    status = fake_run({"c.tar.gz": metrics(0.95, 0.94), "d.tar.gz": metrics(0.97, 0.96)}, rasa).execute()
    assert status["state"] == "accepted" and status["loaded"] and status["percent"] == 100.0
    assert status["before"] == {"accuracy": 0.95, "macro_f1": 0.94}
    assert status["after"] == {"accuracy": 0.97, "macro_f1": 0.96}
    assert status["changes"] == [{"intent": "inform", "before": 0.94, "after": 0.96}]
    assert rasa.loads == ["d.tar.gz"]
    assert names(model_store.installed()) == ["d.tar.gz", "c.tar.gz", "b.tar.gz"]
    assert json.loads((runs.runs_dir() / "r1.json").read_text())["state"] == "accepted"
    assert status["finished_at"] and "eval_live_s" in status["timings"]


def test_a_candidate_worse_on_the_unseen_set_is_rejected(model_store: ModelStore, fake_run) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    status = fake_run({"c.tar.gz": metrics(0.95, 0.95), "d.tar.gz": metrics(0.98, 0.98),
                       "c.tar.gz@unseen": metrics(0.92, 0.92), "d.tar.gz@unseen": metrics(0.88, 0.90)}, rasa).execute()
    assert status["state"] == "rejected" and status["reason"].startswith("worse than the live model: unseen")
    assert status["before_unseen"] == {"accuracy": 0.92, "macro_f1": 0.92}
    assert status["after_unseen"] == {"accuracy": 0.88, "macro_f1": 0.9}
    assert rasa.loads == [] and rasa.live == "c.tar.gz"


def test_a_candidate_worse_on_the_cv_fold_than_its_live_model_was_is_rejected(
        model_store: ModelStore, fake_run) -> None:
    retrain.fold.record("c.tar.gz", {"accuracy": 0.95, "macro_f1": 0.95})  # c's data predicted itself better
    status = fake_run({"c.tar.gz": metrics(0.95, 0.95), "d.tar.gz": metrics(0.95, 0.95)},
                      FakeRasa(live="c.tar.gz")).execute()
    assert status["state"] == "rejected" and "CV fold" in status["reason"]
    assert status["before_fold"] == {"accuracy": 0.95, "macro_f1": 0.95} and retrain.fold.recorded("d.tar.gz")


def test_the_fold_scores_the_project_data_in_seconds() -> None:
    from bot.trainer.fold import fold_score

    score = fold_score()
    assert 0.8 < score["accuracy"] <= 1.0 and 0.8 < score["macro_f1"] <= 1.0


def test_a_worse_candidate_is_rejected_and_the_live_model_stays(model_store: ModelStore, fake_run) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    status = fake_run({"c.tar.gz": metrics(0.96, 0.96), "d.tar.gz": metrics(0.90, 0.96)}, rasa).execute()
    assert status["state"] == "rejected" and "accuracy 0.900 < 0.960" in status["reason"]
    assert rasa.loads == [] and rasa.live == "c.tar.gz"
    assert model_store.newest().name == "c.tar.gz" and (model_store.rejected / "d.tar.gz").exists()


def test_without_rasa_the_candidate_is_compared_with_the_newest(model_store: ModelStore, fake_run) -> None:
    status = fake_run({"c.tar.gz": metrics(0.96, 0.96), "d.tar.gz": metrics(0.96, 0.96)}, FakeRasa(None)).execute()
    assert status["state"] == "accepted" and status["live_model"] == "c.tar.gz" and not status["loaded"]
    assert model_store.newest().name == "d.tar.gz"


def test_a_candidate_rasa_cannot_load_is_taken_out_again(model_store: ModelStore, fake_run) -> None:
    rasa = FakeRasa(live="c.tar.gz")
    rasa.fail = True
    status = fake_run({"c.tar.gz": metrics(0.96, 0.96), "d.tar.gz": metrics(0.97, 0.97)}, rasa).execute()
    assert status["state"] == "failed" and "PUT /model" in status["error"]
    assert model_store.newest().name == "c.tar.gz"  # the newest model is still the live one
    assert (model_store.rejected / "d.tar.gz").exists()


# -- bin/setup's model step: the same gate, and models/ only through the ModelStore -------------------------

@pytest.fixture
def setup_run(monkeypatch: pytest.MonkeyPatch):
    """setup_model with a fake training (e<n>.tar.gz), fake scores per model and project inputs given by the test."""
    project = {"inputs": "v1", "trained": 0}

    def train(run: Run) -> Path:
        project["trained"] += 1
        return fake_model(run.store.candidates, f"e{project['trained']}.tar.gz")

    def make(store: ModelStore, scores: dict[str, Metrics], rasa: FakeRasa) -> dict:
        monkeypatch.setattr(retrain, "training_inputs", lambda: project["inputs"])
        monkeypatch.setattr(Run, "train", train)
        monkeypatch.setattr(retrain, "evaluate_model", lambda model, test_set=None: scores[model.name])
        monkeypatch.setattr(retrain.fold, "fold_score", lambda: {"accuracy": 0.9, "macro_f1": 0.9})
        return retrain.setup_model(store=store, rasa=rasa)
    return make, project


def test_setup_on_a_fresh_clone_makes_the_first_model_live_without_evaluating(tmp_path: Path, setup_run) -> None:
    make, project = setup_run
    store = ModelStore(tmp_path / "models")
    status = make(store, {}, FakeRasa(None))  # no scores: evaluating would fail
    assert status["state"] == "accepted" and status["reason"] == "no live model to compare with"
    assert names(store.installed()) == ["e1.tar.gz"] and store.trained_from("e1.tar.gz") == "v1"
    assert make(store, {}, FakeRasa(None)) == {"state": "up_to_date", "live_model": "e1.tar.gz"}
    assert project["trained"] == 1


def test_setup_never_replaces_the_live_model_with_a_worse_one(model_store: ModelStore, setup_run) -> None:
    make, project = setup_run
    scores = {"c.tar.gz": metrics(0.96, 0.96), "e1.tar.gz": metrics(0.90, 0.90)}
    status = make(model_store, scores, FakeRasa(None))  # c has no record: trained before the store kept them
    assert status["state"] == "rejected" and model_store.newest().name == "c.tar.gz"
    again = make(model_store, scores, FakeRasa(None))  # the same inputs are not trained against c again
    assert again["state"] == "refused" and again["candidate_model"] == "e1.tar.gz" and project["trained"] == 1
    project["inputs"] = "v2"  # the data changed: a new candidate, gated again
    scores["e2.tar.gz"] = metrics(0.97, 0.97)
    assert make(model_store, scores, FakeRasa(None))["state"] == "accepted"
    assert model_store.newest().name == "e2.tar.gz" and model_store.trained_from("e2.tar.gz") == "v2"
    assert names(model_store.installed()) == ["e2.tar.gz", "c.tar.gz", "b.tar.gz"]  # pruned by the store


def test_setup_does_not_train_back_a_rolled_back_model(model_store: ModelStore, setup_run) -> None:
    make, project = setup_run
    scores = {"c.tar.gz": metrics(0.96, 0.96), "e1.tar.gz": metrics(0.97, 0.97)}
    assert make(model_store, scores, FakeRasa(None))["state"] == "accepted"
    retrain.rollback(store=model_store, rasa=FakeRasa(None))
    status = make(model_store, scores, FakeRasa(None))
    assert status["state"] == "refused" and status["reason"] == "rolled back" and project["trained"] == 1
    assert model_store.newest().name == "c.tar.gz"


def test_setup_does_not_start_while_a_retrain_runs(model_store: ModelStore, setup_run) -> None:
    make, _ = setup_run
    fd = runs.acquire_lock()
    try:
        with pytest.raises(runs.RetrainBusy):
            make(model_store, {}, FakeRasa(None))
    finally:
        os.close(fd)


def test_training_inputs_change_with_the_data_and_code_but_not_with_caches(tmp_path: Path) -> None:
    from bot.trainer.model_files import training_inputs

    for name in ("config.yml", "domain.yml", "data/nlu/a.yml", "bot/nlu/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    before = training_inputs(tmp_path)
    (tmp_path / "bot/nlu/__pycache__").mkdir()
    (tmp_path / "bot/nlu/__pycache__/x.pyc").write_bytes(b"\0")
    (tmp_path / "data/nlu/.a.yml.123.tmp").write_text("half written")
    assert training_inputs(tmp_path) == before
    (tmp_path / "data/nlu/a.yml").write_text("- intent: greet")
    assert training_inputs(tmp_path) != before
