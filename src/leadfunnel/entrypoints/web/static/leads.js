// The leads list: "tick all" ticks every lead on the page; the bulk form shows only the
// fields its chosen action needs. Without script the form still works (all fields shown).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("tick-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.tick").forEach(function (box) { box.checked = all.checked; });
    });
  }
  var action = document.getElementById("bulk-action");
  if (!action) return;
  function show() {
    var rep = document.getElementById("bulk-rep");
    var to = document.getElementById("bulk-to");
    if (rep) rep.closest("label").hidden = action.value !== "assign";
    if (to) {
      to.closest("label").hidden = action.value !== "move";
      var reason = document.querySelector("#bulk-form input[name=reason]");
      if (reason) reason.closest("label").hidden = action.value !== "move";
    }
  }
  action.addEventListener("change", show);
  show();
});
