// The report page's map and position (Village Twin). The form works without this script:
// it adds the phone's position and a map of the villages to tap (x = longitude, y = -latitude).
(function () {
  "use strict";
  var svg = document.getElementById("map");
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var chosen = document.getElementById("chosen"), village = document.getElementById("village");
  var whole = document.getElementById("whole"), locate = document.getElementById("locate");
  var NS = "http://www.w3.org/2000/svg";
  var home = null, zoomed = null, pin = null;

  function viewBox(b, pad) {
    var p = Math.max(b.width, b.height) * pad;
    svg.setAttribute("viewBox", [b.x - p, b.y - p, b.width + 2 * p, b.height + 2 * p].join(" "));
  }

  function mark(x, y, label) {
    lon.value = x.toFixed(6);
    lat.value = (-y).toFixed(6);
    if (!pin) {
      pin = document.createElementNS(NS, "circle");
      pin.setAttribute("fill", "#f53f3f");
      pin.setAttribute("stroke", "#fff");
      pin.setAttribute("vector-effect", "non-scaling-stroke");
      svg.appendChild(pin);
    }
    var box = svg.viewBox.baseVal;
    pin.setAttribute("cx", x);
    pin.setAttribute("cy", y);
    pin.setAttribute("r", Math.max(box.width, box.height) / 60);
    chosen.hidden = false;
    chosen.textContent = chosen.dataset.label + "：" + (label ? label + " " : "") +
      (-y).toFixed(5) + ", " + x.toFixed(5);
  }

  function choose(path) {
    if (zoomed) zoomed.classList.remove("on");
    zoomed = path;
    path.classList.add("on");
    viewBox(path.getBBox(), 0.08);
    village.value = path.dataset.code;
    whole.hidden = false;
  }

  if (svg && svg.querySelector("path")) {
    svg.hidden = false;
    document.getElementById("tap").hidden = false;
    home = svg.getBBox();
    viewBox(home, 0.02);
    svg.addEventListener("click", function (ev) {
      var target = ev.target.closest("path");
      if (!zoomed || (target && target !== zoomed && !ev.target.isSameNode(pin))) {
        if (target) choose(target);
        return;
      }
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      mark(p.x, p.y, zoomed.dataset.name);
    });
    whole.addEventListener("click", function () {
      if (zoomed) zoomed.classList.remove("on");
      zoomed = null;
      viewBox(home, 0.02);
      whole.hidden = true;
      if (pin) pin.setAttribute("r", Math.max(home.width, home.height) / 60);
    });
  }

  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var x = pos.coords.longitude, y = -pos.coords.latitude;
        if (svg && !svg.hidden) {
          viewBox({x: x - 0.004, y: y - 0.004, width: 0.008, height: 0.008}, 0);
          whole.hidden = false;
        }
        mark(x, y, "");
      }, function () {
        chosen.hidden = false;
        chosen.textContent = locate.dataset.fail;
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  }
})();
