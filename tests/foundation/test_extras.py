"""The base install stays light: extras named in one place, one-line hints, lazy imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from harness._extras import EXTRAS, missing_modules, modules_of, require
from harness.cli import EXIT_USAGE, main
from harness.errors import MissingExtra, UsageError

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("aiohttp", "fakeredis", "hdrh", "hypothesis", "numpy", "pydantic", "redis", "scipy", "yaml")


def _pyproject_extras() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = data["project"]["optional-dependencies"]
    return extras


def _imported_after(code: str) -> list[str]:
    """The heavy top-level modules loaded after running ``code`` in a fresh interpreter."""
    probe = f"{textwrap.dedent(code)}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.split()


def test_every_optional_extra_of_the_package_is_described_and_all_includes_each():
    declared = set(_pyproject_extras()) - {"all", "peers", "test"}
    assert declared == set(EXTRAS)
    everything = _pyproject_extras()["all"]
    assert everything == [f"chaos-harness[{','.join(EXTRAS)}]"]


def test_an_extra_lists_the_modules_of_the_extras_it_includes():
    assert set(modules_of("stats")) <= set(modules_of("scenarios"))
    assert "locust" in modules_of("load")
    with pytest.raises(KeyError, match="unknown extra 'nope'"):
        modules_of("nope")


def test_a_missing_extra_names_the_install_command_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "locust", None)
    assert missing_modules("load") == ("locust",)
    with pytest.raises(MissingExtra) as caught:
        require("load", "running Locust")
    message = str(caught.value)
    assert message == "running Locust needs chaos-harness[load]: pip install 'chaos-harness[load]'"
    assert isinstance(caught.value, UsageError)
    assert isinstance(caught.value, ImportError)
    assert caught.value.modules == ("locust",)


def test_an_installed_extra_passes_its_check():
    require("stats", "statistics")


def test_a_command_whose_extra_is_missing_exits_2_with_the_install_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "polyfactory", None)
    assert main(["run", "--examples"]) == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert "harness run needs chaos-harness[scenarios]: pip install 'chaos-harness[scenarios]'" in err


def test_running_locust_without_the_load_extra_says_which_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "locust", None)
    code = main(["load", "locust", "http://127.0.0.1:9", "--duration", "1s", "--output-dir", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "chaos-harness[load]" in capsys.readouterr().err


def test_a_lazily_exported_name_whose_library_is_missing_names_its_extra():
    code = """
    import sys
    sys.modules["redis"] = None
    import harness.storage
    try:
        harness.storage.RedisStorage
    except ImportError as exc:
        print(type(exc).__name__, exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    hint = "needs chaos-harness[redis]: pip install 'chaos-harness[redis]'"
    assert done.stdout.strip() == f"MissingExtra harness.storage.RedisStorage {hint}"


def test_importing_the_plugin_and_its_fixture_modules_loads_no_heavy_library():
    code = """
    import harness.pytest_plugin
    for name in harness.pytest_plugin.pytest_plugins:
        __import__(name)
    """
    assert _imported_after(code) == []


def test_memory_storage_and_the_resilience_primitives_load_no_redis_or_numpy():
    code = """
    import harness.resilience, harness.storage, harness.faults, harness.clock
    harness.storage.MemoryStorage()
    """
    assert [m for m in _imported_after(code) if m in {"fakeredis", "numpy", "redis", "scipy"}] == []


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_the_cli_version_and_help_load_no_scientific_library(argv):
    code = f"""
    from harness.cli import main
    main({argv!r})
    """
    assert [m for m in _imported_after(code) if m in {"numpy", "pydantic", "scipy"}] == []


def test_a_foreign_project_passes_under_warnings_as_errors_with_the_plugin(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-W",
            "error",
            "-q",
            "-p",
            "harness.pytest_plugin",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
