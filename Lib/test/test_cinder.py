"""Tests of the cinder module and of what the build must provide."""

import importlib
import platform
import re
import subprocess
import sys
import unittest

import cinder


class CinderModuleTests(unittest.TestCase):
    def test_is_built_in(self):
        self.assertIn("cinder", sys.builtin_module_names)

    def test_version(self):
        self.assertRegex(cinder.version, r"^\d+\.\d+\.\d+$")

    def test_upstream_version_is_the_running_cpython(self):
        self.assertEqual(cinder.upstream_version, platform.python_version())
        self.assertEqual(cinder.upstream_version, "3.11.2")
        self.assertEqual(sys.version_info[:3], (3, 11, 2))
        self.assertEqual(sys.implementation.name, "cpython")


class BuildTests(unittest.TestCase):
    # The optional modules a complete build must have: their libraries are installed by
    # Tools/install-deps.sh, and a build that silently lost one would not be drop-in.
    REQUIRED = ("ssl", "zlib", "ctypes", "sqlite3", "lzma", "bz2", "readline",
                "curses", "dbm.gnu", "uuid", "_decimal", "_ctypes", "_uuid")

    def test_optional_modules_are_built(self):
        for name in self.REQUIRED:
            with self.subTest(module=name):
                importlib.import_module(name)

    def test_interpreter_runs_as_a_subprocess(self):
        out = subprocess.run(
            [sys.executable, "-c", "import cinder; print(cinder.upstream_version)"],
            capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), "3.11.2")


if __name__ == "__main__":
    unittest.main()
