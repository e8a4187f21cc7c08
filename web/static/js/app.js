/* Occlusion Lab: the small amount of script every page shares (no inline JS: CSP).
 *
 * - marks <html> with .js so no-JS fallbacks (.js-hide) disappear;
 * - <select data-autosubmit> submits its form on change (the team switcher);
 * - [data-copy="#id"] buttons copy the target's text to the clipboard;
 * - [data-confirm="message"] on a form asks before submitting;
 * - window.occlab.csrfFetch(url, options): fetch with the X-CSRFToken header set.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function csrfFetch(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    headers.set("X-CSRFToken", csrfToken());
    options.headers = headers;
    options.credentials = options.credentials || "same-origin";
    return fetch(url, options);
  }

  window.occlab = { csrfToken: csrfToken, csrfFetch: csrfFetch };

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    navigator.clipboard.writeText(target.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();
