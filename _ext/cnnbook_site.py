"""Sphinx extension of the cnnbook site: light pages, free of third-party requests and errors.

* Jupyter Book 1 always loads sphinx-thebe, which adds its configuration script (a ``const
  THEBE_JS_URL = "https://unpkg.com/..."`` declaration) twice to every page: browsers then log
  "Identifier 'THEBE_JS_URL' has already been declared". The book does not use thebe (live code
  runs on Colab or in JupyterLab), so its scripts are dropped from every page.
* The theme loads Font Awesome twice: as a 1.5 MB script that turns ``<i class="fa-...">`` into
  SVG, and as web fonts behind the same classes in its CSS. The pages use about twenty icons, so
  the script is dropped and the fonts are cut down to the icons the built pages name.
* One search box: the theme puts a search field in the top bar *and* in the sidebar at desktop
  widths; the top bar's goes (``navbar_persistent``), and cnnbook.css hides the sidebar's on the
  search page, which has its own.
* Every page gets a ``<meta name="description">`` from its first paragraph, and the favicon.
* Citations are plain Markdown links to ``references.md#<BibTeX key>`` (they work in JupyterLab
  and Colab too). The bibliography's entries get their keys as ids (``bibtex_cite_id``), and the
  keys are registered as anchors of the page that holds the bibliography, so MyST resolves the
  links instead of warning that the anchor is unknown.
* Animation frames leave the page: matplotlib's player embeds every frame as a base64 PNG in the
  page (a chapter's HTML weighed up to 1.2 MB). They become files in ``_static/frames/``. A
  player starts (and preloads its frames) when the reader scrolls near it; until then its first
  frame, loaded lazily, is the picture. (Fetching each frame only when shown made playback
  cancel frames still in flight, which the site test reports as failed requests.)
* Pictures keep their text readable. The book draws every picture at twice its size and
  writes its size and its smallest text into the PNG (:func:`cnnbook.draw.primitives.shown_png`,
  :mod:`cnnbook.animate`). A picture shrinks in a narrow column only so far as that text stays
  9 CSS pixels or more (11 for animations on a desktop); then it scrolls sideways in its box.
* Explorers work in the page. A notebook cell tagged ``explorer-<name>`` (the cell that shows a
  live widget in JupyterLab) gets a ``<div class="cnnbook-explorer">`` after its code;
  ``_static/cnnbook-explorer.js`` turns it into the same controls over the states that
  :mod:`cnnbook.explorer_export` drew ahead of time into ``_static/explorers/<name>/``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from cnnbook.draw.primitives import DENSITY_KEY, TEXT_KEY
from cnnbook.explorer_export import CELL_TAG

HERE = Path(__file__).resolve().parent
DESCRIPTION_CHARS = 160


def _is_dropped(script: Any) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def describe(doctree: nodes.document | None) -> str:
    """The page's first paragraph as one line of at most 160 characters (for search engines)."""
    if doctree is None:
        return ""
    for paragraph in doctree.findall(nodes.paragraph):
        text = " ".join(paragraph.astext().split())
        if len(text) > 40:  # skip captions and one-word paragraphs
            if len(text) > DESCRIPTION_CHARS:
                text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
            return text
    return ""


def page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop thebe's scripts; add the description meta tag."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_dropped(s)]
    description = describe(doctree) or app.config.project
    escaped = description.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    context["metatags"] = (context.get("metatags", "")
                           + f'\n<meta name="description" content="{escaped}" />')


def configure(app: Sphinx, config: Any) -> None:
    """Theme options Jupyter Book's _config.yml cannot set without replacing all of them."""
    config.html_theme_options = {**(config.html_theme_options or {}), "navbar_persistent": []}
    config.html_favicon = str(HERE / "favicon.svg")
    # Browsers that ignore the icon link ask for /favicon.ico: it is there too.
    config.html_extra_path = [*config.html_extra_path, str(HERE / "extra")]
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]
    config.html_css_files = [*config.html_css_files, "cnnbook.css"]
    config.html_js_files = [*config.html_js_files, ("cnnbook-explorer.js", {"defer": "defer"})]


# myst-nb gives a cell tagged T the class "tag_T".
EXPLORER_TAG = "tag_" + CELL_TAG


