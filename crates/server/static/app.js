// Sextant's only script: citation popovers, printing, and the account,
// upload and profile forms. No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function api(method, url, body) {
    var headers = { "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) }).then(function (r) {
      if (r.status === 204) return {};
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || "Request failed");
        return j;
      });
    });
  }

  // Citation marks: show the cited source next to the mark on click or focus.
  var pop = document.getElementById("cite-pop");
  var openFor = null;
  function closePop() {
    if (!pop || pop.hidden) return;
    pop.hidden = true;
    if (openFor) openFor.setAttribute("aria-expanded", "false");
    openFor = null;
  }
  function openPop(mark) {
    var src = document.getElementById(mark.getAttribute("data-cite"));
    if (!pop || !src) return;
    pop.textContent = "";
    src.querySelectorAll(".src-title, .src-section, .src-date, .src-url, .src-passage").forEach(function (el) {
      var p = document.createElement("p");
      p.textContent = el.textContent;
      pop.appendChild(p);
    });
    var r = mark.getBoundingClientRect();
    pop.style.top = (window.scrollY + r.bottom + 6) + "px";
    pop.style.left = Math.max(8, window.scrollX + r.left - 40) + "px";
    pop.hidden = false;
    openFor = mark;
    mark.setAttribute("aria-expanded", "true");
    mark.setAttribute("aria-controls", "cite-pop");
  }
  document.querySelectorAll("a.cite").forEach(function (mark) {
    mark.addEventListener("click", function (e) { e.preventDefault(); openPop(mark); });
    mark.addEventListener("focus", function () { if (!refocusing) openPop(mark); });
  });
  // Escape closes the popover and puts focus back on its mark, without the
  // focus opening it again.
  var refocusing = false;
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !openFor) return;
    var m = openFor;
    closePop();
    refocusing = true;
    m.focus();
    refocusing = false;
  });
  document.addEventListener("click", function (e) { if (pop && !pop.contains(e.target) && !e.target.classList.contains("cite")) closePop(); });

  // The ask field: Enter asks, Shift+Enter starts a new line (the hint says
  // so). Not while an input method is composing text.
  var question = document.getElementById("question");
  if (question && question.form) question.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      if (question.form.requestSubmit) question.form.requestSubmit();
      else if (question.form.reportValidity()) question.form.submit();
    }
  });

  // The profile's setting: may answers be tailored to the records?
  var setting = document.getElementById("personalize-setting");
  if (setting) setting.addEventListener("change", function () {
    var status = document.getElementById("profile-status");
    var on = setting.checked;
    api("POST", "/api/account/settings", { personalize: on })
      .then(function () { status.textContent = on ? "Answers can now be tailored to your records." : "Answers will no longer be tailored to your records."; })
      .catch(function (err) { setting.checked = !on; status.textContent = err.message; });
  });

  var print = document.getElementById("print");
  if (print) print.addEventListener("click", function () { window.print(); });

  var logout = document.getElementById("logout");
  if (logout) logout.addEventListener("click", function () {
    api("POST", "/api/account/logout").then(function () { location.href = "/"; });
  });

  var account = document.getElementById("account-form");
  if (account) account.addEventListener("submit", function (e) {
    e.preventDefault();
    var status = document.getElementById("account-status");
    var action = account.getAttribute("data-action");
    var body = { email: account.email.value, password: account.password.value };
    var login = function () { return api("POST", "/api/account/login", body); };
    (action === "register" ? api("POST", "/api/account/register", body).then(login) : login())
      .then(function () { location.href = "/records"; })
      .catch(function (err) { status.textContent = err.message; });
  });

  var upload = document.getElementById("upload-form");
  if (upload) upload.addEventListener("submit", function (e) {
    e.preventDefault();
    var files = document.getElementById("files").files;
    var status = document.getElementById("upload-status");
    var bar = document.getElementById("upload-progress");
    var data = new FormData();
    for (var i = 0; i < files.length; i++) data.append("file", files[i], files[i].name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/records");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) { bar.value = Math.round(100 * ev.loaded / ev.total); status.textContent = "Uploading: " + bar.value + "%"; }
    });
    xhr.addEventListener("load", function () {
      var j = {};
      try { j = JSON.parse(xhr.responseText); } catch (_) {}
      if (xhr.status === 201) { status.textContent = "Uploaded. Your profile was updated."; location.reload(); }
      else status.textContent = (j.error && j.error.message) || "The upload failed.";
    });
    xhr.addEventListener("error", function () { status.textContent = "The upload failed."; });
    xhr.send(data);
  });

  document.querySelectorAll(".delete-record").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!confirm("Delete this record?")) return;
      api("DELETE", "/api/records/" + encodeURIComponent(b.getAttribute("data-id"))).then(function () { location.reload(); });
    });
  });
  var del = document.getElementById("delete-account");
  if (del) del.addEventListener("click", function () {
    if (!confirm("Delete your account and everything in it? This cannot be undone.")) return;
    api("DELETE", "/api/account").then(function () { location.href = "/"; });
  });

  document.querySelectorAll(".fact-op").forEach(function (b) {
    b.addEventListener("click", function () {
      var change = { op: b.getAttribute("data-op"), field: b.getAttribute("data-field"), fact: b.getAttribute("data-fact") };
      var status = document.getElementById("profile-status");
      var from = b.getAttribute("data-value-from");
      if (from) {
        try { change.value = JSON.parse(document.getElementById(from).value); }
        catch (_) { status.textContent = "The corrected value is not valid JSON."; return; }
      }
      api("POST", "/api/profile/facts", { changes: [change] })
        .then(function () { location.reload(); })
        .catch(function (err) { status.textContent = err.message; });
    });
  });
})();
