/* While a certification run is queued or running, the version page asks for its runs
   section every two seconds and swaps it in, so stage progress shows without a reload. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var section = document.getElementById("runs");
  if (!section || section.dataset.active !== "true") { return; }
  var url = section.dataset.url;

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        section.innerHTML = body.html;  // server-rendered, escaped by the template engine
        section.dataset.active = body.active ? "true" : "false";
        if (body.active) {
          window.setTimeout(poll, 2000);
        } else {
          document.getElementById("run-status").textContent = "Certification finished.";
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
});
