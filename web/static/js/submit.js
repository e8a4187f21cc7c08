/* The submit page: the split preview follows the title, abstract, units and model as the
 * person types (POST /submit/preview answers JSON with the partial rendered as HTML, so
 * the page and the no-JS preview look the same). Without JS the "Preview the split"
 * button posts the form and the server renders the preview instead. */
(function () {
  "use strict";
  var form = document.getElementById("submit-form");
  if (!form || !window.fetch || !window.occlab) return;
  var region = document.getElementById("preview");
  var state = document.getElementById("preview-state");
  var button = document.getElementById("preview-button");
  var url = form.getAttribute("data-preview-url");
  var empty = region.querySelector(".preview-empty") ? region.innerHTML : "";
  var timer = null;
  var latest = 0;

  function blank() {
    return !form.elements.title.value.trim() && !form.elements.abstract.value.trim();
  }

  function refresh() {
    if (blank()) {
      if (empty) region.innerHTML = empty;
      return;
    }
    var mine = ++latest;
    var body = new FormData(form);
    body.delete("action");
    state.textContent = "Updating…";
    window.occlab.csrfFetch(url, { method: "POST", body: body, headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (mine !== latest) return;
        region.innerHTML = data.html;
        state.textContent = "";
      })
      .catch(function () {
        if (mine === latest) state.textContent = "Preview unavailable; use the button.";
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  button.addEventListener("click", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    refresh();
  });
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.value === "submit") {
      submitter.disabled = true;
      submitter.textContent = "Submitting…";
      // A disabled button is not sent: keep its value in the form.
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "action";
      hidden.value = "submit";
      form.appendChild(hidden);
    }
  });
  if (!blank() && empty) refresh();
})();
