/* Result and compare pages: heat-map tooltip (hover and keyboard), arrow-key movement
   between cells, the "show values" toggle, the cell-size buttons (with a "fit" view that
   sets the cell width from the box: CSSOM, which the CSP allows, not a style attribute),
   the jump to the whole-paper cell and the feature-trace picker. The page works without
   it; every text goes in through textContent, never innerHTML. */
(function () {
  "use strict";

  function prefix(units, n) {
    return units.slice(0, n + 1).join(" ");
  }

  function row(dl, term, value, cls) {
    var dt = document.createElement("dt");
    var dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    if (cls) { dd.className = cls; }
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function show(fig, data, cell) {
    var i = Number(cell.dataset.i);
    var j = Number(cell.dataset.j);
    var p = Number(cell.dataset.p);
    var verdict = p >= 0.5 ? " — computational" : " — not computational";
    var tip = fig.querySelector("[data-tooltip]");
    var dl = document.createElement("dl");
    var unit = data.units[1] === "sentence" ? "sentence" : "word";
    row(dl, "Title (" + (i + 1) + " of " + data.title.length + ")", prefix(data.title, i));
    row(dl, "Abstract (" + (j + 1) + " " + unit + (j ? "s" : "") + ")", prefix(data.abstract, j));
    // The server formats the values (shared.scales): P and the scale's own, e.g. log-odds.
    row(dl, "Cell", cell.dataset.tip + verdict, "tip-p");
    tip.replaceChildren(dl);
    var old = fig.querySelector(".hm-cell.is-active");
    if (old) { old.classList.remove("is-active"); }
    cell.classList.add("is-active");
  }

  function move(fig, cell, key) {
    var i = Number(cell.dataset.i);
    var j = Number(cell.dataset.j);
    var step = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[key];
    var target = null;
    if (step) {
      target = fig.querySelector('.hm-cell[data-i="' + (i + step[0]) + '"][data-j="' + (j + step[1]) + '"]');
    } else if (key === "Home" || key === "End") {
      var cells = fig.querySelectorAll('.hm-cell[data-i="' + i + '"]');
      target = key === "Home" ? cells[0] : cells[cells.length - 1];
    }
    if (!target) { return false; }
    cell.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
    return true;
  }

  var FIT_MIN_PX = 1;

  function fitWidth(table, box) {
    var cells = table.querySelectorAll("tbody tr:first-child .hm-cell");
    var label = table.querySelector(".hm-row");
    // 24 px to spare: the last column's label, a line of text wide, hangs past its cell.
    var room = box.clientWidth - (label ? label.offsetWidth : 0) - 24;
    // Fractions of a pixel are fine (layout is subpixel): 137 words fit a phone's 200 px.
    var px = Math.max(FIT_MIN_PX, Math.floor(100 * room / Math.max(1, cells.length)) / 100);
    table.style.setProperty("--hm-w", px + "px");
  }

  function setZoom(fig, zoom) {
    var table = fig.querySelector(".heatmap");
    var box = fig.querySelector(".heatmap-scroll");
    ["l", "m", "s", "fit"].forEach(function (z) { table.classList.toggle("hm-" + z, z === zoom); });
    if (zoom === "fit") { fitWidth(table, box); } else { table.style.removeProperty("--hm-w"); }
    fig.querySelectorAll("[data-zoom]").forEach(function (b) {
      var on = b.dataset.zoom === zoom;
      b.classList.toggle("is-on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    table.dataset.zoom = zoom;
  }

  function initZoom(fig) {
    var group = fig.querySelector("[data-zoom-group]");
    if (!group) { return; }
    group.hidden = false;
    group.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (button) { setZoom(fig, button.dataset.zoom); }
    });
    window.addEventListener("resize", function () {
      var table = fig.querySelector(".heatmap");
      if (table.dataset.zoom === "fit") { fitWidth(table, fig.querySelector(".heatmap-scroll")); }
    });
  }

  function initJump(fig, data) {
    var link = fig.querySelector("[data-jump-whole]");
    if (!link) { return; }
    link.addEventListener("click", function (event) {
      var cell = fig.querySelector(".hm-cell.is-whole");
      if (!cell) { return; }
      event.preventDefault();
      // The cell, scrolled inside the grid's box (not under the sticky row labels, which
      // sit to its left), then the page scrolled to the box; focus shows its tooltip.
      var box = fig.querySelector(".heatmap-scroll");
      box.scrollLeft = box.scrollWidth;
      box.scrollTop = 0;
      var old = fig.querySelector('.hm-cell[tabindex="0"]');
      if (old) { old.tabIndex = -1; }
      cell.tabIndex = 0;
      cell.focus({ preventScroll: true });
      cell.scrollIntoView({ block: "nearest", inline: "nearest" });
      show(fig, data, cell);
    });
  }

  function initHeatmap(fig) {
    var data = JSON.parse(fig.querySelector("[data-heatmap-data]").textContent);
    var table = fig.querySelector(".heatmap");
    var toggle = fig.querySelector("[data-toggle-values]");
    var onCell = function (event) {
      var cell = event.target.closest(".hm-cell");
      if (cell && table.contains(cell)) { show(fig, data, cell); }
    };
    table.addEventListener("mouseover", onCell);
    table.addEventListener("focusin", onCell);
    table.addEventListener("keydown", function (event) {
      var cell = event.target.closest(".hm-cell");
      if (cell && move(fig, cell, event.key)) { event.preventDefault(); }
    });
    if (toggle) {
      toggle.addEventListener("change", function () {
        table.classList.toggle("show-values", toggle.checked);
        // Values are printed in large cells only: smaller ones could not hold "+11.7".
        if (toggle.checked && !table.classList.contains("hm-l")) { setZoom(fig, "l"); }
      });
      table.classList.toggle("show-values", toggle.checked);
    }
    initZoom(fig);
    initJump(fig, data);
  }

  function initTraces(select) {
    var panel = select.closest(".activations");
    select.addEventListener("change", function () {
      panel.querySelectorAll("[data-trace]").forEach(function (fig) {
        fig.hidden = fig.dataset.trace !== select.value;
      });
    });
  }

  document.querySelectorAll("[data-heatmap]").forEach(initHeatmap);
  document.querySelectorAll("[data-trace-select]").forEach(initTraces);
})();
