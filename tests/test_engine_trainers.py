"""Every trainer (fit, fit_many, fit_dataset, fit_hyper, train_autoencoder, meta_learn, train_shared_encoder)
and the solvers run on the one engine: the same checks for each.

Callbacks stop them early, a loss that stops being finite raises NonFiniteLossError naming its step, a
checkpointed run resumed into new objects ends bit-identically to a straight run (on the CPU), resuming
with other settings is refused, and progress bars show on a terminal.
"""

import math
import sys

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import CheckpointError, NonFiniteLossError
from neuralfields.inverse import Denoise, FieldSolver, HoldoutStop, MAPSolver, solve
from neuralfields.training import fit_hyper, meta_learn, train_autoencoder, train_shared_encoder

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS, CUT = 8, 4


@pytest.fixture(scope="module")
def shapes():
    return nf.data.load_dataset("shapes", n=10, size=8)


@pytest.fixture(scope="module")
def digits():
    return nf.data.load_dataset("digits", n=24, size=8)


# ---- the adapters behind one interface: build new objects, run, read the outcome ----------------


class FitCase:
    name = "fit"
    full = (STEPS, False)

    def __init__(self, images):
        self.image = images[0]

    def make(self):
        return nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)

    def run(self, model, **kw):
        args = dict(steps=STEPS, batch_size=20, holdout=0.1, eval_every=3, progress=False)
        return nf.fit(model, self.image, **{**args, **kw})

    def other_settings(self):
        return {"batch_size": 30}

    def done(self, model, res):
        return res.steps, res.stopped_early

    def outcome(self, model, res):
        return {**model.state_dict(), "loss": torch.tensor(res.history.loss), "val": torch.tensor(res.history.val_psnr)}

    def poison(self, model):
        with torch.no_grad():
            model.layers[0].weight.fill_(math.nan)


class FitManyCase:
    """Three fields in one batched computation (their parameters live in the run, not in a module)."""

    name = "fit_many"
    full = (STEPS, False)

    def __init__(self, images):
        self.images = images[:3]

    def make(self):
        return {"template": nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)}

    def run(self, holder, **kw):
        args = dict(steps=STEPS, batch_size=20, holdout=0.1, eval_every=3, progress=False)
        holder["res"] = nf.fit_many(holder["template"], self.images, **{**args, **kw})
        return holder["res"]

    def other_settings(self):
        return {"batch_size": 30}

    def done(self, holder, res):
        return res.steps, res.stopped_early

    def outcome(self, holder, res):
        return {**res.params, "loss": torch.tensor(res.history.items["loss"]), "val": torch.tensor(res.history.val_psnr)}


class FitDatasetCase:
    """One field for three images; ``mode`` "binary" takes the inner SIREN's fast step, "film" autograd."""

    name = "fit_dataset"
    full = (STEPS, False)

    def __init__(self, images, mode="binary"):
        self.images, self.mode = images[:3], mode

    def make(self):
        if self.mode == "binary":
            cond = nf.BinaryCode(3)
        else:
            cond = nf.Latent(3, dim=4, mode="film", seed=0)
        return nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=16, hidden_layers=2, seed=0), cond)

    def run(self, model, **kw):
        args = dict(steps=STEPS, items_per_step=2, pixels_per_item=20, eval_every=3, progress=False)
        return nf.fit_dataset(model, self.images, **{**args, **kw})

    def other_settings(self):
        return {"items_per_step": 3}

    def done(self, model, res):
        return res.steps, res.stopped_early

    def outcome(self, model, res):
        return {**model.state_dict(), "loss": torch.tensor(res.history.loss), "val": torch.tensor(res.history.val_psnr)}

    def poison(self, model):
        with torch.no_grad():
            model.field.layers[0].weight.fill_(math.nan)


class HyperCase:
    name = "fit_hyper"
    full = (STEPS, False)  # (steps done, stopped early) of a straight run

    def __init__(self, images):
        self.images = images

    def make(self):
        return nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, hidden_layers=1, encoder_width=4,
                             encoder="set", head="film", seed=0)  # fmt: skip

    def run(self, model, **kw):
        args = dict(steps=STEPS, batch_size=3, context_fraction=0.5, test_images=self.images[7:], eval_every=3,
                    progress=False)  # fmt: skip
        return fit_hyper(model, self.images[:7], **{**args, **kw})

    def other_settings(self):
        return {"batch_size": 2}

    def done(self, model, res):
        return res.steps, res.stopped_early

    def outcome(self, model, res):
        return {**model.state_dict(), "loss": torch.tensor(res.train_loss), "test": torch.tensor(res.test_psnr)}

    def poison(self, model):
        with torch.no_grad():
            model.target.layers[0].weight.fill_(math.nan)


