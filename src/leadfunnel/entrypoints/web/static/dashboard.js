// Draws the dashboard's charts (the funnel and the cohort trend) from the figures the page
// carries as JSON (Plotly is served by this server from the installed plotly package).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") return;
  [["funnel-chart", "funnel-figure"], ["trend-chart", "trend-figure"]].forEach(function (ids) {
    var target = document.getElementById(ids[0]);
    var source = document.getElementById(ids[1]);
    if (!target || !source) return;
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
});
