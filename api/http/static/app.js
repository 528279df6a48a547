// "Finn aktivitet": search the directory by place, text, filters and map; cards a person can act
// on; a short list for counsellors; the analyst views. Plain JS on MapLibre GL JS and i18next
// (both from npm, served by the app); data from the public GraphQL API with the queries any
// third-party app would send, and the background dots from the app's own vector tiles.
// The page's whole state lives in the URL (see readState/writeState).
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("config").textContent);
  var OSLO = { lat: 59.9133, lon: 10.7389 };
  var PAGE = 20;
  var TZ = "Europe/Oslo";
  var WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
  var SPOKEN = ["ar", "en", "fa", "fr", "pl", "prs", "ru", "so", "ti", "uk", "ur", "es", "tr", "ku", "nb"];
  var FILTER_KEYS = ["cat", "tg", "age", "spoken", "day", "time", "free", "card", "stepfree"];

  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function append(parent) {
    for (var i = 1; i < arguments.length; i++) { if (arguments[i]) { parent.appendChild(arguments[i]); } }
    return parent;
  }
  function link(href, text, className) {
    var a = el("a", className, text);
    a.href = href;
    if (/^https?:/.test(href)) { a.rel = "noopener"; }
    return a;
  }

  // --- state: everything in the URL -----------------------------------------------------------
  var URL_KEYS = ["lang", "tool", "kind", "q", "place", "lat", "lon", "m", "r", "sel", "view", "picks",
                  "list", "area", "within", "unit"].concat(FILTER_KEYS);
  function readState() {
    var p = new URLSearchParams(location.search), s = {};
    URL_KEYS.forEach(function (k) { if (p.get(k) !== null && p.get(k) !== "") { s[k] = p.get(k); } });
    s.kind = s.kind === "venues" ? "venues" : "activities";
    s.r = s.r || "3000";
    s.picks = s.picks ? s.picks.split(",").filter(Boolean) : [];
    return s;
  }
  function urlOf(s) {
    var p = new URLSearchParams();
    URL_KEYS.forEach(function (k) {
      var v = k === "picks" ? s.picks.join(",") : s[k];
      if (v === undefined || v === null || v === "") { return; }
      if (k === "kind" && v === "activities") { return; }
      if (k === "r" && v === "3000") { return; }
      if (k === "lang" && v === CONFIG.languages[0] && v === "nb") { return; }
      p.set(k, v);
    });
    var q = p.toString();
    return location.pathname + (q ? "?" + q : "");
  }
  var state = readState();
  function writeState(push) {
    var url = urlOf(state);
    if (url !== location.pathname + location.search) { history[push ? "pushState" : "replaceState"](null, "", url); }
  }

  // --- language: the page's messages (static/messages/{lang}.json) and the API's labels ---------
  var lang = CONFIG.languages.indexOf(state.lang) >= 0 ? state.lang : "nb";
  function loadJson(url) {
    return fetch(url).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }
  function messagesUrl(code) {
    var v = CONFIG.messageVersions[code];
    return CONFIG.messagesUrl.replace("{lang}", code) + (v ? "?v=" + v : "");
  }
  // The API's vocabulary labels (/labels/{lang}.json): {about: {…}, vocabularies: {Type: {KEY:
  // "label" or {label, description}}}}.
  function vocabOf(json) {
    if (!json || typeof json !== "object" || !json.vocabularies) { return {}; }
    var source = json.vocabularies, out = {};
    Object.keys(source).forEach(function (type) {
      var table = source[type];
      if (!table || typeof table !== "object" || Array.isArray(table)) { return; }
      out[type] = {};
      Object.keys(table).forEach(function (key) {
        var v = table[key];
        out[type][key] = typeof v === "string" ? v : (v && (v.label || v.name || v.title)) || key;
      });
    });
    return out;
  }
  function fallbacks(code) { return code === "nb" ? [] : code === "nn" ? ["nb"] : ["en", "nb"]; }
  function loadLanguage(code) {
    var codes = [code].concat(fallbacks(code));
    return Promise.all(codes.map(function (c) {
      return Promise.all([loadJson(messagesUrl(c)), loadJson(CONFIG.labelsUrl.replace("{lang}", c))]);
    })).then(function (loaded) {
      var resources = {};
      codes.forEach(function (c, i) {
        var messages = loaded[i][0] || { ui: {}, vocab: {} }, labels = vocabOf(loaded[i][1]);
        var vocab = messages.vocab || {};
        Object.keys(labels).forEach(function (type) { vocab[type] = Object.assign({}, vocab[type], labels[type]); });
        resources[c] = { translation: { ui: messages.ui || {}, vocab: vocab, meta: messages.meta || {} } };
      });
      return i18next.init({ lng: code, fallbackLng: fallbacks(code).length ? fallbacks(code) : false,
                            resources: resources, interpolation: { escapeValue: false }, returnNull: false });
    });
  }
  function t(key, options) { return i18next.t("ui." + key, options); }
  function vocab(type, key) { return i18next.t("vocab." + type + "." + key, { defaultValue: key }); }
  function locale() { return i18next.t("meta.locale", { defaultValue: lang }); }
  var languageNames = null;
  function languageName(code) {
    try { return languageNames.of(code) || code; } catch (e) { return code; }
  }

  function translatePage() {
    var dir = CONFIG.rightToLeft.indexOf(lang) >= 0 ? "rtl" : "ltr";
    document.documentElement.lang = lang;
    document.documentElement.dir = dir;
    document.title = t("title") + " – hverdag";
    languageNames = new Intl.DisplayNames([locale(), "en"], { type: "language" });
    document.querySelectorAll("[data-t]").forEach(function (node) { node.textContent = t(node.dataset.t); });
    document.querySelectorAll("[data-t-placeholder]").forEach(function (node) { node.placeholder = t(node.dataset.tPlaceholder); });
    document.querySelectorAll("[data-t-aria-label]").forEach(function (node) { node.setAttribute("aria-label", t(node.dataset.tAriaLabel)); });
    var select = $("lang");
    select.textContent = "";
    CONFIG.languages.forEach(function (code) {
      select.appendChild(new Option(CONFIG.languageNames[code] || code, code, false, code === lang));
    });
    var f = $("filters");
    options(f.elements.cat, "ActivityCategory", Object.keys(i18next.t("vocab.ActivityCategory", { returnObjects: true }) || {}), t("any"));
    options(f.elements.tg, "TargetGroup", Object.keys(i18next.t("vocab.TargetGroup", { returnObjects: true }) || {}), t("any"));
    options(f.elements.day, "Weekday", WEEKDAYS, t("anyDay"));
    var spoken = f.elements.spoken;
    spoken.textContent = "";
    spoken.appendChild(new Option(t("any"), ""));
    SPOKEN.map(function (c) { return [c, languageName(c)]; })
      .sort(function (a, b) { return a[1].localeCompare(b[1], locale()); })
      .forEach(function (pair) { spoken.appendChild(new Option(pair[1], pair[0])); });
  }
  function options(select, type, keys, emptyText) {
    select.textContent = "";
    select.appendChild(new Option(emptyText, ""));
    keys.forEach(function (key) { select.appendChild(new Option(vocab(type, key), key)); });
  }

  // --- GraphQL: the public API, as any app would call it ----------------------------------------
  // The reader's languages in order for the API's translated texts (Dari -> Persian and
  // Nynorsk -> Bokmål are the API's own fallbacks); the original (bokmål) after them.
  function readerLanguages() { return [lang].concat(fallbacks(lang).filter(function (c) { return c !== "nb"; })); }
  function graphql(query, variables) {
    if (/\$lang\b/.test(query)) { variables = Object.assign({ lang: readerLanguages() }, variables || {}); }
    return fetch(CONFIG.graphqlUrl, {
      method: "POST", headers: { "content-type": "application/json", "accept-language": lang },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.errors && body.errors.length) {
        // The API explains in English for developers; the reader gets the page's language.
        if (window.console) { console.warn(body.errors[0].message); }
        throw new Error(body.errors[0].extensions && body.errors[0].extensions.code || "ERROR");
      }
      return body.data;
    });
  }
  var ORGANISATION = "organiser { id name website }";
  var VENUE_PLACE = "venue { id name address postalCode postalPlace stepFree }";
  var TEXT_STATE = "{ language original machineTranslated outdated rightToLeft }";
  var ACTIVITY_FIELDS = "id title titleText " + TEXT_STATE + " description descriptionText " + TEXT_STATE +
    " category targetGroups minAge maxAge languages" +
    " cost { free amountNok leisureCardAccepted } registrationRequired registrationUrl url" +
    " location { lat lon } schedule { weekday start end validFrom validTo } " + ORGANISATION + " " + VENUE_PLACE;
  var VENUE_FIELDS = "id name description descriptionText " + TEXT_STATE + " venueType ownerType address postalCode postalPlace" +
    " location { lat lon } capacity priceModel priceNote stepFree accessibility amenities" +
    " suitableCategories bookingUrl lastVerified availability { weekday from to } owner { id name website }";
  var LIST = {
    activities: "query FindActivities($filter: DirectoryFilterInput, $near: NearInput, $first: Int, $after: String, $lang: [String!]) {\n" +
      " activities(filter: $filter, near: $near, first: $first, after: $after, lang: $lang) {\n" +
      "  totalCount pageInfo { hasNextPage endCursor }\n" +
      "  edges { distanceMeters node { " + ACTIVITY_FIELDS + " } } } }",
    venues: "query FindVenues($filter: DirectoryFilterInput, $near: NearInput, $first: Int, $after: String, $lang: [String!]) {\n" +
      " venues(filter: $filter, near: $near, first: $first, after: $after, lang: $lang) {\n" +
      "  totalCount pageInfo { hasNextPage endCursor }\n" +
      "  edges { distanceMeters node { " + VENUE_FIELDS + " } } } }"
  };
  var ONE = "query Entry($id: ID!, $lang: [String!]) { node(id: $id, lang: $lang) { __typename ... on Activity { " + ACTIVITY_FIELDS +
    " } ... on Venue { " + VENUE_FIELDS + " activities { id title category } } } }";
  var SUGGEST = "query Suggest($text: String!, $filter: DirectoryFilterInput!, $lang: [String!]) {\n" +
    " places(text: $text, first: 6) { kind code name municipalityNumber inside { lat lon } bbox }\n" +
    " activities(filter: $filter, first: 4, lang: $lang) { edges { node { id title location { lat lon } } } }\n" +
    " venues(filter: $filter, first: 4, lang: $lang) { edges { node { id name location { lat lon } } } } }";
  var INITIATIVES = "{ areaInitiatives { slug name boundary(simplifyMeters: 20) } }";

  // --- the map -------------------------------------------------------------------------------------
  function tileUrl(layer, query) { return location.origin + "/tiles/" + layer + "/{z}/{x}/{y}.mvt" + (query ? "?" + query : ""); }
  var style = {
    version: 8,
    sources: {
      municipalities: { type: "vector", tiles: [tileUrl("municipalities")], minzoom: 0, maxzoom: 14 },
      districts: { type: "vector", tiles: [tileUrl("districts")], minzoom: 8, maxzoom: 14 },
      venues: { type: "vector", tiles: [tileUrl("venues")], minzoom: 10, maxzoom: 14 },
      activities: { type: "vector", tiles: [tileUrl("activities")], minzoom: 10, maxzoom: 14 }
    },
    layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f5" } }]
  };
  var hasBasemap = !!CONFIG.basemapUrl;
  if (hasBasemap) {
    style.sources.basemap = { type: "raster", tiles: [CONFIG.basemapUrl], tileSize: 256, maxzoom: 18,
                              attribution: CONFIG.basemapAttribution || "" };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  var COUNT = ["coalesce", ["get", "count"], 1];
  style.layers.push(
    { id: "municipality-fill", type: "fill", source: "municipalities", "source-layer": "municipalities",
      paint: { "fill-color": "#ffffff", "fill-opacity": hasBasemap ? 0.05 : 0.9 } },
    { id: "municipality-line", type: "line", source: "municipalities", "source-layer": "municipalities",
      paint: { "line-color": "#5a6987", "line-width": 1 } },
    { id: "district-line", type: "line", source: "districts", "source-layer": "districts",
      filter: ["==", ["get", "kind"], "BYDEL"], paint: { "line-color": "#8a95ad", "line-width": 1, "line-dasharray": [3, 2] } },
    { id: "activity-points", type: "circle", source: "activities", "source-layer": "activities",
      layout: { "circle-sort-key": COUNT },
      paint: { "circle-radius": ["interpolate", ["linear"], COUNT, 1, 3, 100, 6], "circle-color": "#6741d9",
               "circle-opacity": 0.45 } },
    { id: "venue-points", type: "circle", source: "venues", "source-layer": "venues",
      layout: { "circle-sort-key": COUNT, visibility: "none" },
      paint: { "circle-radius": ["interpolate", ["linear"], COUNT, 1, 3, 100, 6], "circle-color": "#1c7c54",
               "circle-opacity": 0.45 } }
  );
  // The map library (a megabyte of JavaScript) loads only when the map is seen: at once beside
  // the list on a wide screen, on a phone when the user opens the map view. The list needs none
  // of it.
  var map = null, mapStarted = false, resolveMap = null;
  var mapReady = new Promise(function (resolve) { resolveMap = resolve; });
  function loadOnce(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var node = document.createElement(tag);
      Object.keys(attributes).forEach(function (k) { node[k] = attributes[k]; });
      node.onload = resolve;
      node.onerror = reject;
      document.head.appendChild(node);
    });
  }
  function startMap() {
    if (mapStarted) { return mapReady; }
    mapStarted = true;
    Promise.all([loadOnce("link", { rel: "stylesheet", href: CONFIG.maplibre.css }),
                 loadOnce("script", { src: CONFIG.maplibre.js }), languageReady]).then(createMap, function () {
      showNotice(t("error", { message: "maplibre-gl" }));
    });
    return mapReady;
  }
  function createMap() {
    var start = state.lat && state.lon ? [Number(state.lon), Number(state.lat)] : [OSLO.lon, OSLO.lat];
    map = new maplibregl.Map({ container: "map", style: style, center: start, zoom: 12, maxZoom: 18,
                               attributionControl: { compact: true },
                               // MapLibre's own controls speak the page's language too.
                               locale: { "NavigationControl.ZoomIn": t("zoomIn"), "NavigationControl.ZoomOut": t("zoomOut"),
                                         "AttributionControl.ToggleAttribution": t("toggleAttribution"),
                                         "Map.Title": t("mapTitle") } });
    window.hverdagMap = map;  // for the browser tests and the console
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl(), "bottom-left");
    map.on("error", basemapError);
    map.on("data", basemapData);
    map.on("click", mapClicked);
    map.on("load", mapLoaded);
  }

  // The basemap is someone else's server: when its tiles fail, say so once and carry on.
  var basemapFailures = 0, basemapLoaded = 0;
  function basemapError(e) {
    if (e.sourceId !== "basemap") { if (window.console) { console.warn(e.error && e.error.message); } return; }
    basemapFailures += 1;
    if (!basemapLoaded) { showNotice(t("basemapDown")); document.body.dataset.basemap = "down"; }
    map.setPaintProperty("municipality-fill", "fill-opacity", 0.9);
  }
  function basemapData(e) {
    if (e.sourceId === "basemap" && e.tile && e.dataType === "source") {
      basemapLoaded += 1;
      if (document.body.dataset.basemap !== "down") { document.body.dataset.basemap = "up"; }
    }
  }
  function showNotice(text) { var n = $("notice"); n.textContent = text; n.hidden = !text; }

  function emptyCollection() { return { type: "FeatureCollection", features: [] }; }
  function mapLoaded() {
    map.addSource("results", { type: "geojson", data: emptyCollection(), cluster: true, clusterRadius: 40, clusterMaxZoom: 17 });
    map.addSource("selection", { type: "geojson", data: emptyCollection() });
    map.addSource("gaps", { type: "geojson", data: emptyCollection() });
    map.addLayer({ id: "gap-fill", type: "fill", source: "gaps", paint: {
      "fill-opacity": 0.7, "fill-outline-color": "#862e9c",
      "fill-color": ["interpolate", ["linear"], ["get", "population"], 0, "#fff3bf", 1500, "#f76707", 6000, "#862e9c"] } },
      "activity-points");
    map.addLayer({ id: "selection-line", type: "line", source: "selection", paint: { "line-color": "#c2410c", "line-width": 2.5 } });
    // Invisible: the clustered results are drawn as HTML markers (buttons) in drawMarkers.
    map.addLayer({ id: "results-hit", type: "circle", source: "results", paint: { "circle-radius": 1, "circle-opacity": 0 } });
    map.on("render", drawMarkers);
    document.body.dataset.mapReady = "true";
    resolveMap(map);
  }

  // Results on the map: one button per cluster or place, never on top of each other (MapLibre's
  // clustering merges what would overlap), each reachable by keyboard and named for readers.
  var markers = {}, onScreen = {};
  function drawMarkers() {
    if (!map || !map.getSource("results") || !map.isSourceLoaded("results")) { return; }
    var next = {};
    map.querySourceFeatures("results").forEach(function (f) {
      var p = f.properties, id = p.cluster ? "c" + p.cluster_id : "p" + p.index;
      if (next[id]) { return; }
      var marker = markers[id];
      if (!marker) {
        var button = el("button", p.cluster ? "marker cluster" : "marker");
        button.type = "button";
        if (p.cluster) {
          button.textContent = p.point_count_abbreviated;
          button.setAttribute("aria-label", t("cluster", { count: p.point_count }));
          button.addEventListener("click", function () {
            map.getSource("results").getClusterExpansionZoom(p.cluster_id).then(function (zoom) {
              map.easeTo({ center: f.geometry.coordinates, zoom: zoom + 0.5 });
            });
          });
        } else {
          button.textContent = String(p.index + 1);
          button.setAttribute("aria-label", (p.index + 1) + ". " + p.name);
          button.title = p.name;
          button.addEventListener("click", function () { openDetail(p.id, true); });
        }
        marker = markers[id] = new maplibregl.Marker({ element: button }).setLngLat(f.geometry.coordinates);
      }
      marker.getElement().classList.toggle("active", !!(state.sel && p.id === state.sel));
      next[id] = marker;
      if (!onScreen[id]) { marker.addTo(map); }
    });
    Object.keys(onScreen).forEach(function (id) { if (!next[id]) { onScreen[id].remove(); } });
    onScreen = next;
    document.body.dataset.markers = String(Object.keys(onScreen).length);
  }
  function resetMarkers() {
    Object.keys(onScreen).forEach(function (id) { onScreen[id].remove(); });
    markers = {}; onScreen = {};
  }
  var hereMarker = null;
  function showHere(point) {
    if (!hereMarker) { var dot = el("div", "here"); dot.setAttribute("aria-hidden", "true"); hereMarker = new maplibregl.Marker({ element: dot }); }
    hereMarker.setLngLat([point.lon, point.lat]).addTo(map);
  }

  // --- the search ----------------------------------------------------------------------------------
  function filterInput() {
    var f = {};
    if (state.kind === "activities") {
      if (state.cat) { f.categories = [state.cat]; }
      if (state.tg) { f.targetGroups = [state.tg]; }
      if (state.age && /^\d+$/.test(state.age)) { f.age = Number(state.age); }
      if (state.spoken) { f.languages = [state.spoken]; }
      if (state.card) { f.leisureCardAccepted = true; }
    }
    if (state.free) { f.freeOnly = true; }
    if (state.stepfree) { f.stepFree = true; }
    if (state.day && state.time) { f.openAt = { weekday: state.day, time: state.time }; }
    else if (state.day) { f.during = { weekday: state.day, from: "00:00", to: "23:59" }; }
    if (state.q) { f.text = state.q; }
    if (state.m) { f.municipality = state.m; }
    return f;
  }
  // The same filter as the tiles' query parameters, so the background dots mean what the list does.
  function tileQuery(f) {
    var p = new URLSearchParams();
    (f.categories || []).forEach(function (c) { p.append("category", c); });
    (f.targetGroups || []).forEach(function (c) { p.append("targetGroup", c); });
    (f.languages || []).forEach(function (c) { p.append("language", c); });
    if (f.age !== undefined) { p.set("age", String(f.age)); }
    if (f.freeOnly) { p.set("freeOnly", "true"); }
    if (f.leisureCardAccepted) { p.set("leisureCardAccepted", "true"); }
    if (f.stepFree) { p.set("stepFree", "true"); }
    if (f.openAt) { p.set("weekday", f.openAt.weekday); p.set("time", f.openAt.time); }
    if (f.during) { p.set("weekday", f.during.weekday); p.set("from", f.during.from); p.set("to", f.during.to); }
    if (f.text) { p.set("text", f.text); }
    if (f.municipality) { p.set("municipality", f.municipality); }
    return p.toString();
  }
  function point() {
    return state.lat && state.lon ? { lat: Number(state.lat), lon: Number(state.lon) } : OSLO;
  }
  function placeName() {
    if (state.place) { return state.place; }
    return state.lat ? t("hereLabel") : t("osloCentre");
  }
  var results = [], cursor = null, total = 0, searchId = 0;
  function updateBackground(f) {
    var query = tileQuery(f);
    ["activities", "venues"].forEach(function (layer) {
      var source = map.getSource(layer);
      if (source && source.setTiles) { source.setTiles([tileUrl(layer, query)]); }
      if (map.getLayer(layer === "activities" ? "activity-points" : "venue-points")) {
        map.setLayoutProperty(layer === "activities" ? "activity-points" : "venue-points", "visibility",
                              layer === state.kind ? "visible" : "none");
      }
    });
    document.body.dataset.tileQuery = query;
  }
  function search(more) {
    var id = ++searchId, f = filterInput(), at = point();
    if (!more) { results = []; cursor = null; }
    $("status").textContent = t("searching");
    $("status").classList.remove("error");
    $("more").disabled = true;
    mapReady.then(function () { updateBackground(f); });
    var variables = { filter: f, first: PAGE, after: cursor,
                      near: { at: at, radiusMeters: state.m ? 100000 : Number(state.r) } };
    return graphql(LIST[state.kind], variables).then(function (data) {
      if (id !== searchId) { return; }
      var answer = data[state.kind];
      total = answer.totalCount;
      cursor = answer.pageInfo.endCursor;
      var first = results.length;
      answer.edges.forEach(function (edge) { results.push({ node: edge.node, distance: edge.distanceMeters }); });
      // A page that ends exactly at the last hit may still say hasNextPage: the count decides.
      renderResults(first, answer.pageInfo.hasNextPage && results.length < total);
      if (!more) { mapReady.then(function () { showHere(at); }); }
    }).catch(function (e) {
      if (id !== searchId) { return; }
      $("status").textContent = t("errorGeneric");
      $("status").classList.add("error");
    });
  }
  function renderResults(first, hasNext) {
    var where = state.m ? t("near", { place: placeName() }) : t("near", { place: placeName() });
    $("results-heading").textContent = t("count", { count: total, where: where });
    $("status").textContent = total ? t("shown", { shown: results.length, total: total }) : t("noResults");
    var list = $("results");
    if (first === 0) { list.textContent = ""; }
    for (var i = first; i < results.length; i++) { list.appendChild(card(results[i], i)); }
    $("more").hidden = !hasNext;
    $("more").disabled = false;
    document.body.dataset.results = String(results.length);
    document.body.dataset.total = String(total);
    document.body.dataset.allShown = String(!hasNext);
    if (first > 0 && list.children[first]) { list.children[first].querySelector("h3 a").focus(); }
    mapReady.then(function () {
      resetMarkers();
      map.getSource("results").setData({ type: "FeatureCollection", features: results.map(function (r, index) {
        var n = r.node;
        return { type: "Feature", geometry: { type: "Point", coordinates: [n.location.lon, n.location.lat] },
                 properties: { id: n.id, index: index, name: n.title || n.name } };
      }) });
    });
  }

  // --- what a card says ---------------------------------------------------------------------------
  function distanceText(m) {
    var nf = new Intl.NumberFormat(locale(), { maximumFractionDigits: m < 10000 ? 1 : 0 });
    return m < 1000 ? Math.round(m / 10) * 10 + " m" : nf.format(m / 1000) + " km";
  }
  // Today's date in Oslo, whatever the device's clock zone.
  function osloToday() {
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date());
    var get = function (type) { return Number(parts.find(function (p) { return p.type === type; }).value); };
    return new Date(Date.UTC(get("year"), get("month") - 1, get("day")));
  }
  function isoDate(d) { return d.toISOString().slice(0, 10); }
  // The next sessions from the weekly schedule (Europe/Oslo wall-clock times), within their dates.
  function nextSessions(schedule, count) {
    var today = osloToday(), found = [];
    for (var i = 0; i < 60 && found.length < count; i++) {
      var day = new Date(today.getTime() + i * 86400000), iso = isoDate(day);
      var weekday = WEEKDAYS[(day.getUTCDay() + 6) % 7];
      schedule.filter(function (s) {
        return s.weekday === weekday && (!s.validFrom || s.validFrom <= iso) && (!s.validTo || s.validTo >= iso);
      }).sort(function (a, b) { return a.start < b.start ? -1 : 1; }).forEach(function (s) {
        if (found.length < count) { found.push({ date: day, start: s.start.slice(0, 5), end: s.end.slice(0, 5) }); }
      });
    }
    return found;
  }
  function sessionText(s) {
    var date = new Intl.DateTimeFormat(locale(), { weekday: "short", day: "numeric", month: "short", timeZone: "UTC", calendar: "gregory" }).format(s.date);
    return date + " " + s.start + "–" + s.end;
  }
  function weeklyText(windows, fromKey, toKey) {
    return windows.map(function (w) {
      return vocab("Weekday", w.weekday) + " " + w[fromKey].slice(0, 5) + "–" + w[toKey].slice(0, 5);
    }).join(", ");
  }
  function priceText(n) {
    if (n.cost) {
      var parts = [n.cost.free ? t("priceFree") : n.cost.amountNok !== null && n.cost.amountNok !== undefined
        ? t("priceAmount", { amount: new Intl.NumberFormat(locale()).format(n.cost.amountNok) }) : t("priceUnknown")];
      if (n.cost.leisureCardAccepted) { parts.push(t("leisureCardAccepted")); }
      return parts.join(" · ");
    }
    var text = n.priceModel ? vocab("PriceModel", n.priceModel) : t("priceUnknown");
    return n.priceNote ? text + " (" + n.priceNote + ")" : text;
  }
  function ageText(n) {
    if (n.minAge !== null && n.maxAge !== null && n.minAge !== undefined) { return t("ageRange", { min: n.minAge, max: n.maxAge }); }
    if (n.minAge !== null && n.minAge !== undefined) { return t("ageFrom", { min: n.minAge }); }
    if (n.maxAge !== null && n.maxAge !== undefined) { return t("ageTo", { max: n.maxAge }); }
    return "";
  }
  function whoText(n) {
    var groups = (n.targetGroups || []).map(function (g) { return vocab("TargetGroup", g); });
    var age = ageText(n);
    if (age) { groups.push(age); }
    return groups.join(", ");
  }
  function addressText(n) {
    var v = n.venue || n;
    var street = [v.address, [v.postalCode, v.postalPlace].filter(Boolean).join(" ")].filter(Boolean).join(", ");
    if (n.venue) { return [n.venue.name, street].filter(Boolean).join(", "); }
    return street;
  }
  function stepFreeText(value) {
    return value === true ? t("stepFree") : value === false ? t("notStepFree") : t("stepFreeUnknown");
  }
  // How to join: sign-up link, the activity's page, the organiser's public web site, or drop in.
  function joinAction(n) {
    if (n.cost === undefined) {
      if (n.bookingUrl) { return link(n.bookingUrl, t("book"), "action"); }
      if (n.owner && n.owner.website) { return link(n.owner.website, t("contactOrganiser"), "action"); }
      return null;
    }
    if (n.registrationUrl) { return link(n.registrationUrl, t("register"), "action"); }
    if (n.url) { return link(n.url, t("moreInfo"), "action"); }
    if (n.organiser && n.organiser.website) { return link(n.organiser.website, t("contactOrganiser"), "action"); }
    return n.registrationRequired ? el("span", "action-text", t("registrationRequired")) : el("span", "action-text", t("dropIn"));
  }
  // Entries' own texts (Norwegian names and addresses on an Arabic page, say) take their
  // direction from their first letters, not from the page.
  function inLanguage(node, text) {
    if (!text) { return node; }
    node.lang = text.language;
    node.dir = text.rightToLeft ? "rtl" : "ltr";
    return node;
  }
  function translationNote(text) {
    if (!text || text.original) { return null; }
    var notes = [];
    if (text.machineTranslated) { notes.push(t("machineTranslated")); }
    if (text.outdated) { notes.push(t("outdatedTranslation")); }
    return notes.length ? el("small", "translation-note", notes.join(" · ")) : null;
  }
  function fact(dl, label, value) {
    if (!value) { return; }
    var dd = el("dd", null, value);
    dd.dir = "auto";
    append(dl, el("dt", null, label), dd);
  }
  // The public pages and the calendar take the row's number (a global id is base64 of
  // "Activity:123", whose "/" or "+" would not survive a path).
  function rowKey(n) { return atob(n.id).split(":")[1]; }
  function publicPath(n) { return (n.cost === undefined ? "/v/" : "/a/") + rowKey(n); }
  function card(r, index) {
    var n = r.node, isActivity = n.cost !== undefined, name = isActivity ? n.title : n.name;
    var li = el("li", "card");
    li.dataset.id = n.id;
    var head = el("div", "card-head");
    append(head, el("span", "num", String(index + 1)),
           el("span", "kind", isActivity ? vocab("ActivityCategory", n.category) : vocab("VenueType", n.venueType)));
    var h3 = el("h3");
    var a = inLanguage(link(state.list ? location.pathname + "?" + new URLSearchParams(lang !== "nb" ? { sel: n.id, lang: lang } : { sel: n.id }) : selectionUrl(n.id), name), n.titleText);
    a.setAttribute("aria-label", t("details", { name: name }));
    if (!state.list) { a.addEventListener("click", function (e) { e.preventDefault(); openDetail(n.id, true); }); }
    h3.appendChild(a);
    var dl = el("dl", "facts");
    var who = isActivity ? n.organiser && n.organiser.name : n.owner ? n.owner.name : vocab("OwnerType", n.ownerType);
    fact(dl, isActivity ? t("organiser") : t("owner"), who);
    if (isActivity) {
      var next = nextSessions(n.schedule, 2);
      fact(dl, t("nextTimes"), next.length ? next.map(sessionText).join(" · ") : t("noUpcoming"));
    } else {
      fact(dl, t("openHours"), weeklyText(n.availability, "from", "to"));
    }
    var place = addressText(n);
    fact(dl, t("where"), [place, r.distance !== null && r.distance !== undefined ? t("distance", { distance: distanceText(r.distance) }) : ""].filter(Boolean).join(" · "));
    fact(dl, t("price"), priceText(n));
    if (isActivity) {
      fact(dl, t("languages"), n.languages.map(languageName).join(", "));
      fact(dl, t("forWhom"), whoText(n));
    }
    fact(dl, t("access"), stepFreeText(isActivity ? n.venue && n.venue.stepFree : n.stepFree));
    var actions = el("div", "card-actions");
    append(actions, joinAction(n));
    if (isActivity) { actions.appendChild(pickButton(n)); }
    append(h3, translationNote(n.titleText));
    append(li, head, h3, dl, actions);
    return li;
  }

  // --- the detail view -------------------------------------------------------------------------------
  function selectionUrl(id) { return urlOf(Object.assign({}, state, { sel: id })); }
  function openDetail(id, push) {
    state.sel = id;
    writeState(push);
    var known = results.filter(function (r) { return r.node.id === id; })[0];
    return graphql(ONE, { id: id }).then(function (data) {
      var n = data.node;
      if (!n) { closeDetail(false); return; }
      renderDetail(n, known ? known.distance : null);
    }).catch(function (e) {
      $("status").textContent = t("errorGeneric");
    });
  }
  function renderDetail(n, distance) {
    var isActivity = n.__typename === "Activity", name = isActivity ? n.title : n.name, box = $("detail");
    box.textContent = "";
    var back = el("button", "back", t("back"));
    back.type = "button";
    back.addEventListener("click", function () { closeDetail(true); });
    var h2 = inLanguage(el("h2", null, name), n.titleText);
    h2.id = "detail-title";
    var kind = el("p", "kind", isActivity ? vocab("ActivityCategory", n.category) : vocab("VenueType", n.venueType));
    append(box, back, kind, h2, translationNote(n.titleText));
    if (n.description) {
      append(box, inLanguage(el("p", "description", n.description), n.descriptionText), translationNote(n.descriptionText));
    }
    var dl = el("dl", "facts");
    if (isActivity) {
      fact(dl, t("organiser"), n.organiser && n.organiser.name);
      var next = nextSessions(n.schedule, 5);
      fact(dl, t("nextTimes"), next.length ? next.map(sessionText).join(" · ") : t("noUpcoming"));
      fact(dl, t("weekly"), weeklyText(n.schedule, "start", "end"));
    } else {
      fact(dl, t("owner"), n.owner ? n.owner.name : vocab("OwnerType", n.ownerType));
      fact(dl, t("openHours"), weeklyText(n.availability, "from", "to"));
      fact(dl, t("capacity"), n.capacity ? t("people", { count: n.capacity }) : "");
      fact(dl, t("suitableFor"), n.suitableCategories.map(function (c) { return vocab("ActivityCategory", c); }).join(", "));
      fact(dl, t("amenities"), n.amenities.join(", "));
      fact(dl, t("accessibility"), n.accessibility.join(", "));
    }
    fact(dl, t("where"), [addressText(n), distance !== null && distance !== undefined ? t("distance", { distance: distanceText(distance) }) : ""].filter(Boolean).join(" · "));
    fact(dl, t("price"), priceText(n));
    if (isActivity) {
      fact(dl, t("languages"), n.languages.map(languageName).join(", "));
      fact(dl, t("forWhom"), whoText(n));
    }
    fact(dl, t("access"), stepFreeText(isActivity ? n.venue && n.venue.stepFree : n.stepFree));
    if (!isActivity && n.lastVerified) { fact(dl, t("lastVerified"), new Intl.DateTimeFormat(locale(), { dateStyle: "long", timeZone: "UTC", calendar: "gregory" }).format(new Date(n.lastVerified))); }
    box.appendChild(dl);
    if (!isActivity && n.activities && n.activities.length) {
      box.appendChild(el("h3", null, t("activitiesHere")));
      var ul = el("ul");
      n.activities.forEach(function (act) {
        var li = el("li"), a = link(selectionUrl(act.id), act.title);
        a.addEventListener("click", function (e) { e.preventDefault(); openDetail(act.id, true); });
        ul.appendChild(append(li, a));
      });
      box.appendChild(ul);
    }
    var actions = el("div", "card-actions");
    append(actions, joinAction(n));
    if (isActivity) { actions.appendChild(pickButton(n)); }
    var onMap = el("button", null, t("showOnMap"));
    onMap.type = "button";
    onMap.addEventListener("click", function () {
      setView("map");
      mapReady.then(function () { map.easeTo({ center: [n.location.lon, n.location.lat], zoom: 15 }); });
    });
    var share = el("button", null, t("share"));
    share.type = "button";
    share.addEventListener("click", function () {
      var url = location.origin + urlOf(state);
      (navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.reject()).then(function () {
        $("status").textContent = t("copied");
      }, function () { window.prompt(t("share"), url); });
    });
    if (isActivity) {
      var calendar = link("/calendar/activities/" + rowKey(n) + ".ics", t("addToCalendar"));
      calendar.setAttribute("download", "");
      calendar.className = "calendar";
      actions.appendChild(calendar);
    }
    append(actions, onMap, share, link(publicPath(n) + (lang !== "nb" ? "?lang=" + lang : ""), t("publicPage")));
    box.appendChild(actions);
    $("results-view").hidden = true;
    box.hidden = false;
    box.focus();
    document.body.dataset.detail = n.id;
    mapReady.then(function () {
      map.easeTo({ center: [n.location.lon, n.location.lat], zoom: Math.max(map.getZoom(), 14) });
      drawMarkers();
    });
  }
  function closeDetail(push) {
    delete state.sel;
    writeState(push);
    $("detail").hidden = true;
    $("results-view").hidden = false;
    delete document.body.dataset.detail;
    var item = document.querySelector("#results h3 a");
    if (item) { item.focus(); } else { $("results-heading").focus(); }
    drawMarkers();
  }

  // --- the counsellor's short list -----------------------------------------------------------------
  function pickButton(n) {
    var b = el("button", "pick");
    b.type = "button";
    function paint() {
      var on = state.picks.indexOf(n.id) >= 0;
      b.textContent = on ? "✓ " + t("picked") : "+ " + t("pick");
      b.setAttribute("aria-pressed", String(on));
    }
    b.addEventListener("click", function () {
      var at = state.picks.indexOf(n.id);
      if (at >= 0) { state.picks.splice(at, 1); } else { state.picks.push(n.id); }
      writeState(false);
      document.querySelectorAll(".pick").forEach(function (other) { if (other !== b) { other.dispatchEvent(new Event("repaint")); } });
      paint();
      paintPicks();
    });
    b.addEventListener("repaint", paint);
    paint();
    return b;
  }
  // The list a participant gets: only the chosen ids and a language, no personal data.
  function shortListUrl() {
    var p = new URLSearchParams();
    p.set("list", state.picks.join(","));
    if (lang !== "nb") { p.set("lang", lang); }
    return location.origin + location.pathname + "?" + p.toString();
  }
  function paintPicks() {
    $("picks-bar").hidden = !state.picks.length;
    $("picks-link").textContent = t("shortList", { count: state.picks.length });
    $("picks-link").href = shortListUrl();
  }
  function loadEntries(ids) {
    // One request with an aliased node(id:) per entry: plain GraphQL any app can send.
    var fields = ids.map(function (_, i) { return "e" + i + ": node(id: $id" + i + ", lang: $lang) { ... on Activity { " + ACTIVITY_FIELDS + " } ... on Venue { " + VENUE_FIELDS + " } }"; });
    var query = "query ShortList(" + ids.map(function (_, i) { return "$id" + i + ": ID!"; }).concat(["$lang: [String!]"]).join(", ") + ") { " + fields.join(" ") + " }";
    var variables = {};
    ids.forEach(function (id, i) { variables["id" + i] = id; });
    return graphql(query, variables).then(function (data) { return ids.map(function (_, i) { return data["e" + i]; }).filter(Boolean); });
  }
  function renderShortList() {
    var box = $("shortlist"), ids = (state.list || "").split(",").filter(Boolean).slice(0, 20);
    document.body.dataset.tool = "list";
    box.hidden = false;
    box.textContent = "";
    var h1 = el("h2", null, t("shortListTitle"));
    h1.id = "shortlist-title";
    append(box, h1, el("p", null, t("shortListIntro")));
    var qrBox = el("figure", "qr");
    var url = location.origin + location.pathname + "?" + new URLSearchParams({ list: ids.join(","), lang: lang }).toString();
    var qr = qrcode(0, "M");
    qr.addData(url);
    qr.make();
    var img = el("img");
    img.src = qr.createDataURL(4, 4);
    img.alt = t("qrLabel");
    img.id = "qr";
    append(qrBox, img, append(el("figcaption"), link(url, url)));
    box.appendChild(qrBox);
    var ol = el("ol", "cards");
    box.appendChild(ol);
    var tools = el("div", "card-actions no-print");
    var print = el("button", "primary", t("print"));
    print.type = "button";
    print.addEventListener("click", function () { window.print(); });
    append(tools, print, link(location.pathname + (lang !== "nb" ? "?lang=" + lang : ""), t("backToSearch")));
    box.appendChild(tools);
    box.appendChild(el("p", "small", t("noPersonalData")));
    return loadEntries(ids).then(function (nodes) {
      nodes.forEach(function (n, i) {
        var li = card({ node: n, distance: null }, i);
        li.querySelectorAll(".pick").forEach(function (b) { b.remove(); });
        ol.appendChild(li);
      });
      box.dataset.entries = String(nodes.length);
      document.body.dataset.shortList = "ready";
      box.focus();
    });
  }

  // --- the search box: places and directory entries ------------------------------------------------
  var initiatives = null;
  function loadInitiatives() {
    if (!initiatives) { initiatives = graphql(INITIATIVES).then(function (d) { return d.areaInitiatives; }); }
    return initiatives;
  }
  function centreOf(geometry) {
    var b = new maplibregl.LngLatBounds();
    (function walk(c) { if (typeof c[0] === "number") { b.extend(c); } else { c.forEach(walk); } })(geometry.coordinates);
    return b;
  }
  var suggestionItems = [], activeSuggestion = -1, suggestTimer = null, suggestId = 0;
  function suggest(text) {
    var id = ++suggestId;
    if (text.trim().length < 2) { closeSuggestions(); return; }
    graphql(SUGGEST, { text: text.trim(), filter: { text: text.trim() } }).then(function (d) {
      if (id !== suggestId) { return; }
      var items = [];
      var KIND_NOTE = { MUNICIPALITY: "municipality", BYDEL: "district", DELBYDEL: "subDistrict", AREA_INITIATIVE: "initiative" };
      d.places.forEach(function (place) {
        items.push({ group: "place", label: place.name, note: t(KIND_NOTE[place.kind] || "where"), pick: function () {
          var b = place.bbox;
          choosePlace({ name: place.name, at: place.inside, m: place.kind === "MUNICIPALITY" ? place.code : null,
                        bounds: [[b[0], b[1]], [b[2], b[3]]] });
        } });
      });
      d.activities.edges.concat(d.venues.edges).forEach(function (e) {
        var n = e.node;
        items.push({ group: "entry", label: n.title || n.name, note: n.title ? t("activities") : t("venues"), pick: function () {
          state.lat = String(n.location.lat); state.lon = String(n.location.lon); delete state.place; delete state.m;
          openDetail(n.id, true);
        } });
      });
      items.push({ group: "text", label: t("suggestText", { text: text.trim() }), pick: function () { searchText(text.trim()); } });
      renderSuggestions(items);
    }).catch(function () { closeSuggestions(); });
  }
  function renderSuggestions(items) {
    var ul = $("suggestions");
    ul.textContent = "";
    suggestionItems = items;
    activeSuggestion = -1;
    var lastGroup = null;
    items.forEach(function (item, i) {
      if (item.group !== lastGroup && item.group !== "text") {
        var head = el("li", "group", item.group === "place" ? t("suggestPlaces") : t("suggestEntries"));
        head.setAttribute("role", "presentation");
        ul.appendChild(head);
      }
      lastGroup = item.group;
      var li = el("li", "option");
      li.id = "suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      append(li, el("span", null, item.label), item.group !== "text" ? el("small", null, item.note) : null);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
      ul.appendChild(li);
    });
    ul.hidden = false;
    $("q").setAttribute("aria-expanded", "true");
  }
  function closeSuggestions() {
    $("suggestions").hidden = true;
    $("q").setAttribute("aria-expanded", "false");
    $("q").removeAttribute("aria-activedescendant");
    suggestionItems = [];
    activeSuggestion = -1;
  }
  function highlight(i) {
    activeSuggestion = i;
    document.querySelectorAll("#suggestions .option").forEach(function (li) {
      var on = li.id === "suggestion-" + i;
      li.setAttribute("aria-selected", String(on));
      if (on) { $("q").setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
    });
  }
  function choose(i) {
    var item = suggestionItems[i];
    closeSuggestions();
    if (item) { item.pick(); }
  }
  function choosePlace(place) {
    state.place = place.name;
    state.lat = place.at.lat.toFixed(5);
    state.lon = place.at.lon.toFixed(5);
    if (place.m) { state.m = place.m; } else { delete state.m; }
    delete state.q; delete state.sel;
    $("q").value = "";
    writeState(true);
    mapReady.then(function () {
      if (place.bounds) { map.fitBounds(place.bounds, { padding: 30, duration: 0 }); }
      else { map.jumpTo({ center: [place.at.lon, place.at.lat], zoom: 13 }); }
    });
    closeDetailQuietly();
    search(false);
  }
  function searchText(text) {
    state.q = text || undefined;
    if (!text) { delete state.q; }
    delete state.sel;
    writeState(true);
    closeDetailQuietly();
    search(false);
  }
  function closeDetailQuietly() { $("detail").hidden = true; $("results-view").hidden = false; delete document.body.dataset.detail; }
  $("q").addEventListener("input", function () {
    clearTimeout(suggestTimer);
    var text = $("q").value;
    suggestTimer = setTimeout(function () { suggest(text); }, 200);
  });
  $("q").addEventListener("keydown", function (e) {
    if ($("suggestions").hidden) { return; }
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(activeSuggestion + 1, suggestionItems.length - 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(activeSuggestion - 1, 0)); }
    else if (e.key === "Escape") { closeSuggestions(); }
    else if (e.key === "Enter" && activeSuggestion >= 0) { e.preventDefault(); choose(activeSuggestion); }
  });
  $("q").addEventListener("blur", function () { setTimeout(closeSuggestions, 150); });
  $("search").addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(suggestTimer);
    suggestId++;
    closeSuggestions();
    searchText($("q").value.trim());
  });
  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { showNotice(t("locationFailed")); return; }
    $("status").textContent = t("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      choosePlace({ name: t("hereLabel"), at: { lat: pos.coords.latitude, lon: pos.coords.longitude } });
      delete state.place;
      writeState(false);
    }, function () { $("status").textContent = t("locationFailed"); }, { timeout: 10000 });
  });
  function mapClicked(e) {
    if (document.body.dataset.tool !== "search") { return; }
    state.lat = e.lngLat.lat.toFixed(5);
    state.lon = e.lngLat.lng.toFixed(5);
    delete state.place; delete state.m; delete state.sel;
    writeState(true);
    closeDetailQuietly();
    search(false);
  }

  // --- filters and kind --------------------------------------------------------------------------
  function paintFilters() {
    var f = $("filters");
    FILTER_KEYS.forEach(function (k) {
      var input = f.elements[k];
      if (input.type === "checkbox") { input.checked = !!state[k]; } else { input.value = state[k] || ""; }
    });
    f.elements.r.value = state.r;
    document.querySelectorAll("#kind input").forEach(function (r) { r.checked = r.value === state.kind; });
    document.querySelectorAll("[data-only]").forEach(function (node) { node.hidden = node.dataset.only !== state.kind; });
    var chosen = FILTER_KEYS.filter(function (k) { return state[k] && !(state.kind === "venues" && f.elements[k].closest("[data-only]")); }).length;
    $("filters-summary").textContent = chosen ? t("filtersActive", { count: chosen }) : t("filters");
    $("q").value = state.q || "";
  }
  $("filters").addEventListener("change", function (e) {
    var input = e.target;
    if (!input.name) { return; }
    var value = input.type === "checkbox" ? (input.checked ? "1" : "") : input.value;
    if (value) { state[input.name] = value; } else { delete state[input.name]; }
    if (input.name === "r") { state.r = value || "3000"; }
    delete state.sel;
    writeState(false);
    paintFilters();
    search(false);
  });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  $("filters").addEventListener("reset", function (e) {
    e.preventDefault();
    FILTER_KEYS.forEach(function (k) { delete state[k]; });
    writeState(false);
    paintFilters();
    search(false);
  });
  document.querySelectorAll("#kind input").forEach(function (radio) {
    radio.addEventListener("change", function () {
      state.kind = radio.value;
      delete state.sel;
      writeState(false);
      paintFilters();
      closeDetailQuietly();
      search(false);
    });
  });
  $("more").addEventListener("click", function () { search(true); });

  // --- phone: list and map as two views ------------------------------------------------------------
  function setView(view) {
    state.view = view === "map" ? "map" : undefined;
    if (!state.view) { delete state.view; }
    writeState(false);
    document.body.dataset.view = view;
    document.querySelectorAll(".views button").forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.view === view)); });
    if (view === "map") { startMap().then(function () { map.resize(); }); }
  }
  document.querySelectorAll(".views button").forEach(function (b) {
    b.addEventListener("click", function () { setView(b.dataset.view); });
  });
  $("lang").addEventListener("change", function () {
    state.lang = $("lang").value;
    writeState(false);
    location.reload();
  });

  // --- the analyst views: a municipality, an area initiative's coverage gaps -----------------------
  var MUNICIPALITY = "query M($n: String!) { municipality(number: $n) {\n" +
    " number name population immigrantShare boundary(simplifyMeters: 50)\n" +
    " venues(first: 15) { totalCount edges { node { id name priceModel } } }\n" +
    " activities(first: 15) { totalCount edges { node { id title category } } }\n" +
    " councils { id name kind status } } }";
  var FIND_MUNICIPALITY = "query F($text: String!) { municipalities(filter: {nameContains: $text}, first: 1) { edges { node { number } } } }";
  var COVERAGE = "query C($slug: ID!, $cats: [ActivityCategory!], $within: Float!, $kind: AreaKind!, $after: String, $lang: [String!]) {\n" +
    " coverage(area: {areaInitiative: $slug}, target: {categories: $cats}, withinMeters: $within, unitKind: $kind, lang: $lang) {\n" +
    "  areaName population coveredPopulation coveredShare unitCount gapCount noteDetails { code values text }\n" +
    "  gaps(first: 100, after: $after) { code name population nearestDistanceMeters geometry cursor } } }";
  function percent(share, digits) {
    return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(share);
  }
  function number(n) { return n === null || n === undefined ? "–" : new Intl.NumberFormat(locale()).format(n); }
  // The page says the notes it knows by code in its own words; any other in the API's text,
  // which comes in the reader's language ($lang).
  var NOTES = {
    NO_POPULATION_FIGURE: function (v) { return t("note_noPopulation", { missing: number(v.missing), units: number(v.units) }); },
    IMMIGRANTS_UNKNOWN: function () { return t("note_noImmigrants"); },
    IMMIGRANTS_PARTLY_KNOWN: function (v) { return t("note_someImmigrants", { known: number(v.known), units: number(v.units) }); },
    NO_UNITS_OUTSIDE_REGION: function () { return t("note_outside"); },
    NO_UNITS_OF_KIND: function () { return t("note_noUnits"); },
    NO_UNITS_OF_ANY_KIND: function () { return t("note_noUnits"); }
  };
  function noteText(note) { return NOTES[note.code] ? NOTES[note.code](note.values) : note.text; }
  function labelled(labelKey, control) {
    var label = el("label");
    return append(label, el("span", null, t(labelKey)), control);
  }
  function analystFrame(titleKey) {
    var box = $("analyst");
    box.textContent = "";
    var back = link(location.pathname + (lang !== "nb" ? "?lang=" + lang : ""), t("backToSearch"), "back");
    append(box, back, el("h2", null, t(titleKey)));
    $("results-view").hidden = true;
    $("detail").hidden = true;
    box.hidden = false;
    return box;
  }
  function municipalityTool() {
    var box = analystFrame("municipalityView");
    var form = el("form", "analyst-form"), input = el("input");
    input.name = "m"; input.value = state.m || ""; input.required = true;
    var go = el("button", "primary", t("show"));
    go.type = "submit";
    append(form, labelled("municipalityNumber", input), go);
    var view = el("div", "analyst-view");
    view.setAttribute("aria-live", "polite");
    append(box, form, view);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      var found = /^\d{4}$/.test(text) ? Promise.resolve(text) : graphql(FIND_MUNICIPALITY, { text: text }).then(function (d) {
        return d.municipalities.edges.length ? d.municipalities.edges[0].node.number : null;
      });
      found.then(function (n) { if (n) { state.m = n; writeState(false); showMunicipality(n, view); } else { view.textContent = t("notMunicipality"); } });
    });
    map.on("click", function (e) {
      if (document.body.dataset.tool !== "municipality") { return; }
      graphql("query W($at: LatLonInput!) { whereAmI(at: $at) { municipality { number } } }", { at: { lat: e.lngLat.lat, lon: e.lngLat.lng } })
        .then(function (d) { if (d.whereAmI.municipality) { state.m = d.whereAmI.municipality.number; writeState(false); showMunicipality(state.m, view); } });
    });
    if (state.m) { showMunicipality(state.m, view); }
  }
  function listOf(parent, heading, total, items) {
    parent.appendChild(el("h3", null, heading + " (" + total + ")"));
    var ul = el("ul");
    items.forEach(function (text) { ul.appendChild(el("li", null, text)); });
    parent.appendChild(ul);
  }
  function showMunicipality(code, view) {
    view.textContent = t("searching");
    return graphql(MUNICIPALITY, { n: code }).then(function (data) {
      var m = data.municipality;
      view.textContent = "";
      if (!m) { view.textContent = t("notMunicipality"); return; }
      var c = el("div", "report");
      c.appendChild(el("h3", null, m.name + " (" + m.number + ")"));
      var dl = el("dl", "facts");
      fact(dl, t("population"), number(m.population));
      fact(dl, t("immigrantShare"), m.immigrantShare === null ? "–" : percent(m.immigrantShare, 1));
      c.appendChild(dl);
      listOf(c, t("councils"), m.councils.length, m.councils.map(function (x) { return x.name; }));
      if (!m.councils.length) { c.appendChild(el("p", null, t("noCouncil"))); }
      listOf(c, t("venues"), m.venues.totalCount, m.venues.edges.map(function (e) { return e.node.name + " · " + (e.node.priceModel ? vocab("PriceModel", e.node.priceModel) : t("priceUnknown")); }));
      listOf(c, t("activities"), m.activities.totalCount, m.activities.edges.map(function (e) { return e.node.title + " · " + vocab("ActivityCategory", e.node.category); }));
      view.appendChild(c);
      if (m.boundary) {
        map.getSource("selection").setData({ type: "Feature", geometry: m.boundary, properties: {} });
        map.fitBounds(centreOf(m.boundary), { padding: 30, duration: 0 });
      }
      document.body.dataset.municipality = m.number;
    }).catch(function (e) { view.textContent = t("errorGeneric"); });
  }
  function coverageTool() {
    var box = analystFrame("coverageView");
    var form = el("form", "analyst-form");
    var area = el("select"), cat = el("select"), within = el("select"), unit = el("select");
    area.name = "area"; cat.name = "cat"; within.name = "within"; unit.name = "unit";
    options(cat, "ActivityCategory", Object.keys(i18next.t("vocab.ActivityCategory", { returnObjects: true })), t("any"));
    [500, 1000, 2000, 5000].forEach(function (m) { within.appendChild(new Option(m < 1000 ? m + " m" : m / 1000 + " km", String(m))); });
    ["GRID_1KM", "GRID_250M", "GRUNNKRETS", "DELBYDEL"].forEach(function (k) { unit.appendChild(new Option(vocab("AreaKind", k), k)); });
    var go = el("button", "primary", t("showCoverage"));
    go.type = "submit";
    append(form, labelled("initiative", area), labelled("category", cat), labelled("within", within), labelled("unitKind", unit), go);
    var view = el("div", "analyst-view");
    view.setAttribute("aria-live", "polite");
    append(box, form, view);
    loadInitiatives().then(function (list) {
      list.forEach(function (a) { area.appendChild(new Option(a.name, a.slug)); });
      area.value = state.area || (list[0] && list[0].slug) || "";
      cat.value = state.cat || ""; within.value = state.within || "1000"; unit.value = state.unit || "GRID_1KM";
      if (state.area) { showCoverage(view, list); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      state.area = area.value; state.within = within.value; state.unit = unit.value;
      if (cat.value) { state.cat = cat.value; } else { delete state.cat; }
      writeState(false);
      loadInitiatives().then(function (list) { showCoverage(view, list); });
    });
  }
  function showCoverage(view, list) {
    view.textContent = t("searching");
    var variables = { slug: state.area, cats: state.cat ? [state.cat] : null, within: Number(state.within || 1000), kind: state.unit || "GRID_1KM" };
    var features = [];
    function pageFrom(after) {
      return graphql(COVERAGE, Object.assign({}, variables, { after: after })).then(function (data) {
        var report = data.coverage;
        report.gaps.forEach(function (g) { features.push({ type: "Feature", geometry: g.geometry, properties: { code: g.code, name: g.name, population: g.population } }); });
        var last = report.gaps[report.gaps.length - 1];
        return report.gaps.length === 100 && features.length < 1000 ? pageFrom(last.cursor) : report;
      });
    }
    return pageFrom(null).then(function (report) {
      map.getSource("gaps").setData({ type: "FeatureCollection", features: features });
      var area = list.filter(function (a) { return a.slug === state.area; })[0];
      if (area && area.boundary) {
        map.getSource("selection").setData({ type: "Feature", geometry: area.boundary, properties: {} });
        map.fitBounds(centreOf(area.boundary), { padding: 30, duration: 0 });
      }
      view.textContent = "";
      var c = el("div", "report");
      c.appendChild(el("h3", null, report.areaName || (area && area.name)));
      var dl = el("dl", "facts");
      fact(dl, t("population"), number(report.population));
      fact(dl, t("covered"), number(report.coveredPopulation) + (report.coveredShare === null ? "" : " (" + percent(report.coveredShare, 0) + ")"));
      c.appendChild(dl);
      c.appendChild(el("h4", null, t("gaps", { count: report.gapCount })));
      var scale = el("div", "scale");
      append(scale, el("span", null, "0"), el("i"), el("span", null, "6000+ " + t("peopleShort")));
      c.appendChild(scale);
      var ul = el("ul");
      features.slice(0, 10).forEach(function (f) { ul.appendChild(el("li", null, (f.properties.name || f.properties.code) + " · " + number(f.properties.population) + " " + t("peopleShort"))); });
      c.appendChild(ul);
      report.noteDetails.map(noteText).forEach(function (n) { c.appendChild(el("p", "note", n)); });
      view.appendChild(c);
      document.body.dataset.gaps = String(features.length);
    }).catch(function (e) { view.textContent = t("errorGeneric"); });
  }

  // --- start ------------------------------------------------------------------------------------------
  var languageReady = loadLanguage(lang);
  var wide = window.matchMedia("(min-width: 900px)");
  if (!state.list && (state.view === "map" || state.tool || wide.matches)) { startMap(); }
  wide.addEventListener("change", function () { if (wide.matches && !state.list) { startMap(); } });
  languageReady.then(function () {
    translatePage();
    paintFilters();
    paintPicks();
    if (state.list) { renderShortList(); return; }
    if (state.view === "map") { setView("map"); }
    if (state.tool === "municipality" || state.tool === "coverage") {
      document.body.dataset.tool = state.tool;
      startMap().then(state.tool === "municipality" ? municipalityTool : coverageTool);
      return;
    }
    search(false);
    if (state.sel) { openDetail(state.sel, false); }
  });
  window.addEventListener("popstate", function () {
    state = readState();
    paintFilters();
    if (state.sel) { openDetail(state.sel, false); } else { closeDetailQuietly(); }
    search(false);
  });
})();
