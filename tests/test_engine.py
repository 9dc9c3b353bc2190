"""The engine itself (neuralfields._loop), on toy tasks: the update, schedules, evaluation cadence,
callbacks, self-updating steps, stopping from a step, checkpoints and their refusals."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields._checkpoint import load_checkpoint, save_checkpoint
from neuralfields._loop import run
from neuralfields._task import StepOutput, Task
from neuralfields.errors import CheckpointError, ConfigError


class Quadratic(Task):
    """Minimise ||w - target||^2; evaluates -||w - target|| as a 'psnr'."""

    def __init__(self, target=(1.0, 2.0, 3.0)):
        self.model = torch.nn.Linear(3, 1, bias=False)
        with torch.no_grad():
            self.model.weight.zero_()
        self.target = torch.tensor([target])
        self.lrs = []

    def step(self, step, lr):
        self.lrs.append(lr)
        loss = ((self.model.weight - self.target) ** 2).sum()
        loss.backward()
        return StepOutput(float(loss.detach()), metrics={"w0": float(self.model.weight.detach()[0, 0])})

    def evaluate(self):
        w = self.model.weight.detach()
        return {"psnr": -float((w - self.target).norm()), "norm": float(w.norm())}


def test_the_update_schedule_and_history():
    task = Quadratic()
    res = run(task, steps=50, lr=0.1, schedule="cosine", min_lr_ratio=0.1, eval_every=20, progress=False)
    h = res.history
    assert res.steps == 50 and not res.stopped_early
    assert h.step == list(range(1, 51)) and len(h.loss) == len(h.time) == len(h.metrics["w0"]) == 50
    assert h.loss[-1] < h.loss[0] / 10
    assert task.lrs[0] == pytest.approx(0.1) and task.lrs[-1] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(task.lrs, task.lrs[1:]))
    assert h.val_step == [20, 40, 50] and len(h.val_psnr) == 3 and len(h.val_metrics["norm"]) == 3
    assert h.psnr == []  # the task reports none


def test_evaluation_before_training():
    res = run(Quadratic(), steps=4, lr=0.1, eval_every=2, eval_at_start=True, progress=False)
    assert res.history.val_step == [0, 2, 4]


@pytest.mark.parametrize("optimizer", ["sgd", lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.5)])
def test_other_optimizers(optimizer):
    task = Quadratic()
    run(task, steps=100, lr=0.1, optimizer=optimizer, progress=False)
    torch.testing.assert_close(task.model.weight, task.target, atol=1e-3, rtol=0)


def test_a_step_may_make_its_own_update():
    """A fixed-point iteration (no optimiser): x <- (x + a / x) / 2 converges to sqrt(a)."""

    class Heron(Task):
        def __init__(self):
            self.x = torch.tensor(1.0)

        def parameters(self):
            return []

        def step(self, step, lr):
            self.x = (self.x + 2.0 / self.x) / 2
            return StepOutput(float((self.x**2 - 2.0).abs()))

        def state_dict(self):
            return {"task/x": self.x}

        def load_state_dict(self, state):
            self.x = state["task/x"].clone()

    task = Heron()
    res = run(task, steps=6, lr=1.0, progress=False)
    assert res.steps == 6 and float(task.x) == pytest.approx(math.sqrt(2.0))


def test_a_step_may_end_the_run_without_an_update():
    class StopsAt3(Quadratic):
        def step(self, step, lr):
            out = super().step(step, lr)
            out.stop = step == 3
            return out

    task = StopsAt3()
    before = []
    res = run(task, steps=10, lr=0.1, callbacks=[lambda info: before.append(info.model.weight.clone())], progress=False)
    assert res.steps == 3 and res.stopped_early and len(res.history) == 3
    assert torch.equal(task.model.weight, before[-1])  # no update for the step that stopped


def test_callbacks_see_each_step_and_hear_start_and_end():
    events = []

    class Recorder(nf.Callback):
        def on_start(self, total, start):
            events.append(("start", total, start))

        def __call__(self, info):
            events.append(("step", info.step, info.model is not None, info.metrics["w0"] == info.history.metrics["w0"][-1]))

        def on_end(self, history):
            events.append(("end", len(history)))

    run(Quadratic(), steps=2, lr=0.1, callbacks=[Recorder(), lambda info: None], progress=False)
    assert events == [("start", 2, 0), ("step", 1, True, True), ("step", 2, True, True), ("end", 2)]


def test_every_callback_runs_even_when_one_stops():
    seen = []
    res = run(Quadratic(), steps=5, lr=0.1, callbacks=[lambda i: i.step == 2, lambda i: seen.append(i.step)], progress=False)
    assert res.steps == 2 and seen == [1, 2]


def test_non_finite_items_are_caught_too():
    class BadItem(Quadratic):
        def step(self, step, lr):
            out = super().step(step, lr)
            out.items = {"loss": [1.0, math.nan if step == 2 else 1.0]}
            return out

    with pytest.raises(nf.NonFiniteLossError) as info:
        run(BadItem(), steps=5, lr=0.1, progress=False)
    assert info.value.step == 3 and math.isnan(info.value.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": -1}, "steps"), ({"steps": 1.5}, "steps"), ({"lr": 0}, "lr"), ({"lr": math.inf}, "lr"),
        ({"schedule": "linear"}, "schedule"), ({"min_lr_ratio": -0.1}, "min_lr_ratio"), ({"eval_every": 0}, "eval_every"),
        ({"checkpoint_every": 0}, "checkpoint_every"), ({"optimizer": "lbfgs"}, "optimizer"),
    ],
)  # fmt: skip
def test_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        run(Quadratic(), **{"steps": 3, "lr": 0.1, "progress": False, **kwargs})


def test_resume_requires_a_checkpoint_path():
    with pytest.raises(ConfigError, match="resume=True needs checkpoint"):
        run(Quadratic(), steps=3, lr=0.1, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        run(Quadratic(), steps=3, lr=0.1, resume="/nonexistent/ckpt.safetensors", progress=False)


def _tampered(tmp_path, **change):
    """A checkpoint of 4 of 8 steps, rewritten with some of its parts changed."""
    path = tmp_path / "ck.safetensors"
    task = Quadratic()
    run(task, steps=8, lr=0.1, checkpoint=path, callbacks=[lambda i: i.step == 4], progress=False)
    ck = load_checkpoint(path)
    step = change.get("step", ck.step)
    optimizer = None
    if not change.get("no_optimizer"):
        optimizer = torch.optim.Adam(task.model.parameters(), lr=0.1)
        optimizer.load_state_dict(ck.optimizer_state)
    out = tmp_path / "tampered.safetensors"
    save_checkpoint(out, task.model, optimizer, step, ck.settings, ck.history, state=ck.state)
    return out


@pytest.mark.parametrize(
    "change, match",
    [({"step": 10**9}, "outside 0..8"), ({"step": -5}, "outside 0..8"), ({"step": 3}, "history has 4 steps"),
     ({"no_optimizer": True}, "no optimiser state")],
)  # fmt: skip
def test_tampered_checkpoints_are_refused(tmp_path, change, match):
    path = _tampered(tmp_path, **change)
    with pytest.raises(CheckpointError, match=match):
        run(Quadratic(), steps=8, lr=0.1, resume=path, progress=False)


def test_settings_are_compared_as_stored(tmp_path):
    """Tuples in the settings come back from the file as lists: that is no change."""
    path = tmp_path / "ck.safetensors"
    settings = {"shape": (3, 4)}
    run(Quadratic(), steps=4, lr=0.1, checkpoint=path, settings=settings, callbacks=[lambda i: i.step == 2], progress=False)
    res = run(Quadratic(), steps=4, lr=0.1, resume=path, settings=settings, progress=False)
    assert res.steps == 4
    with pytest.raises(CheckpointError, match="shape"):
        run(Quadratic(), steps=4, lr=0.1, resume=path, settings={"shape": (3, 5)}, progress=False)
