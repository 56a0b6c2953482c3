/* While a certification run is queued or running, the version page asks for its runs
   section every two seconds and swaps it in, so stage progress shows without a reload. Once
   no run is active it reads the page once more and swaps in every part a finished run
   changes (those marked data-after-run: the badges, the certificate, the runs and the form
   to submit again), keeping the rest of the page (a yank reason being typed) as it is. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  function get(url, accept) {
    return fetch(url, {headers: {"Accept": accept}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response;
      });
  }

  function showFinished() {
    get(window.location.href, "text/html")
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-after-run]").forEach(function (part) {
          var replacement = fresh.getElementById(part.id);
          if (replacement) { part.replaceWith(document.adoptNode(replacement)); }
        });
        document.getElementById("run-status").textContent = "Certification finished.";
        watch();  // a run submitted meanwhile (another tab, the API) is followed in turn
      })
      .catch(function () { window.setTimeout(showFinished, 5000); });
  }

  function poll() {
    var section = document.getElementById("runs");
    get(section.dataset.url, "application/json")
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.active) {
          section.innerHTML = body.html;  // server-rendered, escaped by the template engine
          window.setTimeout(poll, 2000);
        } else {
          showFinished();
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  function watch() {
    var section = document.getElementById("runs");
    if (section && section.dataset.active === "true") { window.setTimeout(poll, 1000); }
  }

  watch();
});