class AutoEncoderCase:
    name = "train_autoencoder"
    full = (STEPS, False)

    def __init__(self, images):
        self.images = images

    def make(self):
        return nf.priors.AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)

    def run(self, model, **kw):
        args = dict(steps=STEPS, batch_size=5, moment_weight=0.1, test_images=self.images[20:], progress=False)
        return train_autoencoder(model, self.images[:20], **{**args, **kw})

    def other_settings(self):
        return {"moment_weight": 0.2}

    def done(self, model, res):
        return res.steps, res.stopped_early

    def outcome(self, model, res):
        return {**model.state_dict(), "loss": torch.tensor(res.loss), "moment": torch.tensor(res.moment_loss)}

    def poison(self, model):
        with torch.no_grad():
            model.decoder[0].weight.fill_(math.nan)


class SolveCase:
    """A field solver (batched SIREN parameters) with the hold-out rule (stateful: the resumed part
    depends on the best held-out error before the cut) and snapshots. Image 1 stops at iteration 3,
    image 0 at 5 (best at 2); the solve runs on to the last snapshot, 6, and ends there."""

    name = "solve"
    full = (6, True)

    def __init__(self, images):
        self.clean = images[:2]
        self.y = Denoise().measure(self.clean, sigma=0.2, seed=0)

    def make(self):
        return {}  # the solve builds its own state; callbacks cannot reach it

    def run(self, holder, **kw):
        solver = FieldSolver({"hidden_features": 8, "hidden_layers": 1}, lr=5e-2)
        args = dict(sigma=0.2, steps=STEPS, stop=HoldoutStop(fraction=0.25, patience=3), snapshots=(2, 6),
                    eval_every=3, reference=self.clean, progress=False)  # fmt: skip
        sol = solve(self.y, Denoise(), None, solver=solver, **{**args, **kw})
        holder["sol"] = sol
        return sol

    def other_settings(self):
        return {"sigma": 0.25}

    def done(self, holder, sol):
        return sol.iterations, sol.stopped_early

    def outcome(self, holder, sol):
        out = {"x": sol.x, "stopped_at": sol.stopped_at, "stopped": sol.stopped, "loss": torch.tensor(sol.history.loss),
               "psnr": torch.tensor(sol.history.val_psnr)}  # fmt: skip
        out.update({f"snap{k}": v for k, v in sol.snapshots.items()})
        return out


class MetaCase:
    """Meta-learning (second-order MAML: the outer gradient goes through the inner steps), sample subsets."""

    name = "meta_learn"
    full = (STEPS, False)

    def __init__(self, images):
        self.images = images

    def make(self):
        return {"field": nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)}

    def run(self, holder, **kw):
        args = dict(steps=STEPS, algorithm="maml", inner_steps=2, meta_batch=3, batch_size=20, val_signals=self.images[8:],
                    eval_every=3, progress=False)  # fmt: skip
        holder["res"] = meta_learn(holder["field"], self.images[:8], **{**args, **kw})
        return holder["res"]

    def other_settings(self):
        return {"inner_steps": 3}

    def done(self, holder, res):
        return res.steps, res.stopped_early

    def outcome(self, holder, res):
        return {**res.field.state_dict(), "loss": torch.tensor(res.history.loss), "val": torch.tensor(res.history.val_psnr)}


class SharedEncoderCase:
    name = "shared encoder"
    full = (STEPS, False)

    def __init__(self, images):
        self.images = images[:4]

    def make(self):
        return {"field": nf.Siren(2, 1, hidden_features=8, hidden_layers=2, seed=0)}

    def run(self, holder, **kw):
        args = dict(steps=STEPS, batch_size=20, progress=False)
        holder["res"] = train_shared_encoder(holder["field"], self.images, **{**args, **kw})
        return holder["res"]

    def other_settings(self):
        return {"shared_layers": 2}

    def done(self, holder, res):
        return res.steps, res.stopped_early

    def outcome(self, holder, res):
        return {**res.field.state_dict(), **res.heads, "loss": torch.tensor(res.history.items["loss"])}


CASES = {
    "fit": FitCase,
    "fit_many": FitManyCase,
    "fit_dataset": FitDatasetCase,
    "fit_dataset_film": lambda images: FitDatasetCase(images, mode="film"),
    "fit_hyper": HyperCase,
    "train_autoencoder": AutoEncoderCase,
    "solve": SolveCase,
    "meta_learn": MetaCase,
    "shared_encoder": SharedEncoderCase,
}


def _case(name, shapes, digits):
    return CASES[name](digits if name == "train_autoencoder" else shapes)


@pytest.fixture(params=list(CASES))
def case(request, shapes, digits):
    return _case(request.param, shapes, digits)


def _stop_at(step):
    return lambda info: info.step >= step


def _assert_same(a, b):
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ---- the shared checks --------------------------------------------------------------------------


