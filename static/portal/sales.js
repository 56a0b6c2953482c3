/* Draws the sales page's two charts (Chart.js, vendored in static/vendor/chartjs) from the
   figures the server embedded as JSON; the table below them holds the same numbers. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("sales-data");
  var hoursCanvas = document.getElementById("hours-chart");
  if (!source || !hoursCanvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);

  function datasets(series, scale) {
    return Object.keys(series).sort().map(function (name) {
      return {label: name, data: series[name].map(function (v) { return scale(name, v); })};
    });
  }

  new Chart(hoursCanvas, {
    type: "bar",
    data: {labels: data.labels, datasets: datasets(data.agent_hours, function (_n, v) { return Number(v); })},
    options: {animation: false, responsive: true, scales: {x: {stacked: true}, y: {stacked: true, title: {display: true, text: "agent-hours"}}}}
  });
  new Chart(document.getElementById("revenue-chart"), {
    type: "line",
    data: {
      labels: data.labels,
      datasets: datasets(data.revenue_minor, function (currency, minor) {
        return minor / Math.pow(10, data.exponents[currency]);
      })
    },
    options: {animation: false, responsive: true, scales: {y: {beginAtZero: true, title: {display: true, text: "one-time sales (per currency)"}}}}
  });
  document.body.dataset.chartsDrawn = "true";
});
