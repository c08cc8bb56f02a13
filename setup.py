"""Build hook: the built-in labs travel inside the wheel, as ``graders/_builtin/`` (labs, fixtures, solutions).

In the repository they stay at the top level, where authors work on them;
an installed iclab finds them inside its own package (graders/paths.py).
An editable install reads them from the checkout instead.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

_DATA = ("labs", "fixtures", "solutions")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")


class BuildWithLabs(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "graders" / "_builtin"
        for name in _DATA:
            if (here / name).is_dir():
                shutil.copytree(here / name, target / name, ignore=_SKIP, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithLabs})
