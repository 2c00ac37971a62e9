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
    select.addEventListener("change", function () { picker.submit(); });
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

  function focusErrors() {
    var box = document.querySelector("[data-focus-on-load]");
    if (box) box.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    adoptBrowserZone();
    toggleCoupleFields();
    submitOnce();
    focusErrors();
  });
})();
