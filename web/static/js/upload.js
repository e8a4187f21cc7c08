/* The upload pages.
 * Step 1: say at once when the chosen file is over the size limit, instead of sending it.
 * Step 2: when a column, unit or model choice changes, post the form for a preview and
 * swap in the new results (rows, problems, start button) without reloading, so focus stays
 * on the control. Without JS the "Update preview" button does the same with a reload. */
(function () {
  "use strict";

  function megabytes(bytes) {
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function stepOne(form) {
    var input = form.querySelector("#file");
    var error = form.querySelector("#file-error");
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10);

    function check() {
      var file = input.files && input.files[0];
      var message = "";
      if (file && limit && file.size > limit) {
        message = file.name + " is " + megabytes(file.size) + "; the limit is " +
          megabytes(limit) + ". Split it into smaller files.";
      }
      error.textContent = message;
      error.hidden = !message;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      return !message;
    }

    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      if (!check()) {
        event.preventDefault();
        input.focus();
        return;
      }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = "Uploading…";
    });
  }

  function syncErrors(fresh) {
    ["map_title", "map_abstract", "map_id", "model"].forEach(function (name) {
      var control = document.getElementById(name);
      var next = fresh.getElementById(name);
      if (!control || !next) return;
      var old = document.getElementById(name + "-error");
      var replacement = fresh.getElementById(name + "-error");
      if (old) old.remove();
      if (replacement) control.parentNode.appendChild(document.importNode(replacement, true));
      ["aria-invalid", "aria-describedby"].forEach(function (attr) {
        if (next.hasAttribute(attr)) control.setAttribute(attr, next.getAttribute(attr));
        else control.removeAttribute(attr);
      });
    });
  }

  function stepTwo(form) {
    var region = document.getElementById("upload-results");
    var latest = 0;

    function refresh() {
      var mine = ++latest;
      var body = new FormData(form);
      body.set("action", "preview");
      region.setAttribute("aria-busy", "true");
      // form.action would be the buttons named "action": read the attribute.
      window.occlab.csrfFetch(form.getAttribute("action"), { method: "POST", body: body })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (mine !== latest) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var results = fresh.getElementById("upload-results");
          if (results) region.innerHTML = results.innerHTML;
          syncErrors(fresh);
          var formError = document.getElementById("form-error");
          if (formError) formError.remove();
        })
        .catch(function () {
          if (mine === latest) form.submit();  // fall back to the page's own preview
        })
        .then(function () {
          if (mine === latest) region.removeAttribute("aria-busy");
        });
    }

    form.addEventListener("change", function (event) {
      if (event.target.name === "skip_bad") return;
      refresh();
    });
  }

  var upload = document.getElementById("upload-form");
  if (upload) stepOne(upload);
  var review = document.getElementById("review-form");
  if (review && window.fetch && window.DOMParser && window.occlab) stepTwo(review);
})();
