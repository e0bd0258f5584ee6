# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Build hooks pyproject.toml cannot express: the version is the library's,
read from the Makefile (its one place), and the built package records it,
with the directory the library is installed in ($REFPOOL_LIBDIR, which
`make install` sets), in refpool/_build.py."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def makefile_version():
    with open(os.path.join(HERE, os.pardir, "Makefile")) as f:
        for line in f:
            if line.startswith("VERSION :="):
                return line.split(":=", 1)[1].strip()
    raise SystemExit("setup.py: no 'VERSION :=' line in ../Makefile")


class BuildPy(build_py):
    def run(self):
        super().run()
        libdir = os.environ.get("REFPOOL_LIBDIR") or None
        path = os.path.join(self.build_lib, "refpool", "_build.py")
        with open(path, "w") as f:
            f.write(
                "# Written by setup.py when the package was built.\n"
                "version = %r\n"
                "libdir = %r  # where librefpool.so.0 was installed, if known\n"
                % (self.distribution.get_version(), libdir)
            )


setup(version=makefile_version(), packages=["refpool"], cmdclass={"build_py": BuildPy})