def explorer_html(name: str, to_root: str) -> str:
    """The element the page's script turns into explorer ``name``."""
    if not (HERE / "static" / "explorers" / name / "index.json").is_file():
        raise ValueError(f"no exported explorer {name!r}: run scripts/export_explorers.py")
    return (f'<div class="cnnbook-explorer" data-src="{to_root}_static/explorers/{name}/">'
            "<p>The explorer loads when it comes into view.</p>"
            "<noscript><p>This explorer needs JavaScript; the animation further down shows "
            "its steps.</p></noscript></div>")


def add_explorers(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """After each cell tagged ``explorer-<name>``'s code, the element of explorer ``name``."""
    to_root = "../" * docname.count("/")
    for cell in doctree.findall(nodes.container):
        for css_class in cell.get("classes", []):
            if css_class.startswith(EXPLORER_TAG):
                name = css_class[len(EXPLORER_TAG):]
                cell.append(nodes.raw("", explorer_html(name, to_root), format="html"))


ICON_RULE = re.compile(r"((?:\.fa-[a-z0-9-]+:(?:before|after),?)+)\{content:\"\\([0-9a-f]+)\"\}")


def icon_codepoints(css: str) -> dict[str, int]:
    """Font Awesome's class -> code point table, read from the theme's CSS."""
    table = {}
    for selectors, hex_code in ICON_RULE.findall(css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
            table[name] = int(hex_code, 16)
    return table


def used_icons(outdir: Path) -> set[str]:
    """Every ``fa-*`` class named in the built pages and the theme's scripts."""
    found: set[str] = set()
    for path in [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]:
        if "fontawesome" in path.name:
            continue
        found |= set(re.findall(r"\bfa-[a-z0-9-]+", path.read_text(errors="ignore")))
    return found


FONTAWESOME_SCRIPT = re.compile(r'<script[^>]*src="[^"]*fontawesome\.js[^"]*"[^>]*></script>\s*')
EMBEDDED_FRAME = re.compile(r'(frames\[\d+\] = )"data:image/png;base64,((?:[A-Za-z0-9+/=]|\\\n)+)"')
PLAYER_IMAGE = re.compile(r'<img id="(_anim_img[0-9a-f]+)"')
# The pictures of the pages (myst-nb and MyST write them as <img alt=... src=../_images/...>).
PAGE_IMAGE = re.compile(r'<img ([^>]*?)src="([^"]*_images/)([^"]+)"([^>]*?)\s*/?>')


def _frame_file(match: re.Match, prefix: str, frames: Path) -> str:
    png = base64.b64decode(match.group(2).replace("\\\n", ""))
    name = hashlib.sha256(png).hexdigest()[:20] + ".png"
    (frames / name).write_bytes(png)  # a frame that two players share is stored once
    return f'{match.group(1)}"{prefix}{name}"'


def picture_size(png: Path) -> tuple[float, float] | None:
    """A book picture's width in CSS pixels and its smallest text at that width, read from the
    entries :func:`cnnbook.draw.primitives.shown_png` writes into the PNG; None for others."""
    from PIL import Image

    with Image.open(png) as image:
        entries = getattr(image, "text", {})
        if DENSITY_KEY not in entries or TEXT_KEY not in entries:
            return None
        return image.width / float(entries[DENSITY_KEY]), float(entries[TEXT_KEY])


def _sized_image(match: re.Match, images: Path) -> str:
    before, folder, name, after = match.groups()
    # The size the writer set (from the notebook's display metadata) gives way to the book's.
    attributes = re.sub(r'\s*(style|loading|width|height)="[^"]*"', "", before + after)
    classes = re.search(r'class="([^"]*)"', attributes)
    attributes = re.sub(r'\s*class="[^"]*"', "", attributes).strip()
    classes = classes.group(1).split() if classes else []
    size = picture_size(images / name) if (images / name).is_file() else None
    sizing = ""
    if size is not None:
        # cnnbook.css shows the picture at its own width, shrinking in a narrow column only so
        # far as its smallest text stays readable.
        width, text = size
        classes.append("cnnbook-picture")
        sizing = f' width="{round(width)}" style="--width: {width:g}px; --text: {text:g}"'
    css_class = f' class="{" ".join(classes)}"' if classes else ""
    return f'<img loading="lazy" {attributes} src="{folder}{name}"{css_class}{sizing} />'


def lighten_page(html: str, to_root: str, frames: Path, images: Path) -> str:
    """One built page, lighter (see the module docstring): no Font Awesome script (the theme's
    template writes it in literally), animation frames as files in ``frames``, and every
    picture loaded lazily and sized from its PNG in ``images`` (:func:`picture_size`).
    ``to_root`` is the page's relative path to the site root."""
    html = FONTAWESOME_SCRIPT.sub("", html)
    if "_anim_img" in html:
        prefix = to_root + "_static/frames/"
        html = EMBEDDED_FRAME.sub(lambda m: _frame_file(m, prefix, frames), html)
        html = PLAYER_IMAGE.sub(r'<img id="\1" loading="lazy"', html)
        html = PLAYER_START.sub(START_WHEN_VISIBLE, html)
    return PAGE_IMAGE.sub(lambda m: _sized_image(m, images), html)


# matplotlib's player starts at once and then loads every frame. It starts when the reader
# scrolls near it instead; its first frame is the picture until then (loaded lazily).
PLAYER_START = re.compile(r"setTimeout\(function\(\) \{\s*(anim\w+ = new Animation\("
                          r"frames, img_id, slider_id, [\d.]+,\s*loop_select_id\);)\s*\}, 0\);")
START_WHEN_VISIBLE = r"""var image = document.getElementById(img_id);
    image.src = frames[0];
    new IntersectionObserver(function(entries, observer) {
      if (!entries.some(function(entry) { return entry.isIntersecting; })) return;
      observer.disconnect();
      \1
    }, {rootMargin: "400px 0px"}).observe(image);"""


def subset_icon_fonts(outdir: Path) -> None:
    """Cut the Font Awesome fonts down to the icons the built pages and scripts name."""
    from fontTools import subset

    css = "".join(p.read_text(errors="ignore") for p in (outdir / "_static").rglob("*.css"))
    table = icon_codepoints(css)
    codepoints = sorted({table[name] for name in used_icons(outdir) if name in table})
    for font in (outdir / "_static").rglob("fa-*-*.*"):
        if font.suffix not in (".woff2", ".ttf"):
            continue
        options = subset.Options()
        options.flavor = "woff2" if font.suffix == ".woff2" else None
        options.layout_features = ["*"]
        loaded = subset.load_font(str(font), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(loaded)
        subset.save_font(loaded, str(font), options)


def lighten_site(app: Sphinx, exception: Exception | None) -> None:
    """Rewrite every built page once (:func:`lighten_page`), then subset the icon fonts."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    frames = outdir / "_static" / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    for page in outdir.rglob("*.html"):
        html = page.read_text()
        to_root = "../" * (len(page.relative_to(outdir).parts) - 1)
        lighter = lighten_page(html, to_root, frames, outdir / "_images")
        if lighter != html:
            page.write_text(lighter)
    subset_icon_fonts(outdir)


def no_second_figure_number(app: Sphinx) -> None:
    """A figure's number is part of its caption ("Figure 4.2."), counted within its chapter, so
    that the text says "Figure 4.2" in JupyterLab and Colab too. Jupyter Book's LaTeX extension
    turns Sphinx's own numbering on (one count for the whole book), which would add a second
    number: it goes off once every extension has set its configuration."""
    if app.builder.format == "html":
        app.config.numfig = False


BIB_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.M)


def register_bibliography_anchors(app: Sphinx, doctree: nodes.document) -> None:
    """Make every BibTeX key a linkable anchor of the page that shows the bibliography."""
    from sphinxcontrib.bibtex.nodes import bibliography

    if not any(doctree.findall(bibliography)):
        return
    keys = []
    for bibfile in app.config.bibtex_bibfiles:
        keys += BIB_KEY.findall((Path(app.confdir) / bibfile).read_text())
    slugs = app.env.metadata[app.env.docname].setdefault("myst_slugs", {})
    for key in keys:
        slugs[key] = (0, key, key)


def setup(app: Sphinx) -> dict:
    """Register the hooks (the page hook runs late, after every extension added its scripts)."""
    app.connect("config-inited", configure)
    app.connect("doctree-read", register_bibliography_anchors)
    app.connect("builder-inited", no_second_figure_number)
    app.connect("doctree-resolved", add_explorers)
    app.connect("html-page-context", page_context, priority=900)
    app.connect("build-finished", lighten_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
