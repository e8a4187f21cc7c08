/* The compare page's pickers: as the person types in a side's search box, the same GET the
 * Search button sends is fetched and only that side's list of matches is replaced, so the
 * typed text, the focus and the other side stay as they are. Without JS the Search buttons
 * do the same with a page load. */
(function () {
  "use strict";
  var form = document.getElementById("compare-form");
  if (!form || !window.fetch || !window.DOMParser) return;
  var timers = {};
  var latest = {};

  function refresh(key) {
    var mine = (latest[key] = (latest[key] || 0) + 1);
    var params = new URLSearchParams(new FormData(form));
    params.set("find", key);
    fetch(form.action + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== latest[key]) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("#pick-" + key + " [data-pick-list]");
        var here = document.querySelector("#pick-" + key + " [data-pick-list]");
        if (fresh && here) here.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* the Search button still works */ });
  }

  ["a", "b"].forEach(function (key) {
    var box = document.getElementById("cmp-q" + key);
    if (!box) return;
    box.addEventListener("input", function () {
      clearTimeout(timers[key]);
      timers[key] = setTimeout(function () { refresh(key); }, 300);
    });
  });
})();
