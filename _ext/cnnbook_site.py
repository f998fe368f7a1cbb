"""Sphinx extension of the cnnbook site: keep every page free of third-party requests and errors.

Jupyter Book 1 always loads sphinx-thebe, which adds its configuration script (a ``const
THEBE_JS_URL = "https://unpkg.com/..."`` declaration) twice to every page: browsers then log
"Identifier 'THEBE_JS_URL' has already been declared". The book does not use thebe (live code runs
on Colab or in JupyterLab), so its scripts are dropped from every page.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _is_thebe(script: Any) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Remove sphinx-thebe's scripts from the page being written."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app: Sphinx) -> dict:
    """Register the page hook (run late, after every extension added its scripts)."""
    app.connect("html-page-context", drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
