// Start every chart on the page from its data-option (ECharts is served from /static, no CDN).
(function () {
  function start() {
    if (!window.echarts) return;
    var charts = [];
    document.querySelectorAll('[data-option]').forEach(function (el) {
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(JSON.parse(el.getAttribute('data-option')));
      charts.push(chart);
    });
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute('data-charts', String(charts.length));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
