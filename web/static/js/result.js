/* Result and compare pages: heat-map tooltip (hover and keyboard), arrow-key movement
   between cells, the "show values" toggle and the feature-trace picker. The page works
   without it; every text goes in through textContent, never innerHTML. */
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
      });
      table.classList.toggle("show-values", toggle.checked);
    }
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
