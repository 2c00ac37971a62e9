// Small progressive enhancements: every page works without this file.
(function () {
  "use strict";
  var COOKIE = "practice_tz";

  function detectedZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // Show times in the visitor's own zone: only when the page fell back to the practice default.
  function adoptBrowserZone() {
    // Other pages reuse the picker's look (the worksheet library's booking picker): not a zone.
    var select = document.querySelector("form.zone-picker select[name=tz]");
    if (!select) return;
    var picker = select.form;
    if (picker.getAttribute("data-zone-source") !== "default") return;
    var zone = detectedZone();
    if (!zone || zone === select.value) return;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!known) return;
    document.cookie = COOKIE + "=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    select.value = zone;
    picker.submit();
  }

  // Partner fields only matter for a couple.
  function toggleCoupleFields() {
    var box = document.querySelector("[data-show-when-couple]");
    if (!box) return;
    var radios = document.querySelectorAll("input[name=kind]");
    function update() {
      var couple = document.querySelector("input[name=kind]:checked");
      box.hidden = !(couple && couple.value === "couple") && !box.querySelector(".error");
    }
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", update); });
    update();
  }

  // A second click while the first submit is on its way does nothing (the server copes anyway).
  function submitOnce() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[data-once]");
        if (!button) return;
        setTimeout(function () { button.disabled = true; button.textContent = "One moment…"; }, 0);
      });
    });
  }

  // Intake answers save as they change, so closing the tab loses nothing. The form's own
  // "Save and finish later" button does the same without JavaScript.
  function autosave() {
    var form = document.querySelector("form[data-autosave]");
    if (!form || !window.fetch || !window.FormData) return;
    var url = form.getAttribute("data-autosave");
    var status = document.querySelector("[data-autosave-status]");
    var token = form.querySelector("input[name=csrf_token]");
    var timers = {};
    var inflight = [];
    function say(text) { if (status) status.textContent = text; }
    // A safety question answered "yes": crisis help appears at once, not after Send.
    function showCrisis(field) {
      var box = form.querySelector("[data-crisis]");
      if (!box || !box.hidden) return;
      // Right under the question just answered, so it is seen; focus stays where it was.
      var question = field && field.closest && field.closest(".question");
      if (question && question.parentNode) question.parentNode.insertBefore(box, question.nextSibling);
      box.setAttribute("role", "alert");
      box.hidden = false;
    }
    function save(field) {
      var body = new FormData();
      body.append("csrf_token", token ? token.value : "");
      var checked = field.type === "radio"
        ? form.querySelector("input[name='" + field.name + "']:checked") : field;
      body.append(field.name, checked ? checked.value : "");
      var request = fetch(url, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          say(response.ok ? "Saved." : "We couldn't save just now; your answers are still here.");
          if (response.ok) return response.json().then(function (data) { if (data.urgent) showCrisis(field); });
        })
        .catch(function () { say("We couldn't save just now; your answers are still here."); })
        .then(function () { inflight.splice(inflight.indexOf(request), 1); });
      inflight.push(request);
    }
    function later(field, wait) {
      clearTimeout(timers[field.name]);
      timers[field.name] = setTimeout(function () { save(field); }, wait);
    }
    form.addEventListener("change", function (event) {
      if (event.target.name && event.target.name !== "csrf_token") later(event.target, 300);
    });
    form.addEventListener("input", function (event) {
      var field = event.target;
      if (field.tagName === "TEXTAREA" || field.type === "text") later(field, 1500);
    });
    // Sending the form carries every answer: pending saves are dropped, and saves already on
    // their way get a few seconds to land first, so none arrives after the intake is closed.
    var pressed = null;   // the button clicked (older browsers have no event.submitter)
    var sending = false;  // a deferred send is under way: further clicks wait for it
    form.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("button[type=submit], input[type=submit]");
      if (button) pressed = button;
    });
    form.addEventListener("submit", function (event) {
      Object.keys(timers).forEach(function (name) { clearTimeout(timers[name]); });
      timers = {};
      if (sending) { event.preventDefault(); return; }
      if (!inflight.length) return;
      event.preventDefault();
      sending = true;
      say("Sending…");
      var submitter = event.submitter || pressed;
      var landed = Promise.all(inflight);
      var patience = new Promise(function (resolve) { setTimeout(resolve, 3000); });
      Promise.race([landed, patience]).then(function () {
        if (submitter && submitter.name) {
          var keep = form.querySelector("input[data-submitter]");
          if (!keep) {
            keep = document.createElement("input");
            keep.type = "hidden";
            keep.setAttribute("data-submitter", "");
            form.appendChild(keep);
          }
          keep.name = submitter.name;
          keep.value = submitter.value;
        }
        HTMLFormElement.prototype.submit.call(form);
      });
    });
    // Back to this page from the browser's cache: start afresh.
    window.addEventListener("pageshow", function () {
      sending = false;
      var keep = form.querySelector("input[data-submitter]");
      if (keep) keep.parentNode.removeChild(keep);
    });
  }

  function focusErrors() {
    var box = document.querySelector("[data-focus-on-load]");
    if (box) box.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    adoptBrowserZone();
    toggleCoupleFields();
    submitOnce();
    autosave();
    focusErrors();
  });
})();
