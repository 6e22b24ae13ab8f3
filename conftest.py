"""This repository's acceptance project. The harness itself (options, fixtures, the step library)
is the pytest plugin `lucs_harness.plugin`, loaded through its entry point once the package is
installed; a project's own steps and hooks go here, as in any pytest-bdd project."""
