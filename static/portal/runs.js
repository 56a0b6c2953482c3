/* While a certification run is queued or running, the version page asks for its runs
   section every two seconds and swaps it in, so stage progress shows without a reload. Once
   no run is active it reads the page once more and swaps in every part a finished run
   changes (those marked data-after-run: the badges, the certificate, the runs and the form
   to submit again), keeping the rest of the page (a yank reason being typed) as it is. A
   swap keeps what the person did in the parts it replaces: the reports they opened stay
   open, the summary they were on keeps the focus and the page stays where it was scrolled.
   Once the session has ended (signed out in another tab, expired), the requests land on the
   sign-in page: the page says so, with a link to sign in and come back, and stops asking. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  function SignedOut() {}

  function get(url, accept) {
    return fetch(url, {headers: {"Accept": accept}, credentials: "same-origin"})
      .then(function (response) {
        if (response.redirected &&
            new URL(response.url).pathname.indexOf("/portal/sign-in/") === 0) {
          throw new SignedOut();
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response;
      });
  }

  /* Tell the person, visibly, that progress stopped showing, and how to see it again. */
  function signedOut() {
    var notice = document.createElement("p");
    notice.id = "runs-signed-out";
    notice.className = "refusal";
    notice.setAttribute("role", "alert");
    var link = document.createElement("a");
    link.href = "/portal/sign-in/?next=" + encodeURIComponent(window.location.pathname);
    link.textContent = "Sign in again";
    notice.append("You were signed out, so this page no longer shows the run's progress. ",
                  link, " to follow it.");
    document.getElementById("runs").before(notice);
  }

  function retryOr(again, delay) {
    return function (error) {
      if (error instanceof SignedOut) { signedOut(); return; }
      window.setTimeout(again, delay);
    };
  }

  /* Fresh HTML renders every <details> (a stage report, its logs) closed: those open in
     `parts` before `swap()` are opened again after it, found by their id (stable across
     renders, e.g. run-12-stage-validation). */
  function swapKeeping(parts, swap) {
    var open = [];
    var focused = null;
    var active = document.activeElement;
    parts.forEach(function (part) {
      part.querySelectorAll("details[open][id]").forEach(function (d) { open.push(d.id); });
      if (active && active.tagName === "SUMMARY" && active.parentElement.id &&
          part.contains(active)) { focused = active.parentElement.id; }
    });
    var x = window.scrollX, y = window.scrollY;
    swap();
    open.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) { details.open = true; }
    });
    var summary = focused && document.querySelector("#" + CSS.escape(focused) + " > summary");
    if (summary) { summary.focus({preventScroll: true}); }
    window.scrollTo(x, y);
  }

  function showFinished() {
    get(window.location.href, "text/html")
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var parts = Array.prototype.slice.call(document.querySelectorAll("[data-after-run]"));
        swapKeeping(parts, function () {
          parts.forEach(function (part) {
            var replacement = fresh.getElementById(part.id);
            if (replacement) { part.replaceWith(document.adoptNode(replacement)); }
          });
        });
        document.getElementById("run-status").textContent = "Certification finished.";
        watch();  // a run submitted meanwhile (another tab, the API) is followed in turn
      })
      .catch(retryOr(showFinished, 5000));
  }

  function poll() {
    var section = document.getElementById("runs");
    get(section.dataset.url, "application/json")
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.active) {
          swapKeeping([section], function () {
            section.innerHTML = body.html;  // server-rendered, escaped by the template engine
          });
          window.setTimeout(poll, 2000);
        } else {
          showFinished();
        }
      })
      .catch(retryOr(poll, 5000));
  }

  function watch() {
    var section = document.getElementById("runs");
    if (section && section.dataset.active === "true") { window.setTimeout(poll, 1000); }
  }

  watch();
});
