// The lead page's SLA countdown, ticking every second. Time is counted from the server's
// clock at render (data-now) plus the seconds since, so a wrong clock on this computer does
// not move the deadline.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("sla-countdown");
  if (!box) return;
  var due = Date.parse(box.dataset.due);
  var serverNow = Date.parse(box.dataset.now);
  var loaded = Date.now();
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.round((due - (serverNow + Date.now() - loaded)) / 1000);
    var size = Math.abs(left);
    var hours = Math.floor(size / 3600), minutes = Math.floor((size % 3600) / 60), seconds = size % 60;
    var text = (hours ? hours + ":" + pad(minutes) : String(minutes)) + ":" + pad(seconds);
    box.textContent = (left < 0 ? box.dataset.overdue : box.dataset.dueIn) + " " + text;
    box.className = left < 0 ? "error" : "muted";
    box.dataset.left = String(left);
  }
  tick();
  setInterval(tick, 1000);
});
