"""`neuropcm mnist` and `neuropcm devices`: every bad argument ends with one line naming it,
exit status 2, before any long work (no compiling, no simulating, no file replaced)."""

import signal

import pytest

from neuropcm.cli import main


@pytest.fixture
def no_work(monkeypatch):
    """Any long work is a test failure: these errors must come first."""
    import neuropcm.workloads.spiking._mnist_run as cl
    import neuropcm.workloads.characterisation.device_characterisation as ch

    def refuse(*a, **kw):
        raise AssertionError("long work started before the check")

    monkeypatch.setattr(cl, "ChunkedRunner", refuse)
    monkeypatch.setattr(cl, "run_clustering", refuse)
    monkeypatch.setattr(ch, "PCMArray", refuse)


def _error_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuropcm: error: "), err
    return lines[0]


@pytest.mark.parametrize("args, match", [
    (["--seed", "-1"], "--seed = -1 is negative"),
    (["--test", "-5"], "--test = -5 must be at least 1"),
    (["--test", "0"], "--test = 0 must be at least 1"),
    (["--assign", "-5"], "--assign = -5 must be at least 1"),
    (["--train", "100000"], "--train = 100000: there are only 60000 training images"),
    (["--train", "100", "--assign", "200"],
     "--assign = 200: labels are assigned on the run's 100"),
    (["--epochs", "0"], "--epochs = 0 must be at least 1"),
    (["--network", "no_such_net"], "not found"),
    (["--plot", "x.xyz"], "--plot 'x.xyz' must end in one of"),
])
def test_mnist_bad_arguments(capsys, tmp_path, monkeypatch, no_work, args, match):
    monkeypatch.chdir(tmp_path)
    assert match in _error_line(capsys, ["mnist", *args])


def test_mnist_bad_network_files(capsys, tmp_path, no_work):
    line = _error_line(capsys, ["mnist", "--network", str(tmp_path), "--out",
                                str(tmp_path / "r.h5")])
    assert "is a folder" in line
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    assert "not a text (UTF-8) TOML file" in _error_line(
        capsys, ["mnist", "--network", str(blob), "--out", str(tmp_path / "r.h5")])


def test_mnist_bad_outputs(capsys, tmp_path, no_work):
    assert "is a folder" in _error_line(capsys, ["mnist", "--out", str(tmp_path)])
    notes = tmp_path / "notes.h5"
    notes.write_text("precious")
    assert "not an HDF5 file" in _error_line(capsys, ["mnist", "--out", str(notes)])
    assert notes.read_text() == "precious"
    assert "is a file, not a folder" in _error_line(
        capsys, ["mnist", "--out", str(notes / "r.h5")])
    assert "--plot" in _error_line(capsys, ["mnist", "--out", str(tmp_path / "r.h5"),
                                            "--plot", str(tmp_path)])
    png = tmp_path / "old.png"
    png.write_text("not a png")
    assert "not a PNG file" in _error_line(capsys, ["mnist", "--out", str(tmp_path / "r.h5"),
                                                    "--plot", str(png)])
    assert "same file as --out" in _error_line(capsys, ["mnist", "--out", str(tmp_path / "r.pdf"),
                                                        "--plot", str(tmp_path / "r.pdf")])


def test_devices_bad_outputs_and_seed(capsys, tmp_path, no_work):
    """`neuropcm devices` uses the same checks."""
    assert "is a folder" in _error_line(capsys, ["devices", "--out", str(tmp_path)])
    notes = tmp_path / "notes.h5"
    notes.write_text("precious")
    assert "not an HDF5 file" in _error_line(capsys, ["devices", "--out", str(notes),
                                                      "--plot", str(tmp_path / "d.png")])
    assert notes.read_text() == "precious"
    assert "--seed = -1 is negative" in _error_line(
        capsys, ["devices", "--seed", "-1", "--out", str(tmp_path / "d.h5")])
    assert "--plot" in _error_line(capsys, ["devices", "--out", str(tmp_path / "d.h5"),
                                            "--plot", str(notes / "x.png")])


@pytest.mark.parametrize("args", [["--train", "abc"], ["--seed", "1.5"], ["--test", ""]])
def test_non_numeric_arguments(capsys, args):
    with pytest.raises(SystemExit) as e:
        main(["mnist", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("neuropcm mnist: error: argument") and "invalid int value" in err[-1]
    assert not any("Traceback" in ln for ln in err)


def test_interrupt_message_and_exit_status(capsys, monkeypatch, tmp_path):
    """Ctrl-C: exit 130 and the command that continues the run."""
    import neuropcm.workloads.spiking._mnist_run as cl
    from neuropcm.errors import RunInterrupted

    def interrupted(*a, **kw):
        e = RunInterrupted("stopped during training; the checkpoint X holds 1 of 4")
        e.checkpoint = tmp_path / "r.h5.ckpt.h5"
        raise e

    monkeypatch.setattr(cl, "run_clustering", interrupted)
    argv = ["mnist", "--train", "400", "--out", str(tmp_path / "r.h5"), "--quiet"]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "neuropcm: stopped during training; the checkpoint X holds 1 of 4"
    assert err[1] == f"neuropcm: to continue: neuropcm {' '.join(argv)} --resume"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main() restores it
