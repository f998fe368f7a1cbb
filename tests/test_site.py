"""The site as a reader sees it: build the book, serve it locally, open every page in Chromium.

Fails on a build warning, a console error, an uncaught exception, a failed request, a request to
any host but the local server, math left as raw TeX, a broken image, or an animation whose frame
does not change when played. Saves a screenshot of every page in ``site-screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from browser import CHROMIUM, launch, serve, site_pages  # noqa: E402

SCREENSHOTS = ROOT / "site-screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.site,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is needed: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book (warnings are errors) into a temporary folder; return its html folder.

    ``CNNBOOK_SITE=_build/html`` tests a site built before instead (a local convenience when
    changing a test; CI always builds).
    """
    if os.environ.get("CNNBOOK_SITE"):
        return Path(os.environ["CNNBOOK_SITE"]).resolve()
    subprocess.run([str(ROOT / "scripts" / "vendor_assets.sh")], check=True)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py")], check=True)
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n",
         "--keep-going"],
        capture_output=True, text=True, cwd=ROOT,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed or warned:\n{log[-4000:]}"
    assert "WARNING" not in log, log[-4000:]
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1 (a free port) for the duration of the tests."""
    with serve(site) as url:
        yield url


pages = site_pages


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def test_every_page_loads_cleanly(site: Path, server: str, browser) -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir()
    local = server + "/"
    problems: list[str] = []
    all_pages = pages(site)
    assert any(p.startswith("notebooks/") for p in all_pages), all_pages
    for page_path in all_pages:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        errors: list[str] = []

        def route(route, request, errors=errors) -> None:
            if request.url.startswith(local) or request.url.startswith("data:"):
                route.continue_()
            else:
                errors.append(f"request to another host: {request.url}")
                route.abort()

        page.route("**/*", route)
        page.on("console", lambda m, e=errors: e.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
        page.on("requestfailed", lambda r, e=errors: e.append(
            f"failed request: {r.url} ({r.failure})") if r.url.startswith(local) else None)
        page.on("response", lambda r, e=errors: e.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 else None)
        page.goto(local + page_path, wait_until="networkidle")
        has_math = page.evaluate("() => !!document.querySelector('.math, .MathJax, mjx-container')"
                                 " || /\\$\\$|\\\\\\[|\\\\\\(/.test(document.body.innerText)")
        if has_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && "
                                   "MathJax.startup.document && "
                                   "document.querySelectorAll('mjx-container').length > 0",
                                   timeout=20000)
            page.evaluate("() => MathJax.startup.promise")
        text = page.evaluate("() => document.querySelector('main, article, body').innerText")
        for raw in re.findall(r"\$\$|\\\[|\\\(|\\begin\{|\\frac|\\sum", text):
            errors.append(f"untypeset math: {raw!r}")
            break
        # A lone "$" or "\(" left in prose (outside code and typeset math), e.g. from a $$ block
        # that Markdown parsed inside a list item's paragraph.
        stray = page.evaluate(STRAY_MATH_DELIMITERS)
        errors += [f"literal math delimiter in the text: {t!r}" for t in stray[:3]]
        broken = page.evaluate("() => [...document.images].filter(i => i.complete && "
                               "i.naturalWidth === 0 && i.src).map(i => i.src.slice(0, 80))")
        errors += [f"broken image: {src}" for src in broken]
        errors += check_animations(page)
        errors += start_explorers(page)
        name = page_path.replace("/", "__").removesuffix(".html")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        context.close()
        problems += [f"{page_path}: {e}" for e in errors]
    assert not problems, "\n".join(problems)


STRAY_MATH_DELIMITERS = """() => {
  const root = document.querySelector('main, article, body');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const skip = 'pre, code, mjx-container, script, style, .cell_output';
    if (node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    if (/\\$|\\\\\\(|\\\\\\[/.test(text)) found.push(text.trim().slice(0, 80));
  }
  return found;
}"""


def check_animations(page) -> list[str]:
    """Press play on every animation, from the keyboard; its frame must change."""
    errors = []
    animations = page.query_selector_all("div.animation")
    for k, animation in enumerate(animations):
        image = animation.query_selector("img")
        # A player starts when the reader scrolls near it (until then it shows its first frame).
        image.scroll_into_view_if_needed()
        player = "anim" + image.get_attribute("id").removeprefix("_anim_img")
        page.wait_for_function(f"() => window[{player!r}] !== undefined", timeout=10000)
        before = image.get_attribute("src")
        # From the keyboard, as a reader without a mouse plays it: focus the button, press Enter.
        animation.query_selector("button[title='Play']").focus()
        page.keyboard.press("Enter")
        page.wait_for_timeout(1500)
        after = image.get_attribute("src")
        if not before or before == after:
            errors.append(f"animation {k} does not change when played")
    return errors


def start_explorers(page) -> list[str]:
    """Scroll to every explorer; each must load its controls and picture."""
    errors = []
    for k, explorer in enumerate(page.query_selector_all(".cnnbook-explorer")):
        explorer.scroll_into_view_if_needed()
        try:
            page.wait_for_function(
                "(e) => e.dataset.ready || e.dataset.failed", arg=explorer, timeout=15000)
        except Exception as error:  # noqa: BLE001 - reported below, with the page
            errors.append(f"explorer {k} did not load: {error}")
            continue
        if explorer.get_attribute("data-failed"):
            errors.append(f"explorer {k} failed: {explorer.get_attribute('data-failed')}")
    return errors


# The explorer's picture as the browser holds it: one entry per SVG element, in the form
# :func:`painted` gives a display-list item.
PICTURE = """(root) => [...root.querySelector('svg.cnnbook-explorer-picture').children].map(n => {
  const a = (name) => n.getAttribute(name);
  if (n.tagName === 'path') return ['p', a('d'), a('fill'), a('stroke')];
  if (n.tagName === 'text') return ['t', a('x'), a('y'), n.textContent, a('font-size')];
  return ['i', a('x'), a('y'), a('width'), a('height'), a('href')];
})"""


def painted(item: list) -> list[str]:
    """What the page's painter must make of a display-list item (see PICTURE)."""
    kind = item[0]
    if kind == "p":
        return ["p", item[1], item[2], item[3]]
    if kind == "t":
        return ["t", str(item[1]), str(item[2]), item[3], str(item[4])]
    return ["i", *map(str, item[1:5]), item[5]]


def explorer_state(page, root) -> tuple[str, str, list]:
    """The explorer's state key, step and picture (the picture is empty in an error state)."""
    page.wait_for_function("(e) => !e.querySelector('svg') || e.dataset.state !== undefined",
                           arg=root)
    state, step = root.get_attribute("data-state"), root.get_attribute("data-step")
    showing = page.evaluate("(e) => e.querySelector('svg').style.display !== 'none'", root)
    return state, step, page.evaluate(PICTURE, root) if showing else []


def expected_picture(index: dict, folder: Path, key: str, step: int) -> list:
    """What the explorer must show for state ``key`` at ``step``: the Python scene's drawing,
    or, for an explorer of a notebook's own objects (no factory rebuilds it), the stored one."""
    from cnnbook.explorer_export import explorer_from, load_state, picture, unpack, values_of

    if index["factory"] is None:
        items = unpack(load_state(folder, index, key), step)
    else:
        items = picture(explorer_from(index["factory"]), values_of(index, key), step)["items"]
    return [painted(item) for item in items]


def move_every_control(page, root, folder: Path) -> list[str]:
    """Move each control of the explorer ``root`` once, from the keyboard, then the step slider
    to its end, then press play; after each, the picture must change and be the scene's."""
    from cnnbook.explorer_export import load_index

    index = load_index(folder)
    problems: list[str] = []

    def check(what: str, before: tuple | None) -> tuple:
        now = explorer_state(page, root)
        key, step, shown = now
        if before is not None and now == before:
            problems.append(f"{what} changed nothing")
        if shown and shown != expected_picture(index, folder, key, int(step)):
            problems.append(f"{what}: the picture of {key} step {step} is not the scene's")
        return now

    now = check("start", None)
    for control in root.query_selector_all(".cnnbook-explorer-controls :is(input, select)"):
        if not control.is_visible():
            continue
        if control.evaluate("(e) => e.tagName") == "SELECT":
            count = control.evaluate("(e) => e.options.length")
            control.focus()
            page.keyboard.press("End" if int(control.input_value()) < count - 1 else "Home")
        else:
            control.focus()
            at_end = control.evaluate("(e) => +e.value === +e.max")
            page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
        page.wait_for_timeout(50)
        now = check(f"control {control.get_attribute('name')}", now)
    step = root.query_selector("input[name=step]")
    if step.is_visible():
        step.focus()
        page.keyboard.press("End")
        now = check("step", now)
        root.query_selector("button").focus()
        page.keyboard.press("Enter")  # play: from the start, as the step was the last
        page.wait_for_timeout(index["interval_ms"] * 1.5)
        check("play", now)
    return problems


def test_explorers_answer_every_control(site: Path, server: str, browser) -> None:
    """Every control of every explorer, moved from the keyboard, changes the picture, and the
    picture is the one the Python scene draws for that state and step; redraws take <100 ms."""
    problems: list[str] = []
    redraws: list[float] = []
    seen: set[str] = set()
    for page_path in pages(site):
        if "cnnbook-explorer" not in (site / page_path).read_text():
            continue
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.on("pageerror", lambda exc, p=problems, n=page_path: p.append(f"{n}: {exc}"))
        page.goto(f"{server}/{page_path}", wait_until="networkidle")
        for root in page.query_selector_all(".cnnbook-explorer"):
            root.scroll_into_view_if_needed()
            page.wait_for_function("(e) => e.dataset.ready", arg=root, timeout=15000)
            name = root.get_attribute("data-src").rstrip("/").rsplit("/", 1)[-1]
            if name in seen:  # the same explorer on another page: that it loads is enough
                continue
            seen.add(name)
            found = move_every_control(page, root, site / "_static" / "explorers" / name)
            problems += [f"{page_path} {name}: {problem}" for problem in found]
            redraws += page.evaluate(
                "(e) => window.cnnbookExplorers.find(x => x.root === e).redraws", root)
        context.close()
    assert seen, "no explorer on any page"
    assert not problems, "\n".join(problems)
    redraws.sort()
    assert redraws and redraws[len(redraws) // 2] <= 100, f"median redraw of {redraws} ms"


VISIBLE_SEARCH_BOXES = """() => [...document.querySelectorAll(
    '.search-button-field, .search-button, form.bd-search')].filter(e => {
  const box = e.getBoundingClientRect();
  return e.offsetParent !== null && box.width > 0 && box.height > 0;
}).length"""


OVERFLOWING = """() => {
  // Elements of the text column that stick out of it, unless a scrolling box holds them.
  const column = document.querySelector('article.bd-article') || document.querySelector('article');
  if (!column) return [];
  const limit = column.getBoundingClientRect().right + 1;
  const scrolls = (el) => {
    for (let up = el.parentElement; up && up !== column; up = up.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  const out = [];
  const kinds = 'img, figure, .animation, table, mjx-container, p, li, h1, h2, h3';
  for (const el of column.querySelectorAll(kinds)) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > limit && !scrolls(el)) {
      const text = el.textContent.trim().slice(0, 40);
      out.push(`${el.tagName.toLowerCase()} ends at ${Math.round(box.right)} px: ${text}`);
    }
  }
  return out.slice(0, 3);
}"""


#: The smallest text an explorer may show, in CSS pixels: on a desktop, and on a phone (where
#: the picture scrolls sideways inside its box rather than shrink further).
SMALLEST_TEXT_PX = {False: 11, True: 9}

# Each text of each explorer's picture at the size the reader sees it.
EXPLORER_TEXT_SIZES = """() => [...document.querySelectorAll('svg.cnnbook-explorer-picture')]
  .filter(svg => svg.style.display !== 'none' && svg.getBoundingClientRect().width > 0)
  .flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map(
      t => [scale * +t.getAttribute('font-size'), t.textContent.slice(0, 30)]);
  })"""

# Each book picture (a cell's figure, an animation frame, a page's figure) as the reader sees
# it: its smallest text in CSS pixels (from the size it is drawn for, --width, and its smallest
# text at that size, --text), and whether its box scrolls sideways.
PICTURES = """() => [...document.querySelectorAll('img.cnnbook-picture')]
  .filter(i => i.offsetParent !== null && i.getBoundingClientRect().width > 0)
  .map(i => {
    const style = getComputedStyle(i);
    const scale = i.getBoundingClientRect().width / parseFloat(style.getPropertyValue('--width'));
    const box = i.closest('figure, p, div.animation, div.cell_output');
    return {text: scale * parseFloat(style.getPropertyValue('--text')),
            animation: !!i.closest('.animation'), scrolls: box.scrollWidth > box.clientWidth + 1,
            name: (i.getAttribute('alt') || '').slice(0, 50)};
  })"""
# Pictures of the book that the site could not size (they lack the entries shown_png writes).
UNSIZED = """() => [...document.images].filter(
  i => i.src.includes('/_images/') && !i.classList.contains('cnnbook-picture')).map(i => i.src)"""

# Pictures a screen reader cannot describe: images without alt text, SVG pictures unlabelled.
NO_ALT = """() => [
  ...[...document.images].filter(i => !(i.getAttribute('alt') || '').trim())
    .map(i => (i.getAttribute('src') || '').slice(0, 60)),
  ...[...document.querySelectorAll('svg[role=img]')].filter(
    s => !(s.getAttribute('aria-label') || '').trim()).map(s => 'an unlabelled picture'),
]"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_page_chrome(site: Path, server: str, browser, viewport: dict) -> None:
    """One search box, a description and a favicon on every page; no icon script; nothing
    sticks out of the text column (a wide formula or table scrolls inside it instead); every
    picture has alt text; the text of explorers, animations and figures is large enough, and no
    figure scrolls on a desktop; no request leaves the site."""
    problems: list[str] = []
    for page_path in pages(site):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r, seen=requested: seen.append(r.url))
        page.goto(f"{server}/{page_path}", wait_until="networkidle")
        searches = page.evaluate(VISIBLE_SEARCH_BOXES)
        if searches != 1:
            problems.append(f"{page_path}: {searches} search boxes visible")
        description = page.evaluate("() => document.querySelector('meta[name=description]')"
                                    "?.content || ''")
        if len(description) < 20:
            problems.append(f"{page_path}: no page description ({description!r})")
        icon = page.evaluate("() => document.querySelector('link[rel~=icon]')?.href || ''")
        if not icon or page.request.get(icon).status != 200:
            problems.append(f"{page_path}: no favicon ({icon!r})")
        problems += [f"{page_path}: loads {u}" for u in requested if "fontawesome.js" in u]
        if page.evaluate("() => !!document.querySelector('mjx-container, .math')"):
            page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0",
                                   timeout=20000)
        problems += start_explorers(page)
        problems += [f"{page_path}: sticks out of the column: {o}"
                     for o in page.evaluate(OVERFLOWING)]
        smallest = SMALLEST_TEXT_PX[viewport == PHONE]
        problems += [f"{page_path}: explorer text at {size:.1f} px: {text!r}"
                     for size, text in page.evaluate(EXPLORER_TEXT_SIZES) if size < smallest]
        for picture in page.evaluate(PICTURES):
            # Animations keep the explorers' text size; figures stay readable on a phone.
            least = smallest if picture["animation"] else SMALLEST_TEXT_PX[True]
            if picture["text"] < least - 0.05:
                problems.append(f"{page_path}: picture text at {picture['text']:.1f} px: "
                                f"{picture['name']}")
            if viewport == DESKTOP and picture["scrolls"] and not picture["animation"]:
                problems.append(f"{page_path}: a figure scrolls on a desktop: {picture['name']}")
        problems += [f"{page_path}: unsized picture {src}" for src in page.evaluate(UNSIZED)]
        problems += [f"{page_path}: no alt text: {what}" for what in page.evaluate(NO_ALT)]
        problems += [f"{page_path}: request to another host: {u}" for u in requested
                     if not u.startswith((server, "data:", "blob:"))]
        context.close()
    assert not problems, "\n".join(problems)


def test_icon_fonts_hold_every_icon_used(site: Path) -> None:
    """The subset icon fonts still hold a glyph for every Font Awesome class the pages use."""
    sys.path.insert(0, str(ROOT / "_ext"))
    from cnnbook_site import icon_codepoints, used_icons
    from fontTools.ttLib import TTFont

    css = "".join(p.read_text() for p in (site / "_static").rglob("*.css"))
    table = icon_codepoints(css)
    used = {table[name] for name in used_icons(site) if name in table}
    assert used, "no icons found: the theme changed its markup?"
    fonts = sorted((site / "_static").rglob("fa-*.woff2"))
    held = set().union(*(TTFont(f).getBestCmap().keys() for f in fonts))
    assert used <= held, f"icons without a glyph: {sorted(hex(c) for c in used - held)}"
    assert sum(f.stat().st_size for f in fonts) < 20_000, "icon fonts are not subset"


def test_pages_are_light(site: Path) -> None:
    """No page's HTML passes 400 KB: animation frames are files, and every picture of a cell
    waits until the reader scrolls near it."""
    for page_path in pages(site):
        html = (site / page_path).read_text()
        assert len(html.encode()) <= 400_000, f"{page_path}: {len(html.encode()):,} bytes"
        assert "data:image/png;base64" not in html, f"{page_path}: an image inlined"
        for image in re.findall(r"<img [^>]*_images/[^>]*>", html):
            assert 'loading="lazy"' in image, f"{page_path}: {image[:80]} loads eagerly"


def test_notebook_pages_offer_colab(site: Path) -> None:
    """Every chapter page has an "Open in Colab" link to its notebook on the repository."""
    config = (ROOT / "_config.yml").read_text()
    url = re.search(r"^\s+url:\s*(\S+)", config, re.M).group(1)
    repo = url.removeprefix("https://github.com/")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = (site / "notebooks" / f"{notebook.stem}.html").read_text()
        link = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook.name}"
        assert link in html, f"{notebook.name}: no Colab link {link}"


if os.environ.get("CNNBOOK_SKIP_SITE"):  # pragma: no cover - local convenience
    pytestmark.append(pytest.mark.skip(reason="CNNBOOK_SKIP_SITE is set"))
