// Mujun pages: small behaviours and the ECharts charts. No inline scripts (the CSP forbids
// them); chart data comes from <script type="application/json"> elements.
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function fmt(v) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "—";
    return Math.abs(v) < 1 ? (100 * v).toFixed(1) + "%" : v.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  // Selects marked data-autosubmit submit their form on change (year, map indicator).
  function wireAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
  }

  var COLORS = ["#fee08b", "#d9ef8b", "#91cf60", "#1a9850"];
  var CLASS_COLORS = { A: "#1a9850", B: "#66bd63", C: "#f4a742", D: "#d73027" };

  function valueRange(values) {
    var vs = values.filter(function (v) { return v !== null && !isNaN(v); });
    if (!vs.length) return [0, 1];
    var lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
    return lo === hi ? [lo, lo + 1] : [lo, hi];
  }

  function goToCounty(code, year) {
    window.location.href = "/?region=" + encodeURIComponent(code) + (year ? "&year=" + year : "");
  }

  function tileMap(el, data) {
    var map = data.map, chart = echarts.init(el);
    var tiles = map.tiles;
    var range = valueRange(tiles.map(function (t) { return t.value; }));
    chart.setOption({
      tooltip: {
        formatter: function (p) {
          var t = tiles[p.dataIndex];
          return t.name + " " + t.code + "<br>" + (data.labels[map.indicator] || "") + "：" + fmt(t.value);
        }
      },
      grid: { left: 8, right: 8, top: 8, bottom: 56 },
      xAxis: { type: "value", min: -0.5, max: map.columns - 0.5, show: false },
      yAxis: { type: "value", min: -0.5, max: map.rows - 0.5, inverse: true, show: false },
      visualMap: {
        min: range[0], max: range[1], dimension: 2, calculable: true, orient: "horizontal",
        left: "center", bottom: 0, inRange: { color: COLORS }, seriesIndex: 0
      },
      series: [{
        type: "custom",
        encode: { x: 0, y: 1 },
        data: tiles.map(function (t) { return [t.x, t.y, t.value === null ? NaN : t.value]; }),
        renderItem: function (params, api) {
          var c = api.coord([api.value(0), api.value(1)]), s = api.size([1, 1]);
          var w = s[0] * 0.94, h = s[1] * 0.94, v = api.value(2), t = tiles[params.dataIndex];
          return {
            type: "group",
            children: [
              { type: "rect", shape: { x: c[0] - w / 2, y: c[1] - h / 2, width: w, height: h, r: 3 },
                style: { fill: isNaN(v) ? "#e5e7eb" : api.visual("color"), stroke: "#fff" } },
              { type: "text", silent: true,
                style: { text: t.name.replace(/(自治县|县|区|市)$/, ""), x: c[0], y: c[1],
                         align: "center", verticalAlign: "middle", fontSize: Math.max(9, Math.min(13, w / 4)),
                         fill: t.in_scope ? "#1f2937" : "#9ca3af" } }
            ]
          };
        }
      }]
    });
    chart.on("click", function (p) {
      var t = tiles[p.dataIndex];
      if (t && t.in_scope) goToCounty(t.code, data.year);
    });
    return chart;
  }

  function choroplethMap(el, data) {
    var map = data.map, chart = echarts.init(el);
    var tiles = map.tiles.filter(function (t) { return t.in_scope; });
    var range = valueRange(tiles.map(function (t) { return t.value; }));
    fetch(map.geojson_url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (geo) {
        echarts.registerMap("mujun-counties", geo);
        var names = {};
        map.tiles.forEach(function (t) { names[t.code] = t.name; });
        chart.setOption({
          tooltip: { formatter: function (p) { return (names[p.name] || p.name) + "<br>" + fmt(p.value); } },
          visualMap: { min: range[0], max: range[1], calculable: true, orient: "horizontal",
                       left: "center", bottom: 0, inRange: { color: COLORS } },
          series: [{
            type: "map", map: "mujun-counties", nameProperty: "code", roam: true,
            data: tiles.map(function (t) { return { name: t.code, value: t.value }; })
          }]
        });
        chart.on("click", function (p) {
          if (tiles.some(function (t) { return t.code === p.name; })) goToCounty(p.name, data.year);
        });
      });
    return chart;
  }

  function areasChart(el, data) {
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 48 },
      xAxis: { type: "category", data: data.areas.map(function (a) { return a.name; }), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", name: data.labels.firms_evaluated },
      series: ["A", "B", "C", "D"].map(function (k) {
        return { name: data.labels[k], type: "bar", stack: "classes", itemStyle: { color: CLASS_COLORS[k] },
                 data: data.areas.map(function (a) { return a.classes[k]; }) };
      })
    });
    return chart;
  }

  function trendsChart(el, data) {
    var chart = echarts.init(el), years = data.trends.map(function (t) { return String(t.year); });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 56, top: 32, bottom: 32 },
      xAxis: { type: "category", data: years },
      yAxis: [{ type: "value", axisLabel: { formatter: function (v) { return (100 * v).toFixed(0) + "%"; } } },
              { type: "value", name: data.labels.tax_mu }],
      series: ["A", "B", "C", "D"].map(function (k) {
        return { name: data.labels[k], type: "line", itemStyle: { color: CLASS_COLORS[k] },
                 data: data.trends.map(function (t) { return t.shares[k]; }) };
      }).concat([{ name: data.labels.tax_mu, type: "line", yAxisIndex: 1, lineStyle: { type: "dashed" },
                   data: data.trends.map(function (t) { return t.tax_mu; }) }])
    });
    return chart;
  }

  function radarChart(el, data) {
    if (!data.radar.length) return null;
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {},
      radar: { indicator: data.radar.map(function (r) { return { name: r.name, max: 100 }; }), radius: "65%" },
      series: [{ type: "radar", areaStyle: { opacity: 0.25 },
                 data: [{ value: data.radar.map(function (r) { return r.value; }), name: "%" }] }]
    });
    return chart;
  }

  function drawCharts() {
    if (!window.echarts) return;
    var charts = [], data = readJson("charts-data"), el;
    if (data) {
      el = document.getElementById("county-map");
      if (el) charts.push(data.map.mode === "choropleth" ? choroplethMap(el, data) : tileMap(el, data));
      el = document.getElementById("class-areas");
      if (el) charts.push(areasChart(el, data));
      el = document.getElementById("trends");
      if (el && data.trends.length > 1) {
        charts.push(trendsChart(el, data));
      } else if (el) {
        el.classList.add("chart-missing");
        el.textContent = "—";
      }
    }
    var radar = readJson("radar-data");
    el = document.getElementById("radar");
    if (radar && el) charts.push(radarChart(el, radar));
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { if (c) c.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireAutosubmit(document);
    drawCharts();
  });
})();
