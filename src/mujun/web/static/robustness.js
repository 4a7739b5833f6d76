// Robustness panel of the enterprise portrait: class probabilities over the Monte Carlo draws
// (bars) and the 5–95 % interval of the cohort rank. Data from #robustness-data (no inline JS).
(function () {
  "use strict";
  var CLASS_COLORS = { A: "#1a9850", B: "#66bd63", C: "#f4a742", D: "#d73027" };

  function draw() {
    var src = document.getElementById("robustness-data"), el = document.getElementById("robustness-chart");
    if (!src || !el || !window.echarts) return;
    var d = JSON.parse(src.textContent), chart = echarts.init(el);
    var classes = d.classes;
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (p.seriesIndex === 0) return p.name + "：" + (100 * p.value).toFixed(1) + "%";
        return d.labels.rank + " " + d.rank_p05 + "–" + d.rank_p95 + "（" + d.labels.run + " " + d.rank + "）";
      } },
      grid: [{ left: 48, right: 16, top: 28, height: 120 }, { left: 48, right: 16, top: 196, height: 36 }],
      xAxis: [
        { gridIndex: 0, type: "category", data: classes.map(function (c) { return c.label; }) },
        { gridIndex: 1, type: "value", min: 1, max: d.cohort_size, inverse: true, name: d.labels.rank }
      ],
      yAxis: [
        { gridIndex: 0, type: "value", max: 1, axisLabel: { formatter: function (v) { return (100 * v) + "%"; } } },
        { gridIndex: 1, type: "category", data: [""], axisTick: { show: false } }
      ],
      series: [
        { type: "bar", xAxisIndex: 0, yAxisIndex: 0,
          data: classes.map(function (c) {
            return { value: c.p, itemStyle: { color: CLASS_COLORS[c.code] || "#9ca3af",
                     borderColor: c.published ? "#111827" : null, borderWidth: c.published ? 2 : 0 } };
          }),
          label: { show: true, position: "top", formatter: function (p) { return (100 * p.value).toFixed(0) + "%"; } } },
        { type: "custom", xAxisIndex: 1, yAxisIndex: 1, data: [[d.rank_p05, d.rank_p95, d.rank]],
          renderItem: function (params, api) {
            var a = api.coord([api.value(0), 0]), b = api.coord([api.value(1), 0]), r = api.coord([api.value(2), 0]);
            return { type: "group", children: [
              { type: "rect", shape: { x: Math.min(a[0], b[0]), y: a[1] - 6, width: Math.max(2, Math.abs(b[0] - a[0])), height: 12 },
                style: { fill: "#93c5fd" } },
              { type: "rect", shape: { x: r[0] - 1.5, y: r[1] - 10, width: 3, height: 20 }, style: { fill: "#1e3a8a" } }
            ] };
          } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
