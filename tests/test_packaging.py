"""A non-editable install carries templates/ and forms/ and works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run inside the installed copy, from an unrelated working directory.
CHECK = r"""
import sys, practice, practice.paths as paths
from practice import create_app
site = sys.argv[1]
assert practice.__file__.startswith(site), practice.__file__
assert str(paths.TEMPLATES_DIR).startswith(site), paths.TEMPLATES_DIR
assert str(paths.FORMS_DIR).startswith(site), paths.FORMS_DIR
assert (paths.TEMPLATES_DIR / "practice" / "base.html").is_file()
assert (paths.MIGRATIONS_DIR / "env.py").is_file()
app = create_app({"PRACTICE_RATELIMIT_ENABLED": False})
from practice.migrate import upgrade
upgrade(app.extensions["practice"].engine)
client = app.test_client()
home = client.get("/")
assert home.status_code == 200, home.status_code
assert client.get("/privacy").status_code == 200
with client.get("/static/practice.css") as css:
    assert css.status_code == 200
print("ok", app.instance_path)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh venv holding a wheel built from this checkout (dependencies borrowed, not
    downloaded: a .pth points at the test venv's site-packages, after the venv's own)."""
    work = tmp_path_factory.mktemp("packaging")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((work / "dist").glob("practice-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Install the wheel with this interpreter's pip into the new venv's site-packages.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    ours = sysconfig.get_paths()["purelib"]
    (site / "zz_borrowed_dependencies.pth").write_text(ours + "\n")
    return python, site


def test_installed_wheel_runs_from_any_directory(installed, tmp_path):
    python, site = installed
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRACTICE_")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [python, "-I", "-c", CHECK, str(site)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # An installed copy keeps its data in the working directory's instance/ folder.
    assert result.stdout.strip() == f"ok {elsewhere / 'instance'}"
    assert (elsewhere / "instance" / "practice.sqlite3").exists()


def test_instance_path_setting_moves_the_data(installed, tmp_path):
    python, site = installed
    target = tmp_path / "var" / "practice"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRACTICE_")}
    env["PRACTICE_INSTANCE_PATH"] = str(target)
    result = subprocess.run(
        [python, "-I", "-c", CHECK, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (target / "practice.sqlite3").exists()
    assert not (tmp_path / "instance").exists()