def test_callback_stops_early(case):
    seen = []
    obj = case.make()
    res = case.run(obj, callbacks=[lambda info: seen.append(info.step), _stop_at(3)])
    assert case.done(obj, res) == (3, True)
    assert seen == [1, 2, 3]
    straight = case.make()
    assert case.done(straight, case.run(straight)) == case.full


@pytest.mark.parametrize("interruption", ["callback", "crash"])
def test_checkpoint_resume_is_bit_identical(case, interruption, tmp_path):
    straight = case.make()
    expected = case.outcome(straight, case.run(straight))
    path = tmp_path / "ckpt.safetensors"
    first = case.make()
    if interruption == "callback":  # stopped by a callback: the checkpoint is written at the stop
        case.run(first, checkpoint=path, callbacks=[_stop_at(CUT)])
    else:  # a crash after a periodic checkpoint: the run never ends
        def crash(info):
            if info.step == CUT + 1:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            case.run(first, checkpoint=path, checkpoint_every=CUT, callbacks=[crash])
    resumed = case.make()  # new objects: everything comes from the file
    res = case.run(resumed, checkpoint=path, resume=True)
    assert case.done(resumed, res) == case.full
    _assert_same(case.outcome(resumed, res), expected)
    # resuming a finished run changes nothing
    again = case.make()
    _assert_same(case.outcome(again, case.run(again, resume=path)), expected)


def test_resume_with_other_settings_is_refused(case, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    case.run(case.make(), checkpoint=path, callbacks=[_stop_at(2)])
    with pytest.raises(CheckpointError, match="settings differ"):
        case.run(case.make(), resume=path, **case.other_settings())
    with pytest.raises(CheckpointError, match="steps"):
        case.run(case.make(), resume=path, **({"steps": 9}))


def test_progress_bar_on_a_terminal(case, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    case.run(case.make(), progress=True)
    err = capsys.readouterr().err
    assert case.name in err and f"{case.full[0]}/{STEPS}" in err


@pytest.mark.parametrize("case_name", ["fit", "fit_dataset", "fit_dataset_film", "fit_hyper", "train_autoencoder"])
def test_non_finite_loss_names_the_step(case_name, shapes, digits):
    case = _case(case_name, shapes, digits)
    model = case.make()

    def poison(info):
        if info.step == 2:
            case.poison(info.model)

    with pytest.raises(NonFiniteLossError, match="step 3") as err:
        case.run(model, callbacks=[poison])
    assert err.value.step == 3 and not math.isfinite(err.value.value)


def test_non_finite_objective_names_the_step(shapes):
    clean = shapes[:2]
    y = Denoise().measure(clean, sigma=0.1, seed=0)
    # an enormous step size: the first update throws the pixels to 1e30, their squared error overflows
    with pytest.raises(NonFiniteLossError, match="step 2") as err:
        solve(y, "denoise", None, sigma=0.1, solver=MAPSolver(lr=1e30), steps=10, progress=False)
    assert err.value.step == 2

    class NaNAfter:
        """A prior whose energy turns NaN on its third call (iteration 2, engine step 3)."""

        calls = 0

        def energy(self, x):
            self.calls += 1
            e = (x**2).flatten(1).sum(1)
            return e * math.nan if self.calls == 3 else e

    with pytest.raises(NonFiniteLossError) as err:
        solve(y, "denoise", NaNAfter(), sigma=0.1, steps=10, progress=False)
    assert err.value.step == 3


def test_a_diverging_fit_many_names_the_step(shapes):
    """fit_many's parameters are not reachable from a callback: an enormous learning rate diverges it."""
    with pytest.raises(NonFiniteLossError) as err:
        nf.fit_many(nf.Siren(2, 1, hidden_features=16, seed=0), shapes[:3], steps=30, lr=1e30, progress=False)
    assert err.value.step >= 2 and f"at step {err.value.step};" in str(err.value)


def test_losses_default_to_the_fast_mse_step_and_take_any_callable(shapes, digits):
    """The fast path (default "mse") and autograd through a callable MSE train alike."""
    import torch.nn.functional as F

    for name in ("fit", "fit_many", "fit_dataset"):
        case = _case(name, shapes, digits)
        fast_obj, slow_obj = case.make(), case.make()
        fast = case.outcome(fast_obj, case.run(fast_obj))
        slow_res = case.run(slow_obj, loss=F.mse_loss)
        slow = case.outcome(slow_obj, slow_res)
        assert not slow_res.history.psnr  # PSNR is recorded for the built-in MSE only
        for key in fast:
            torch.testing.assert_close(fast[key], slow[key], rtol=1e-3, atol=1e-5, msg=f"{name} {key}")
    res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), shapes[0], steps=3, loss="l1", progress=False)
    assert len(res.history.loss) == 3
    with pytest.raises(nf.errors.ConfigError, match="unknown loss 'l3'"):
        nf.fit_many(nf.Siren(2, 1, hidden_features=8, seed=0), shapes[:2], steps=1, loss="l3", progress=False)
