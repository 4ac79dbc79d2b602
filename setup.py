"""Build hook: ship the repository's configs/ inside the package (physolve/configs).

The Hydra config groups live at the repository root so that they are easy to find and edit.
A wheel gets a copy of them inside the package, where physolve.config.config_dir() finds
them from any working directory. An editable install copies nothing: config_dir() falls back
to the checkout's configs/, so edits there apply at once. Everything else is in pyproject.toml.
"""
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConfigs(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            self.copy_tree("configs", f"{self.build_lib}/physolve/configs")


setup(cmdclass={"build_py": BuildPyWithConfigs})
