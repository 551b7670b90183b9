// The console's own script (no inline scripts: the CSP forbids them). Progressive only:
// every page works without it.
(function () {
  "use strict";
  // The scheduler form shows only the filters valid for the chosen call direction.
  function directionFilters() {
    var select = document.getElementById("callDirection");
    if (!select) return;
    var apply = function () {
      document.querySelectorAll("[data-direction]").forEach(function (field) {
        var fits = field.getAttribute("data-direction").split(" ").indexOf(select.value) >= 0;
        field.hidden = !fits;
      });
    };
    select.addEventListener("change", apply);
    apply();
  }
  document.addEventListener("DOMContentLoaded", directionFilters);
})();
