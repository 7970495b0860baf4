// Draws the attribution page's model comparison from the figure the page carries as JSON
// (Plotly is served by this server from the installed plotly package).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("attribution-chart");
  var source = document.getElementById("attribution-figure");
  if (!target || !source || typeof Plotly === "undefined") return;
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
});
