// The console's own script (no inline scripts: the CSP forbids them). Progressive only:
// every page works without it.
(function () {
  "use strict";
  // The scheduler form shows only the fields valid for the chosen call direction, report
  // kind and client (endpoint types of the client's type; a client type without a client).
  function schedulerForm() {
    var direction = document.getElementById("callDirection");
    if (!direction) return;
    var kind = document.getElementById("kind");
    var client = document.getElementById("client");
    var endpointType = document.getElementById("endpointType");
    var apply = function () {
      document.querySelectorAll("[data-direction]").forEach(function (field) {
        var fits = field.getAttribute("data-direction").split(" ").indexOf(direction.value) >= 0;
        field.hidden = !fits;
      });
      if (kind) {
        document.querySelectorAll("[data-kind]").forEach(function (field) {
          field.hidden = field.getAttribute("data-kind") !== kind.value;
        });
      }
      if (client) {
        var chosen = client.options[client.selectedIndex];
        var type = chosen ? chosen.getAttribute("data-type") || "" : "";
        document.querySelectorAll("[data-with-client]").forEach(function (f) { f.hidden = !client.value; });
        document.querySelectorAll("[data-without-client]").forEach(function (f) { f.hidden = !!client.value; });
        if (endpointType) {
          Array.prototype.forEach.call(endpointType.options, function (o) {
            var types = o.getAttribute("data-client-types");
            o.hidden = !!(types !== null && type && types.split(" ").indexOf(type) < 0);
          });
        }
      }
    };
    [direction, kind, client].forEach(function (el) { if (el) el.addEventListener("change", apply); });
    apply();
  }
  // At phone width the sections are one row that scrolls sideways: bring the current one
  // into view (without this script the row starts at Dashboard; every link still works).
  function currentSection() {
    var current = document.querySelector('header.top nav a[aria-current="page"]');
    if (!current) return;
    var nav = current.parentNode;
    if (nav.scrollWidth <= nav.clientWidth) return;
    nav.scrollLeft = current.offsetLeft - nav.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
  }
  document.addEventListener("DOMContentLoaded", schedulerForm);
  document.addEventListener("DOMContentLoaded", currentSection);
})();
