/* The job page: poll /jobs/<id>/progress.json every 1.5 s until the job finishes and
 * update the counts, bar, rate, time left, status badges, the papers on this page and the
 * failed papers, without reloading. Texts come from the server, so they match the first
 * render. The live region is only rewritten when its words change. */
(function () {
  "use strict";
  var card = document.getElementById("job-progress");
  if (!card || !window.fetch) return;
  var url = card.getAttribute("data-progress-url");
  var INTERVAL = 1500;
  var failures = 0;

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function setBadge(el, status, label) {
    if (!el) return;
    el.className = "badge badge-" + status;
    setText(el, label);
  }

  function number(n) {
    return n.toLocaleString("en-US");
  }

  function updateSummary(p) {
    setBadge(document.querySelector("[data-job-badge]"), p.status, p.status_label);
    setText(document.querySelector("[data-job-status]"), p.status_label);
    setText(document.getElementById("job-summary"), p.summary);
    setText(document.getElementById("job-eta"), p.eta_text);
    setText(document.getElementById("job-rate"), p.rate_text);
    document.getElementById("job-rate-sep").hidden = !p.rate_text;
    var bar = document.getElementById("job-bar");
    bar.max = p.total || 1;
    bar.value = p.processed;
    setText(bar, p.percent + "%");
    setText(document.getElementById("job-percent"), p.percent + "%");
    setText(document.getElementById("job-done"), number(p.done));
    setText(document.getElementById("job-failed"), number(p.failed));
    var error = document.getElementById("job-error");
    error.hidden = !p.error;
    setText(error, p.error || "");
  }

  function updateItems(items) {
    items.forEach(function (item) {
      var row = document.querySelector('tr[data-position="' + item.position + '"]');
      if (!row) return;
      setBadge(row.querySelector("[data-item-status]"), item.badge, item.status_label);
      setText(row.querySelector("[data-item-probability]"), item.probability_text || "—");
      var error = row.querySelector(".item-error");
      error.hidden = !item.error;
      setText(error, item.error || "");
    });
  }

  function updateFailures(list) {
    var section = document.getElementById("failures");
    var ul = document.getElementById("failure-list");
    section.hidden = !list.length;
    if (ul.children.length === list.length) return;
    ul.textContent = "";
    list.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = "#" + item.position + " " + item.title;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" — " + (item.error || "failed")));
      ul.appendChild(li);
    });
  }

  function finish() {
    card.setAttribute("data-finished", "true");
    var cancel = document.getElementById("cancel-form");
    if (cancel) cancel.hidden = true;
  }

  function showPollError(message) {
    var el = document.getElementById("poll-error");
    el.hidden = !message;
    setText(el, message);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          throw new Error("Your session has ended: reload the page after logging in.");
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (p) {
        failures = 0;
        showPollError("");
        updateSummary(p);
        updateItems(p.items);
        updateFailures(p.failures);
        if (p.finished) finish();
        else setTimeout(poll, INTERVAL);
      })
      .catch(function (err) {
        failures += 1;
        if (/session/.test(err.message)) {
          showPollError(err.message);
          return;
        }
        if (failures >= 3) showPollError("Lost contact with the server; still trying…");
        setTimeout(poll, Math.min(15000, INTERVAL * Math.pow(2, failures)));
      });
  }

  if (card.getAttribute("data-finished") !== "true") setTimeout(poll, INTERVAL);
})();
