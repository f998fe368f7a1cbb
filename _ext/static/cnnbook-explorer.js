// The book's explorers on the static site: controls over states drawn ahead of time.
//
// Every state of an explorer (each combination of its controls' values, each step) was drawn
// by the notebook widget's own scene code into a display list of paths, text and images
// (cnnbook/draw/display_list.py, cnnbook/explorer_export.py). This file only paints such lists
// as SVG and offers the controls: it knows nothing about convolutions, so the page can never
// show a picture the book's tested code did not draw.
//
// Markup: <div class="cnnbook-explorer" data-src="URL of the explorer's folder/"></div>.
// The index and the states load when the explorer scrolls into view.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const FONTS = {
    sans: "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, sans-serif",
    mono: "'DejaVu Sans Mono', Menlo, Consolas, monospace",
  };
  // Scenes are drawn at 80 dpi, where 9-point labels are 10 pixels: the page shows them larger,
  // so that the smallest text is at least this many CSS pixels while the column allows.
  const SMALLEST_TEXT_PX = 11;
  const MOST_ENLARGED = 1.6;
  const SMALLEST_TEXT_PX_NARROW = 9;

  // ---- Data: JSON, gzipped JSON (unzipped here unless the server already did) -------------
  async function fetchJSON(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    let text;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      text = await new Response(stream).text();
    } else {
      text = new TextDecoder().decode(bytes);
    }
    return JSON.parse(text);
  }

  // ---- Painting a display list ----------------------------------------------------------
  function element(item) {
    const [kind] = item;
    let node;
    if (kind === "p") {
      const [, d, fill, stroke, width, dashes] = item;
      node = document.createElementNS(SVG, "path");
      node.setAttribute("d", d);
      node.setAttribute("fill", fill);
      node.setAttribute("stroke", stroke);
      if (stroke !== "none") node.setAttribute("stroke-width", width);
      if (dashes) node.setAttribute("stroke-dasharray", dashes);
    } else if (kind === "t") {
      const [, x, y, text, size, colour, family, weight, angle, length] = item;
      node = document.createElementNS(SVG, "text");
      node.setAttribute("x", x);
      node.setAttribute("y", y);
      node.setAttribute("font-size", size);
      node.setAttribute("fill", colour);
      node.setAttribute("font-family", FONTS[family] || FONTS.sans);
      if (weight !== "normal") node.setAttribute("font-weight", weight);
      if (angle) node.setAttribute("transform", `rotate(${-angle} ${x} ${y})`);
      // Stretched to matplotlib's measured width: the layout holds in any browser font.
      if (length > 0) {
        node.setAttribute("textLength", length);
        node.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
      node.setAttribute("xml:space", "preserve");
      node.textContent = text;
    } else if (kind === "i") {
      const [, x, y, width, height, url] = item;
      node = document.createElementNS(SVG, "image");
      node.setAttribute("x", x);
      node.setAttribute("y", y);
      node.setAttribute("width", width);
      node.setAttribute("height", height);
      node.setAttribute("preserveAspectRatio", "none");
      node.setAttribute("style", "image-rendering: pixelated");
      node.setAttribute("href", url);
    } else {
      throw new Error(`unknown display-list item ${kind}`);
    }
    return node;
  }

  // The item numbers of one step: the frames hold runs [first, last, first, last, ...].
  function stepItems(state, step) {
    const runs = state.frames[step];
    const ids = [];
    for (let r = 0; r < runs.length; r += 2) {
      for (let i = runs[r]; i <= runs[r + 1]; i++) ids.push(i);
    }
    return ids;
  }

  function smallestText(state) {
    let smallest = Infinity;
    for (const item of state.items) if (item[0] === "t") smallest = Math.min(smallest, item[4]);
    return smallest;
  }

  // ---- One explorer ---------------------------------------------------------------------
  class Explorer {
    constructor(root) {
      this.root = root;
      this.base = root.dataset.src;
      this.chunks = new Map(); // chunk number -> promise of its states
      this.nodes = new Map(); // state key -> cached SVG nodes of its items
      this.redraws = []; // milliseconds from a control's change to the new picture
      this.playing = null;
    }

    async start() {
      this.index = await fetchJSON(this.base + "index.json");
      this.positions = this.index.controls.map((c) => c.start);
      this.build();
      await this.show(0);
      this.root.dataset.ready = "true";
    }

    build() {
      const root = this.root;
      root.replaceChildren();
      const panel = document.createElement("div");
      panel.className = "cnnbook-explorer-controls";
      this.labels = {};
      this.inputs = this.index.controls.map((control, k) => {
        const label = document.createElement("label");
        const name = document.createElement("span");
        name.textContent = control.label;
        label.append(name);
        let input;
        if (control.kind === "select") {
          input = document.createElement("select");
          control.values.forEach((value, v) => input.add(new Option(String(value), v)));
          input.value = String(control.start);
          label.append(input);
        } else {
          input = document.createElement("input");
          input.type = "range";
          input.min = 0;
          input.max = control.values.length - 1;
          input.step = 1;
          input.value = control.start;
          const shown = document.createElement("output");
          shown.textContent = String(control.values[control.start]);
          input.addEventListener("input", () => {
            shown.textContent = String(control.values[+input.value]);
          });
          label.append(input, shown);
        }
        input.name = control.name;
        input.addEventListener("input", () => this.change(k, +input.value));
        this.labels[control.name] = label;
        panel.append(label);
        return input;
      });
      const stepper = document.createElement("div");
      stepper.className = "cnnbook-explorer-stepper";
      this.play = document.createElement("button");
      this.play.type = "button";
      this.play.textContent = "▶ play";
      this.play.setAttribute("aria-label", "Play the steps");
      this.play.addEventListener("click", () => this.toggle());
      const stepLabel = document.createElement("label");
      const stepName = document.createElement("span");
      stepName.textContent = "step";
      this.step = document.createElement("input");
      this.step.type = "range";
      this.step.name = "step";
      this.step.min = 0;
      this.step.value = 0;
      this.stepShown = document.createElement("output");
      this.step.addEventListener("input", () => this.draw(+this.step.value, performance.now()));
      stepLabel.append(stepName, this.step, this.stepShown);
      stepper.append(this.play, stepLabel);
      this.stepper = stepper;
      this.message = document.createElement("p");
      this.message.className = "cnnbook-explorer-error";
      this.message.setAttribute("role", "alert");
      this.svg = document.createElementNS(SVG, "svg");
      this.svg.setAttribute("role", "img");
      this.svg.classList.add("cnnbook-explorer-picture");
      root.append(panel, stepper, this.message, this.svg);
    }

    key(positions) {
      return positions.join(",");
    }

    // The state a combination shows: a drawn state, an error, or the one it is the same as.
    lookup(positions) {
      let key = this.key(positions);
      let entry = this.index.states[key];
      if (entry && entry.same !== undefined) {
        key = entry.same;
        entry = this.index.states[key];
      }
      return [key, entry];
    }

    chunk(number) {
      if (!this.chunks.has(number)) {
        this.chunks.set(number, fetchJSON(`${this.base}chunk-${number}.json.gz`));
      }
      return this.chunks.get(number);
    }

    async change(k, position) {
      const started = performance.now();
      this.positions[k] = position;
      await this.show(started);
    }

    async show(started) {
      const positions = this.positions.slice();
      const [key, entry] = this.lookup(positions);
      if (!entry) throw new Error(`no state for ${positions}`);
      this.entry = entry;
      this.key_ = key;
      if (entry.error !== undefined) {
        this.stop();
        this.message.textContent = entry.error;
        this.message.hidden = false;
        this.svg.style.display = "none"; // the message takes the picture's place
        this.stepper.hidden = true;
        this.root.dataset.state = key;
        this.root.dataset.step = "";
        this.finish(started);
        return;
      }
      const states = await this.chunk(entry.chunk);
      if (this.key(this.positions) !== this.key(positions)) return; // moved on meanwhile
      this.state = states[key];
      this.message.hidden = true;
      this.svg.style.display = "";
      for (const control of this.index.controls) {
        this.labels[control.name].hidden = !entry.acting.includes(control.name);
      }
      const last = entry.steps - 1;
      this.stepper.hidden = last === 0; // one step: nothing to step through or play
      this.step.max = last;
      const step = Math.min(+this.step.value, last);
      this.step.value = step;
      this.svg.setAttribute("viewBox", `0 0 ${this.state.width} ${this.state.height}`);
      const smallest = smallestText(this.state);
      const enlarge = Math.min(MOST_ENLARGED, Math.max(1, SMALLEST_TEXT_PX / smallest));
      this.svg.setAttribute("width", Math.round(this.state.width * enlarge));
      this.svg.setAttribute("height", Math.round(this.state.height * enlarge));
      // In a narrower column the picture shrinks, but not below the size where its smallest
      // text is 11 px (9 px on a phone, see cnnbook.css): then it scrolls sideways in its box.
      this.svg.style.setProperty("--wide-min", `${Math.ceil((this.state.width * SMALLEST_TEXT_PX) / smallest)}px`);
      this.svg.style.setProperty("--narrow-min", `${Math.ceil((this.state.width * SMALLEST_TEXT_PX_NARROW) / smallest)}px`);
      this.svg.setAttribute("aria-label", entry.alt);
      this.draw(step, started);
    }

    draw(step, started) {
      if (!this.state) return;
      this.root.dataset.state = this.key_;
      this.root.dataset.step = String(step);
      this.stepShown.textContent = `${step} of ${this.entry.steps - 1}`;
      if (!this.nodes.has(this.key_)) this.nodes.set(this.key_, []);
      const cache = this.nodes.get(this.key_);
      const items = this.state.items;
      this.svg.replaceChildren(
        ...stepItems(this.state, step).map((i) => cache[i] || (cache[i] = element(items[i]))),
      );
      this.finish(started);
    }

    finish(started) {
      if (started !== undefined && started > 0) {
        // After the browser has laid out and painted the new picture.
        requestAnimationFrame(() => setTimeout(() => {
          this.redraws.push(performance.now() - started);
        }, 0));
      }
    }

    toggle() {
      if (this.playing) return this.stop();
      if (+this.step.value >= +this.step.max) this.draw((this.step.value = 0), 0);
      this.play.textContent = "❚❚ pause";
      this.play.setAttribute("aria-label", "Pause");
      this.playing = setInterval(() => {
        const next = +this.step.value + 1;
        if (next > +this.step.max) return this.stop();
        this.step.value = next;
        this.draw(next, 0);
      }, this.index.interval_ms);
    }

    stop() {
      clearInterval(this.playing);
      this.playing = null;
      if (this.play) {
        this.play.textContent = "▶ play";
        this.play.setAttribute("aria-label", "Play the steps");
      }
    }
  }

  // ---- Start each explorer when it comes into view ------------------------------------
  const explorers = [];
  window.cnnbookExplorers = explorers; // for tests and for measuring redraw times

  function begin(root) {
    if (root.dataset.started) return;
    root.dataset.started = "true";
    const explorer = new Explorer(root);
    explorers.push(explorer);
    explorer.start().catch((error) => {
      root.dataset.failed = String(error);
      root.textContent = `The explorer could not load: ${error.message}`;
      throw error;
    });
  }

  function init() {
    const roots = document.querySelectorAll(".cnnbook-explorer[data-src]");
    if (!("IntersectionObserver" in window)) return roots.forEach(begin);
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          begin(entry.target);
        }
      }
    }, { rootMargin: "400px 0px" });
    roots.forEach((root) => observer.observe(root));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
