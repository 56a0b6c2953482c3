/* The upload form sends its files with XMLHttpRequest so the bar can follow the bytes
   (upload progress events); refusals come back as JSON {code, detail, where, doc_url}. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var box = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var percent = document.getElementById("upload-percent");
  var refusal = document.getElementById("refusal");
  var button = form.querySelector("button[type=submit]");

  function show(value) {
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
  }

  // A field the form refused (invalid_form's ``fields``) is marked as the page marks it
  // without this script (templates/portal/_fields.html): in error, described by its error.
  function mark(name, messages) {
    var input = form.elements[name];
    if (!input || !input.id) { return name; }
    var errors = document.createElement("div");
    errors.id = input.id + "_error";
    errors.setAttribute("data-marked", "");
    messages.forEach(function (text) {
      var line = document.createElement("p");
      line.className = "error";
      line.textContent = text;
      errors.append(line);
    });
    var box = input.closest(".field") || input.parentNode;
    box.classList.add("invalid");
    box.append(errors);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("data-marked", "");
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", described.concat(errors.id).join(" "));
    var label = form.querySelector("label[for='" + input.id + "']");
    return label ? label.textContent : name;
  }

  function unmark() {
    form.querySelectorAll("div[data-marked]").forEach(function (errors) {
      errors.parentNode.classList.remove("invalid");
      errors.remove();
    });
    form.querySelectorAll("[data-marked]").forEach(function (input) {
      var described = (input.getAttribute("aria-describedby") || "").split(" ")
        .filter(function (id) { return id && id !== input.id + "_error"; });
      if (described.length) {
        input.setAttribute("aria-describedby", described.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
      input.removeAttribute("aria-invalid");
      input.removeAttribute("data-marked");
    });
  }

  function refuse(body) {
    refusal.textContent = "";
    var panel = document.createElement("div");
    panel.className = "refusal";
    panel.setAttribute("role", "alert");
    var line = document.createElement("p");
    var code = document.createElement("strong");
    code.className = "code";
    code.textContent = body.code || "error";
    var detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = body.detail || "The upload was refused.";
    line.append(code, ": ", detail);
    if (body.where) {
      var where = document.createElement("code");
      where.textContent = body.where;
      line.append(" (", where, ")");
    }
    panel.append(line);
    if (body.fields) {
      var list = document.createElement("ul");
      Object.keys(body.fields).forEach(function (name) {
        var item = document.createElement("li");
        item.textContent = mark(name, body.fields[name]) + ": " + body.fields[name].join(" ");
        list.append(item);
      });
      panel.append(list);
    }
    if (body.doc_url) {
      var help = document.createElement("p");
      var link = document.createElement("a");
      link.href = body.doc_url;
      link.textContent = "What this means in the package format";
      help.append(link);
      panel.append(help);
    }
    refusal.append(panel);
    // A box takes the focus only with a tabindex; without one the focus stayed where the
    // disabled Upload button dropped it, at the top of the page.
    panel.setAttribute("tabindex", "-1");
    panel.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { show(Math.round(100 * e.loaded / e.total)); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL.indexOf("/portal/sign-in/") !== -1) {
        window.location.assign(xhr.responseURL);  // the session ended: sign in again
        return;
      }
      var body = xhr.response || {};
      if (xhr.status === 201 && body.redirect) {
        show(100);
        window.location.assign(body.redirect);
        return;
      }
      // The bytes arrived and the server refused them: the refusal says so, and the bar
      // ("Uploading 100%") would say the upload is still going.
      button.disabled = false;
      box.hidden = true;
      refuse(body);
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      box.hidden = true;
      refuse({code: "network_error", detail: "The upload did not reach the server; try again."});
    });
    refusal.textContent = "";
    unmark();
    show(0);
    box.hidden = false;
    button.disabled = true;
    xhr.send(new FormData(form));
  });
});
