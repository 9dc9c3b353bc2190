"""The `neuralfields` command: fit, render, plugins, samples, --help, errors."""

import json
import subprocess
import sys

import pytest

import neuralfields as nf
from neuralfields.cli import main


def test_fit_writes_everything(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["fit", "camera", "--size", "16", "--steps", "50", "--hidden-features", "32", "--hidden-layers", "2",
               "--render-size", "40x48", "--holdout", "0.1", "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["field.safetensors", "reconstruction.png", "comparison.png", "training_curve.png", "metrics.json",
         "render_40x48.png", "run.json"]
    )  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    target = nf.data.load_image("camera", size=16)
    mean_image = nf.psnr(target.mean().expand_as(target), target)
    assert metrics["steps"] == 50 and metrics["shape"] == [1, 16, 16]
    assert metrics["psnr_image"] > mean_image + 4 and 0 < metrics["ssim_image"] <= 1
    assert metrics["val_psnr"] is not None and len(metrics["history"]["psnr"]) == 50
    field = nf.load(out / "field.safetensors")
    assert field.config == metrics["field"]["config"]
    recon = nf.data.load_image(out / "reconstruction.png")
    assert recon.shape == (1, 16, 16)
    assert nf.psnr(recon, nf.render(field, (16, 16))) > 45  # the PNG is the field's render (8-bit)
    assert nf.data.load_image(out / "render_40x48.png").shape == (1, 40, 48)
    assert "PSNR" in capsys.readouterr().out


def test_a_report_records_its_run_and_config_reruns_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["fit", "synthetic", "--size", "12", "--steps", "15", "--hidden-features", "16", "--hidden-layers", "1",
                 "--seed", "3", "--lr", "0.002", "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "fit" and record["versions"]["neuralfields"] == nf.__version__
    assert record["config"]["steps"] == 15 and record["config"]["seed"] == 3 and record["config"]["lr"] == 0.002
    assert record["data"] == {"image": "synthetic", "size": [12, 12], "channels": None}
    again = tmp_path / "again"
    assert main(["fit", "--config", str(out / "run.json"), "--out", str(again), "--no-progress"]) == 0
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (out, again))
    assert second["history"]["loss"] == first["history"]["loss"] and second["config"] == first["config"]
    assert json.loads((again / "run.json").read_text())["config"] == record["config"]
    capsys.readouterr()
    assert main(["memorize", "--config", str(out / "run.json"), "--out", str(tmp_path / "m")]) == 1
    assert "records the command 'fit'" in capsys.readouterr().err
    assert main(["fit", "--out", str(tmp_path / "x")]) == 1
    assert "give an IMAGE or SAMPLE, or --config RUN_JSON" in capsys.readouterr().err


def test_help_lists_registered_names(capsys):
    with pytest.raises(SystemExit):
        main(["memorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert " | ".join(nf.available("conditioning")) in text


def test_fit_resume_continues(tmp_path):
    out = tmp_path / "run"
    args = ["fit", "synthetic", "--size", "12", "--hidden-features", "16", "--hidden-layers", "1", "--out", str(out),
            "--no-progress", "--checkpoint-every", "5"]  # fmt: skip
    assert main([*args, "--steps", "10"]) == 0
    assert main([*args, "--steps", "10", "--resume"]) == 0  # already done: nothing more to do
    assert json.loads((out / "metrics.json").read_text())["steps"] == 10


def test_render_command(tmp_path, capsys):
    f = nf.Siren(2, 3, 16, seed=0)
    path = nf.save(f, tmp_path / "f.safetensors")
    assert main(["render", str(path), "--size", "24x32", "--out", str(tmp_path / "r.png")]) == 0
    img = nf.data.load_image(tmp_path / "r.png")
    assert img.shape == (3, 24, 32)
    assert float((img - nf.render(f, (24, 32))).abs().max()) <= 0.5 / 255 + 1e-6
    assert main(["render", str(path), "--size", "10", "--out", str(tmp_path / "sq.png")]) == 0
    assert nf.data.load_image(tmp_path / "sq.png").shape == (3, 10, 10)


def test_render_refuses_non_image_fields(tmp_path, capsys):
    path = nf.save(nf.Siren(3, 1, 8), tmp_path / "vol.safetensors")
    assert main(["render", str(path), "--size", "8", "--out", str(tmp_path / "x.png")]) == 1
    assert "only 2-D fields" in capsys.readouterr().err


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["fit", "camra", "--steps", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralfields fit: error: unknown sample image 'camra'. Did you mean 'camera'?")
    assert "Traceback" not in err
    assert main(["render", str(tmp_path / "missing.safetensors"), "--size", "8", "--out", str(tmp_path / "x.png")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["render", "f.safetensors", "--size", "axb", "--out", "x.png"])
    assert info.value.code == 2
    assert "expected N or sizes joined by x" in capsys.readouterr().err


def test_samples_and_plugins(capsys):
    assert main(["samples", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == nf.data.sample_names()
    assert main(["samples"]) == 0
    assert "camera" in capsys.readouterr().out
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed] == [p.name for p in nf.plugins()]


@pytest.mark.parametrize("command", [[], ["fit"], ["render"], ["plugins"], ["samples"]])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: neuralfields {' '.join(command)}".rstrip())


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("neuralfields", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe is not None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"neuralfields {nf.__version__}"
