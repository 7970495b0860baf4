// Draws the forecast page's range chart from the figure the page carries as JSON (Plotly is
// served by this server from the installed plotly package).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("forecast-chart");
  var source = document.getElementById("forecast-figure");
  if (!target || !source || typeof Plotly === "undefined") return;
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
});
