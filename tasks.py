"""Project tasks that need nothing but Python 3.11+: ``demo`` and ``test``.

    python3 tasks.py demo    # run the demo (examples/quickstart.py)
    python3 tasks.py test    # lint, format check, mypy --strict, the whole test suite

Each task creates ``.venv`` in the project (once) and installs what it needs into it, so a
fresh clone needs no other set-up. Extra arguments after ``test`` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _run(*args: str | Path) -> int:
    print("$", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.call([str(arg) for arg in args], cwd=ROOT)


def _ensure_venv(extra: str) -> None:
    """Create the virtual environment and install the project with ``extra`` if needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tell users of older Pythons why
        sys.exit("orderflow needs Python 3.11 or newer")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra}-{digest}"
    if stamp.exists():
        return
    spec = f".[{extra}]" if extra else "."
    code = _run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "-e", spec)  # fmt: skip
    if code:
        sys.exit(code)
    stamp.touch()


def demo() -> int:
    """Run the demo."""
    _ensure_venv("")
    return _run(PYTHON, ROOT / "examples" / "quickstart.py")


def test(pytest_args: list[str]) -> int:
    """Run ruff, mypy --strict and pytest with branch coverage; fail if any fails."""
    _ensure_venv("dev")
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff check", [PYTHON, "-m", "ruff", "check", "."]),
        ("ruff format", [PYTHON, "-m", "ruff", "format", "--check", "."]),
        ("mypy --strict", [PYTHON, "-m", "mypy", "--strict", "src", "tests"]),
        (
            "pytest",
            [PYTHON, "-m", "pytest", "-n", "auto", "--cov=orderflow", "--cov-branch",
             "--cov-report=term-missing:skip-covered", "--cov-fail-under=95", *pytest_args],
        ),
    ]  # fmt: skip
    failed = [name for name, command in steps if _run(*command) != 0]
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("all checks passed", flush=True)
    return 0


def main(argv: list[str]) -> int:
    """Dispatch ``demo`` or ``test``."""
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    if argv[0] == "demo":
        return demo()
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
