// Draws the explorer's chart from the figure the page carries as JSON; a click on a bar or
// a point opens the leads behind it (each point carries its drill-down link as customdata).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("explorer-chart");
  var source = document.getElementById("explorer-figure");
  if (!target || !source || typeof Plotly === "undefined") return;
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true }).then(function () {
    target.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (point && point.customdata) window.location.assign(point.customdata);
    });
    target.setAttribute("data-ready", "true");
  });
});
