// Log a dose: offer only the units that fit the chosen product (each product option lists them in data-units).
// The server checks the same rule; without this script every unit is shown and a wrong one is refused with a message.
(function () {
  "use strict";
  var lot = document.getElementById("f-lot_id");
  var unit = document.getElementById("f-unit");
  if (!lot || !unit) { return; }
  function fit() {
    var chosen = lot.options[lot.selectedIndex];
    var allowed = chosen && chosen.dataset.units ? chosen.dataset.units.split(" ") : null;
    var firstFit = null;
    Array.prototype.forEach.call(unit.options, function (opt) {
      var ok = !allowed || allowed.indexOf(opt.value) !== -1;
      opt.disabled = !ok;
      opt.hidden = !ok;
      if (ok && firstFit === null) { firstFit = opt; }
    });
    if (unit.selectedOptions.length && unit.selectedOptions[0].disabled && firstFit) { firstFit.selected = true; }
  }
  lot.addEventListener("change", fit);
  fit();
}());
