/* The area map of the alert compose form (Leaflet, vendored in static/vendor/leaflet/).
 *
 * Drawing a polygon or a circle writes one line into the CAP text fields the form submits ("lat,lon lat,lon …"
 * closed rings; "lat,lon radius-km" circles), and whatever the fields hold is drawn, so typing and drawing stay in
 * step. Without JavaScript, or without a tile URL (the map block is then not rendered), the text fields are the
 * whole interface. No inline script: settings and labels come from data- attributes (a Content-Security-Policy
 * forbids inline code). With data-readonly (an alert's page) it only shows the shapes of data-polygons and
 * data-circles, and the devices (those the alert would reach in red).
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-alert-map]");
  if (!box || typeof window.L === "undefined") return;
  var L = window.L;
  var readonly = box.hasAttribute("data-readonly");
  var polygonsField = readonly ? null : document.getElementById(box.getAttribute("data-polygons-field"));
  var circlesField = readonly ? null : document.getElementById(box.getAttribute("data-circles-field"));
  var canvas = box.querySelector("[data-map-canvas]");
  if (!canvas || (!readonly && (!polygonsField || !circlesField))) return;

  var status = box.querySelector("[data-map-status]");
  var finishButton = box.querySelector("[data-map-finish]");
  var cancelButton = box.querySelector("[data-map-cancel]");
  var modeButtons = box.querySelectorAll("[data-map-mode]");
  var SHAPE = { color: "#a40e26", weight: 2, fillOpacity: 0.15 };
  var DRAFT = { color: "#0969da", weight: 2, dashArray: "5 5" };

  box.hidden = false;
  var map = L.map(canvas, { doubleClickZoom: false });
  L.tileLayer(box.getAttribute("data-tile-url"), {
    attribution: box.getAttribute("data-tile-attribution") || "",
    maxZoom: 19,
  }).addTo(map);

  // The devices the user can see, as small grey dots (on a canvas: thousands stay fast).
  var devicesData = document.getElementById("alert-map-devices");
  if (devicesData) {
    var dots = L.canvas();
    JSON.parse(devicesData.textContent).forEach(function (d) {
      var colour = d[2] ? "#a40e26" : "#57606a";
      L.circleMarker([d[0], d[1]], { renderer: dots, radius: d[2] ? 4 : 3, color: colour, weight: 1,
        fillOpacity: 0.8, interactive: false }).addTo(map);
    });
  }

  var shapes = L.featureGroup().addTo(map);
  var draft = L.layerGroup().addTo(map);
  var mode = null;
  var points = [];
  var centre = null;

  function number(x, places) {
    var factor = Math.pow(10, places);
    return String(Math.round(x * factor) / factor);
  }

  function point(text) {
    var parts = text.split(",");
    if (parts.length !== 2) return null;
    var lat = parseFloat(parts[0]), lon = parseFloat(parts[1]);
    return isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? [lat, lon] : null;
  }

  function lines(field, attribute) {
    var text = field ? field.value : box.getAttribute(attribute) || "";
    return text.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
  }

  // Draw what the text fields hold (lines that do not parse are left to the form's own checks).
  function redraw(fit) {
    shapes.clearLayers();
    lines(polygonsField, "data-polygons").forEach(function (line) {
      var ring = line.split(/\s+/).map(point);
      if (ring.length >= 3 && ring.every(Boolean)) L.polygon(ring, SHAPE).addTo(shapes);
    });
    lines(circlesField, "data-circles").forEach(function (line) {
      var parts = line.split(/\s+/);
      if (parts.length !== 2) return;
      var c = point(parts[0]), radius = parseFloat(parts[1].replace(",", "."));
      if (c && isFinite(radius) && radius > 0) L.circle(c, Object.assign({ radius: radius * 1000 }, SHAPE)).addTo(shapes);
    });
    box.setAttribute("data-shapes", String(shapes.getLayers().length));
    if (fit && shapes.getLayers().length) map.fitBounds(shapes.getBounds(), { maxZoom: 14, padding: [20, 20] });
  }

  function append(field, line) {
    var text = field.value.replace(/\s+$/, "");
    field.value = text ? text + "\n" + line : line;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function say(key) {
    if (status) status.textContent = status.getAttribute("data-hint-" + key) || "";
  }

  function setMode(next) {
    mode = next;
    points = [];
    centre = null;
    draft.clearLayers();
    Array.prototype.forEach.call(modeButtons, function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-map-mode") === mode));
    });
    if (finishButton) finishButton.disabled = true;
    if (cancelButton) cancelButton.disabled = mode === null;
    canvas.classList.toggle("drawing", mode !== null);
    say(mode || "idle");
  }

  function drawDraft() {
    draft.clearLayers();
    if (points.length > 1) L.polyline(points, DRAFT).addTo(draft);
    points.forEach(function (p) { L.circleMarker(p, { radius: 4, color: DRAFT.color }).addTo(draft); });
  }

  function finishPolygon() {
    if (mode !== "polygon" || points.length < 3) return;
    var ring = points.concat([points[0]]);
    append(polygonsField, ring.map(function (p) { return number(p[0], 5) + "," + number(p[1], 5); }).join(" "));
    setMode(null);
  }

  var bounds = (box.getAttribute("data-bounds") || "").split(",").map(parseFloat);
  if (bounds.length === 4 && bounds.every(isFinite)) {
    map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { maxZoom: 13, padding: [20, 20] });
  } else {
    map.setView([16.0, 106.0], 5);
  }
  if (readonly) {
    redraw(true);
    return;
  }

  map.on("click", function (event) {
    var here = [event.latlng.lat, event.latlng.lng];
    if (mode === "polygon") {
      points.push(here);
      drawDraft();
      if (finishButton) finishButton.disabled = points.length < 3;
    } else if (mode === "circle") {
      if (centre === null) {
        centre = here;
        L.circleMarker(here, { radius: 4, color: DRAFT.color }).addTo(draft);
        say("circle-edge");
      } else {
        var km = Math.max(0.01, map.distance(centre, here) / 1000);
        append(circlesField, number(centre[0], 5) + "," + number(centre[1], 5) + " " + number(km, 2));
        setMode(null);
      }
    }
  });

  Array.prototype.forEach.call(modeButtons, function (button) {
    button.addEventListener("click", function () {
      var wanted = button.getAttribute("data-map-mode");
      setMode(mode === wanted ? null : wanted);
    });
  });
  if (finishButton) finishButton.addEventListener("click", finishPolygon);
  if (cancelButton) cancelButton.addEventListener("click", function () { setMode(null); });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && mode !== null) { event.preventDefault(); setMode(null); }
  });
  [polygonsField, circlesField].forEach(function (field) {
    field.addEventListener("input", function () { redraw(false); });
  });

  // The map starts on the shapes already in the fields, else on the user's devices, else on Vietnam.
  setMode(null);
  redraw(true);
})();
