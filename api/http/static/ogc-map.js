// The OGC API's HTML pages (api/http/ogc_html.py): the page's features on a small map, over the
// municipality boundaries of the vector tiles. MapLibre comes from /vendor/, the features from
// the page itself (a JSON script element): nothing loads from elsewhere.
(function () {
  "use strict";
  var data = document.getElementById("ogc-features");
  var box = document.getElementById("ogc-map");
  if (!data || !box || !window.maplibregl) { return; }
  var features = JSON.parse(data.textContent);
  var areal = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
  var point = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];
  var map = new maplibregl.Map({
    container: box,
    attributionControl: false,
    style: {
      version: 8,
      sources: {
        municipalities: {
          type: "vector", maxzoom: 14,
          tiles: [location.origin + "/tiles/municipalities/{z}/{x}/{y}.mvt"]
        },
        features: { type: "geojson", data: features }
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#eef1f5" } },
        { id: "municipalities", type: "line", source: "municipalities",
          "source-layer": "municipalities", paint: { "line-color": "#8a94a6", "line-width": 0.6 } },
        { id: "areas", type: "fill", source: "features", filter: areal,
          paint: { "fill-color": "#4263eb", "fill-opacity": 0.25 } },
        { id: "outlines", type: "line", source: "features", filter: areal,
          paint: { "line-color": "#364fc7", "line-width": 1.2 } },
        { id: "points", type: "circle", source: "features", filter: point,
          paint: { "circle-radius": 5, "circle-color": "#e8590c",
                   "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }
      ]
    }
  });
  window.ogcMap = map;  // for the browser tests
  map.on("load", function () { document.body.dataset.mapReady = "true"; });
  var bounds = [180, 90, -180, -90];
  function extend(coordinates) {
    if (typeof coordinates[0] === "number") {
      bounds = [Math.min(bounds[0], coordinates[0]), Math.min(bounds[1], coordinates[1]),
                Math.max(bounds[2], coordinates[0]), Math.max(bounds[3], coordinates[1])];
    } else {
      coordinates.forEach(extend);
    }
  }
  features.features.forEach(function (f) { if (f.geometry) { extend(f.geometry.coordinates); } });
  if (bounds[0] <= bounds[2]) {
    map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
                  { padding: 30, maxZoom: 15, duration: 0 });
  }
})();
