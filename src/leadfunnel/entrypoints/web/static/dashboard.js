// Draws the dashboard's charts (the funnel and the cohort trend) from the figures the page
// carries as JSON (Plotly is served by this server from the installed plotly package). A
// figure without a single point is not drawn (empty axes say nothing): its empty-state
// message, when the page has one, is shown instead.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") return;
  [["funnel-chart", "funnel-figure", "funnel-empty"], ["trend-chart", "trend-figure", "trend-empty"]].forEach(function (ids) {
    var target = document.getElementById(ids[0]);
    var source = document.getElementById(ids[1]);
    if (!target || !source) return;
    var figure = JSON.parse(source.textContent);
    var points = figure.data.some(function (trace) { return (trace.x || []).length > 0; });
    var empty = document.getElementById(ids[2]);
    if (!points && empty) {
      target.hidden = true;
      empty.hidden = false;
      return;
    }
    Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
});
