"""The notebooks in this folder are opened by the browser test, not run by nbval."""

collect_ignore_glob = ["*.ipynb"]
