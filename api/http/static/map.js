// The map page: what is near a point, a municipality, and an area initiative's coverage gaps.
// Plain JS on MapLibre GL JS; data from the GraphQL API and the app's own vector tiles.
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("config").textContent);
  var OSLO = [10.75, 59.91];

  var CATEGORIES = {
    LANGUAGE_CAFE: ["Språkkafé", "Language café"], NORWEGIAN_PRACTICE: ["Norsktrening", "Norwegian practice"],
    HOMEWORK_HELP: ["Leksehjelp", "Homework help"], REFUGEE_GUIDE: ["Flyktningguide", "Refugee guide"],
    MENTORING: ["Mentorordning", "Mentoring"], SPORTS: ["Idrett", "Sports"], CULTURE: ["Kultur", "Culture"],
    OUTDOOR: ["Friluftsliv", "Outdoor life"], PARENT_SUPPORT: ["Foreldrestøtte", "Parent support"],
    WOMENS_GROUP: ["Kvinnegruppe", "Women's group"], LIFE_SKILLS: ["Livsmestring", "Life skills"],
    DIGITAL_SKILLS: ["Digital kompetanse", "Digital skills"], WORK_TRAINING: ["Arbeidstrening", "Work training"],
    INFORMATION: ["Informasjon", "Information"], DIALOGUE: ["Dialog", "Dialogue"],
    MEETING_PLACE: ["Møteplass", "Meeting place"], YOUTH_CLUB: ["Ungdomsklubb", "Youth club"],
    ACTIVITY_GUIDE: ["Aktivitetsguide", "Activity guide"]
  };
  var TARGET_GROUPS = {
    CHILDREN: ["Barn (6–12)", "Children (6–12)"], YOUTH: ["Ungdom (13–19)", "Youth (13–19)"],
    ADULTS: ["Voksne", "Adults"], SENIORS: ["Eldre", "Seniors"], WOMEN: ["Kvinner", "Women"],
    FAMILIES: ["Familier", "Families"], NEWLY_ARRIVED: ["Nyankomne", "Newly arrived"],
    ASYLUM_SEEKERS: ["Asylsøkere", "Asylum seekers"], LABOUR_MIGRANTS: ["Arbeidsinnvandrere", "Labour migrants"]
  };
  var WEEKDAYS = {
    MONDAY: ["mandag", "Monday"], TUESDAY: ["tirsdag", "Tuesday"], WEDNESDAY: ["onsdag", "Wednesday"],
    THURSDAY: ["torsdag", "Thursday"], FRIDAY: ["fredag", "Friday"], SATURDAY: ["lørdag", "Saturday"],
    SUNDAY: ["søndag", "Sunday"]
  };
  var TEXT = {
    title: ["hverdag – kart", "hverdag – map"], tabNear: ["I nærheten", "Near me"],
    tabMunicipality: ["Kommune", "Municipality"], tabInitiative: ["Områdesatsing", "Area initiative"],
    nearHint: ["Klikk i kartet for å velge et punkt, eller bruk din posisjon.",
               "Click the map to choose a point, or use your location."],
    locate: ["Bruk min posisjon", "Use my location"], category: ["Kategori", "Category"],
    targetGroup: ["Målgruppe", "Target group"], language: ["Språk (ISO-kode)", "Language (ISO code)"],
    weekday: ["Ukedag", "Weekday"], time: ["Klokkeslett", "Time"], radius: ["Avstand", "Distance"],
    free: ["Bare gratis", "Free only"], all: ["Alle", "All"], any: ["Når som helst", "Any day"],
    searching: ["Søker …", "Searching …"], noResults: ["Ingen treff innenfor avstanden.", "Nothing within that distance."],
    results: ["treff", "results"], shown: ["vist", "shown"], activity: ["Aktivitet", "Activity"],
    venue: ["Lokale", "Venue"], council: ["Innvandrerråd", "Immigrant council"],
    municipalityHint: ["Klikk i kartet eller skriv et kommunenummer.", "Click the map or type a municipality number."],
    municipalityNumber: ["Kommunenummer", "Municipality number"], show: ["Vis", "Show"],
    population: ["Innbyggere", "Population"], immigrantShare: ["Andel innvandrere", "Immigrant share"],
    venues: ["Lokaler", "Venues"], activities: ["Aktiviteter", "Activities"], councils: ["Råd", "Councils"],
    noCouncil: ["Ingen innvandrerråd registrert.", "No immigrant council registered."],
    notMunicipality: ["Ingen kommune her.", "No municipality here."],
    initiative: ["Områdesatsing", "Area initiative"], within: ["Innen", "Within"],
    unitKind: ["Enhet", "Unit"], showCoverage: ["Vis dekning", "Show coverage"],
    covered: ["Dekket", "Covered"], gaps: ["Hull (udekkede enheter)", "Gaps (uncovered units)"],
    people: ["personer", "people"], legendVenues: ["Lokaler:", "Venues:"],
    FREE: ["gratis", "free"], REDUCED: ["redusert pris", "reduced"], MARKET: ["markedspris", "market price"],
    UNKNOWN: ["ukjent pris", "price unknown"], explorer: ["GraphQL-utforsker", "GraphQL explorer"],
    ogc: ["OGC API Features (QGIS)", "OGC API Features (QGIS)"], locationFailed: ["Fant ikke posisjonen din.", "Could not get your location."],
    nearest: ["nærmeste mål", "nearest target"], error: ["Feil", "Error"], unitsShaded: ["skravert etter innbyggere", "shaded by population"]
  };

  var lang = new URLSearchParams(location.search).get("lang") === "en" ? 1 : 0;
  function t(key) { return (TEXT[key] || [key, key])[lang]; }
  function label(table, key) { return table[key] ? table[key][lang] : key; }
  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // --- GraphQL ---------------------------------------------------------------------------------
  function graphql(query, variables) {
    return fetch(CONFIG.graphqlUrl, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.errors && body.errors.length) { throw new Error(body.errors[0].message); }
      return body.data;
    });
  }

  var NEARBY = "query Near($at: LatLonInput!, $r: Float!, $f: DirectoryFilterInput) {\n" +
    " nearby(at: $at, radiusMeters: $r, first: 25, kinds: [ACTIVITY, VENUE], filter: $f) {\n" +
    "  totalCount edges { distanceMeters node { __typename\n" +
    "   ... on Activity { id title category location { lat lon } schedule { weekday start end }\n" +
    "                     cost { free } venue { name } }\n" +
    "   ... on Venue { id name venueType priceModel location { lat lon } availability { weekday from to } } } } } }";
  var WHERE = "query Where($at: LatLonInput!) { whereAmI(at: $at) { municipality { number } } }";
  var MUNICIPALITY = "query M($n: String!) { municipality(number: $n) {\n" +
    " number name population immigrantShare boundary(simplifyMeters: 50)\n" +
    " venues(first: 15) { totalCount edges { node { id name priceModel } } }\n" +
    " activities(first: 15) { totalCount edges { node { id title category } } }\n" +
    " councils { id name kind status } } }";
  var INITIATIVES = "{ areaInitiatives { slug name boundary(simplifyMeters: 20) } }";
  var COVERAGE = "query C($slug: ID!, $cats: [ActivityCategory!], $within: Float!, $kind: AreaKind!, $after: String) {\n" +
    " coverage(area: {areaInitiative: $slug}, target: {categories: $cats}, withinMeters: $within, unitKind: $kind) {\n" +
    "  areaName population coveredPopulation coveredShare unitCount gapCount notes\n" +
    "  gaps(first: 100, after: $after) { code name population nearestDistanceMeters geometry cursor } } }";

  // --- page text and form options ---------------------------------------------------------------
  function options(select, table, emptyKey) {
    var chosen = select.value;
    select.textContent = "";
    if (emptyKey) { select.appendChild(new Option(t(emptyKey), "")); }
    Object.keys(table).forEach(function (key) { select.appendChild(new Option(label(table, key), key)); });
    select.value = chosen;
  }
  function translate() {
    document.documentElement.lang = lang ? "en" : "nb";
    document.querySelectorAll("[data-t]").forEach(function (node) { node.textContent = t(node.dataset.t); });
    $("lang").textContent = lang ? "Norsk" : "English";
    document.title = t("title");
    options($("category"), CATEGORIES, "all");
    options($("coverage-category"), CATEGORIES, "all");
    options($("targetGroup"), TARGET_GROUPS, "all");
    options($("weekday"), WEEKDAYS, "any");
  }

  // --- the map ----------------------------------------------------------------------------------
  function tiles(layer) { return location.origin + "/tiles/" + layer + "/{z}/{x}/{y}.mvt"; }
  var style = {
    version: 8,
    sources: {
      municipalities: { type: "vector", tiles: [tiles("municipalities")], minzoom: 0, maxzoom: 14 },
      districts: { type: "vector", tiles: [tiles("districts")], minzoom: 8, maxzoom: 14 },
      venues: { type: "vector", tiles: [tiles("venues")], minzoom: 10, maxzoom: 14 },
      activities: { type: "vector", tiles: [tiles("activities")], minzoom: 10, maxzoom: 14 }
    },
    layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f5" } }]
  };
  if (CONFIG.basemapUrl) {
    style.sources.basemap = { type: "raster", tiles: [CONFIG.basemapUrl], tileSize: 256,
                              attribution: CONFIG.basemapAttribution || "" };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  var own = !CONFIG.basemapUrl;
  // Below zoom 14 a point feature stands for the `count` places in its 16 px cell of the tile:
  // the dot grows with it (up to the cell's size), and bigger dots are drawn on top.
  var COUNT = ["coalesce", ["get", "count"], 1];
  function byCount(one, many) { return ["interpolate", ["linear"], COUNT, 1, one, 10, (one + many) / 2, 100, many]; }
  style.layers.push(
    { id: "municipality-fill", type: "fill", source: "municipalities", "source-layer": "municipalities",
      paint: { "fill-color": "#ffffff", "fill-opacity": own ? 0.9 : 0.1 } },
    { id: "municipality-line", type: "line", source: "municipalities", "source-layer": "municipalities",
      paint: { "line-color": "#6b7a99", "line-width": 1 } },
    { id: "district-line", type: "line", source: "districts", "source-layer": "districts",
      filter: ["==", ["get", "kind"], "BYDEL"], paint: { "line-color": "#9aa5bd", "line-width": 1, "line-dasharray": [3, 2] } },
    { id: "activity-points", type: "circle", source: "activities", "source-layer": "activities",
      layout: { "circle-sort-key": COUNT },
      paint: { "circle-radius": byCount(3, 6), "circle-color": "#7048e8", "circle-opacity": 0.6 } },
    { id: "venue-points", type: "circle", source: "venues", "source-layer": "venues",
      layout: { "circle-sort-key": COUNT },
      paint: { "circle-radius": byCount(4, 7), "circle-stroke-color": "#fff", "circle-stroke-width": 1,
               "circle-color": ["match", ["get", "price_model"], "FREE", "#2b8a3e", "REDUCED", "#f08c00",
                                "MARKET", "#c92a2a", "#868e96"] } }
  );

  var map = new maplibregl.Map({ container: "map", style: style, center: OSLO, zoom: 11, maxZoom: 18,
                                 attributionControl: { compact: true } });
  window.hverdagMap = map;  // for the browser tests and the console
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-right");

  function emptyCollection() { return { type: "FeatureCollection", features: [] }; }
  map.on("load", function () {
    map.addSource("selection", { type: "geojson", data: emptyCollection() });
    map.addSource("gaps", { type: "geojson", data: emptyCollection() });
    map.addLayer({ id: "gap-fill", type: "fill", source: "gaps", paint: {
      "fill-opacity": 0.7, "fill-outline-color": "#862e9c",
      "fill-color": ["interpolate", ["linear"], ["get", "population"], 0, "#fff3bf", 1500, "#f76707", 6000, "#862e9c"] } },
      "activity-points");
    map.addLayer({ id: "selection-line", type: "line", source: "selection",
                   paint: { "line-color": "#d9480f", "line-width": 2.5 } }, "activity-points");
    document.body.dataset.mapReady = "true";
  });

  // --- near me ----------------------------------------------------------------------------------
  var point = null, hereMarker = null, resultMarkers = [];
  function metres(d) { return d < 1000 ? Math.round(d) + " m" : (d / 1000).toFixed(1).replace(".", lang ? "." : ",") + " km"; }
  function percent(share, digits) {
    return (share * 100).toLocaleString(lang ? "en" : "nb", { minimumFractionDigits: digits, maximumFractionDigits: digits }) + " %";
  }
  function day(w) { return label(WEEKDAYS, w).slice(0, 3); }
  function hhmm(value) { return value.slice(0, 5); }
  function times(node) {
    var windows = node.__typename === "Activity"
      ? node.schedule.map(function (s) { return day(s.weekday) + " " + hhmm(s.start) + "–" + hhmm(s.end); })
      : (node.availability || []).map(function (w) { return day(w.weekday) + " " + hhmm(w.from) + "–" + hhmm(w.to); });
    return windows.join(", ");
  }
  function filterInput() {
    var f = {};
    if ($("category").value) { f.categories = [$("category").value]; }
    if ($("targetGroup").value) { f.targetGroups = [$("targetGroup").value]; }
    if ($("language").value.trim()) { f.languages = [$("language").value.trim().toLowerCase()]; }
    if ($("free").checked) { f.freeOnly = true; }
    // A weekday alone: at some point that day; with a time: open at that time.
    if ($("weekday").value && $("time").value) {
      f.openAt = { weekday: $("weekday").value, time: $("time").value };
    } else if ($("weekday").value) {
      f.during = { weekday: $("weekday").value, from: "00:00", to: "23:59" };
    }
    return f;
  }
  function clearResults() {
    resultMarkers.forEach(function (m) { m.remove(); });
    resultMarkers = [];
    $("results").textContent = "";
  }
  function activate(index) {
    document.querySelectorAll("#results li").forEach(function (li, i) { li.classList.toggle("active", i === index); });
    resultMarkers.forEach(function (m, i) { m.getElement().classList.toggle("active", i === index); });
  }
  function showResult(index, edge) {
    var node = edge.node, isActivity = node.__typename === "Activity";
    var name = isActivity ? node.title : node.name;
    var kind = isActivity ? label(CATEGORIES, node.category) : t("venue") + " · " + t(node.priceModel || "UNKNOWN");
    var li = el("li");
    li.dataset.index = index;
    li.appendChild(el("span", "num", String(index + 1)));
    var body = el("div");
    body.appendChild(el("div", "name", name));
    body.appendChild(el("div", "meta", metres(edge.distanceMeters) + " · " + kind));
    var when = times(node);
    if (when) { body.appendChild(el("div", "meta when", when)); }
    li.appendChild(body);
    $("results").appendChild(li);

    var dot = el("div", "marker", String(index + 1));
    dot.title = name;
    var lngLat = [node.location.lon, node.location.lat];
    var popup = new maplibregl.Popup({ offset: 14, closeButton: false }).setText(name + " — " + metres(edge.distanceMeters));
    var marker = new maplibregl.Marker({ element: dot }).setLngLat(lngLat).setPopup(popup).addTo(map);
    resultMarkers.push(marker);
    function focus() { activate(index); }
    dot.addEventListener("mouseenter", focus);
    dot.addEventListener("click", function () { focus(); li.scrollIntoView({ block: "nearest" }); });
    li.addEventListener("mouseenter", focus);
    li.addEventListener("click", function () {
      focus();
      map.easeTo({ center: lngLat, zoom: Math.max(map.getZoom(), 14) });
      if (!popup.isOpen()) { marker.togglePopup(); }
    });
  }
  function searchNear() {
    if (!point) { return; }
    $("near-status").textContent = t("searching");
    $("near-status").classList.remove("error");
    var variables = { at: { lat: point[1], lon: point[0] }, r: Number($("radius").value), f: filterInput() };
    return graphql(NEARBY, variables).then(function (data) {
      clearResults();
      var edges = data.nearby.edges;
      $("near-status").textContent = edges.length
        ? data.nearby.totalCount + " " + t("results") + (data.nearby.totalCount > edges.length ? ", " + edges.length + " " + t("shown") : "")
        : t("noResults");
      edges.forEach(function (edge, i) { showResult(i, edge); });
      document.body.dataset.nearResults = String(edges.length);
    }).catch(function (e) {
      clearResults();
      $("near-status").textContent = t("error") + ": " + e.message;
      $("near-status").classList.add("error");
    });
  }
  function choosePoint(lngLat) {
    point = [lngLat[0], lngLat[1]];
    if (!hereMarker) { hereMarker = new maplibregl.Marker({ element: el("div", "here") }); }
    hereMarker.setLngLat(point).addTo(map);
    return searchNear();
  }
  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { $("near-status").textContent = t("locationFailed"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lngLat = [pos.coords.longitude, pos.coords.latitude];
      map.easeTo({ center: lngLat, zoom: 13 });
      choosePoint(lngLat);
    }, function () { $("near-status").textContent = t("locationFailed"); }, { timeout: 10000 });
  });
  $("filters").addEventListener("change", function () { searchNear(); });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); searchNear(); });

  // --- municipality -----------------------------------------------------------------------------
  function boundsOf(geometry) {
    var b = new maplibregl.LngLatBounds();
    (function walk(c) { if (typeof c[0] === "number") { b.extend(c); } else { c.forEach(walk); } })(geometry.coordinates);
    return b;
  }
  function list(parent, heading, total, items) {
    parent.appendChild(el("h3", null, heading + " (" + total + ")"));
    var ul = el("ul");
    items.forEach(function (text) { ul.appendChild(el("li", null, text)); });
    parent.appendChild(ul);
  }
  function showMunicipality(number) {
    var view = $("municipality-view");
    view.textContent = t("searching");
    return graphql(MUNICIPALITY, { n: number }).then(function (data) {
      var m = data.municipality;
      view.textContent = "";
      if (!m) { view.textContent = t("notMunicipality"); return; }
      var card = el("div", "card");
      card.appendChild(el("h2", null, m.name + " (" + m.number + ")"));
      var dl = el("dl");
      dl.appendChild(el("dt", null, t("population"))); dl.appendChild(el("dd", null, m.population === null ? "–" : m.population.toLocaleString(lang ? "en" : "nb")));
      dl.appendChild(el("dt", null, t("immigrantShare"))); dl.appendChild(el("dd", null, m.immigrantShare === null ? "–" : percent(m.immigrantShare, 1)));
      card.appendChild(dl);
      list(card, t("councils"), m.councils.length, m.councils.map(function (c) { return c.name + (c.status === "ACTIVE" ? "" : " (" + c.status.toLowerCase() + ")"); }));
      if (!m.councils.length) { card.appendChild(el("p", "meta", t("noCouncil"))); }
      list(card, t("venues"), m.venues.totalCount, m.venues.edges.map(function (e) { return e.node.name + " · " + t(e.node.priceModel || "UNKNOWN"); }));
      list(card, t("activities"), m.activities.totalCount, m.activities.edges.map(function (e) { return e.node.title + " · " + label(CATEGORIES, e.node.category); }));
      view.appendChild(card);
      $("municipality-number").value = m.number;
      if (m.boundary) {
        map.getSource("selection").setData({ type: "Feature", geometry: m.boundary, properties: {} });
        map.fitBounds(boundsOf(m.boundary), { padding: 30, duration: 0 });
      }
    }).catch(function (e) { view.textContent = t("error") + ": " + e.message; });
  }
  $("municipality-form").addEventListener("submit", function (e) { e.preventDefault(); showMunicipality($("municipality-number").value.trim()); });

  // --- area initiative and its coverage gaps ------------------------------------------------------
  var initiatives = {};
  function loadInitiatives() {
    return graphql(INITIATIVES).then(function (data) {
      var select = $("initiative");
      select.textContent = "";
      data.areaInitiatives.forEach(function (a) { initiatives[a.slug] = a; select.appendChild(new Option(a.name, a.slug)); });
    });
  }
  function showCoverage() {
    var view = $("coverage-view"), slug = $("initiative").value;
    if (!slug) { return; }
    view.textContent = t("searching");
    var cats = $("coverage-category").value ? [$("coverage-category").value] : null;
    var variables = { slug: slug, cats: cats, within: Number($("within").value), kind: $("unit-kind").value };
    var features = [];
    function pageFrom(after) {
      return graphql(COVERAGE, Object.assign({}, variables, { after: after })).then(function (data) {
        var report = data.coverage;
        report.gaps.forEach(function (g) {
          features.push({ type: "Feature", geometry: g.geometry, properties: { code: g.code, name: g.name, population: g.population } });
        });
        var last = report.gaps[report.gaps.length - 1];
        return report.gaps.length === 100 && features.length < 1000 ? pageFrom(last.cursor) : report;
      });
    }
    return pageFrom(null).then(function (report) {
      map.getSource("gaps").setData({ type: "FeatureCollection", features: features });
      var area = initiatives[slug];
      if (area && area.boundary) {
        map.getSource("selection").setData({ type: "Feature", geometry: area.boundary, properties: {} });
        map.fitBounds(boundsOf(area.boundary), { padding: 30, duration: 0 });
      }
      view.textContent = "";
      var card = el("div", "card");
      card.appendChild(el("h2", null, report.areaName || area.name));
      var dl = el("dl");
      var share = report.coveredShare === null ? "–" : percent(report.coveredShare, 0);
      dl.appendChild(el("dt", null, t("population"))); dl.appendChild(el("dd", null, report.population.toLocaleString(lang ? "en" : "nb")));
      dl.appendChild(el("dt", null, t("covered"))); dl.appendChild(el("dd", null, report.coveredPopulation.toLocaleString(lang ? "en" : "nb") + " (" + share + ")"));
      card.appendChild(dl);
      var scale = el("div", "scale");
      scale.appendChild(el("span", null, "0")); scale.appendChild(el("i")); scale.appendChild(el("span", null, "6000+ " + t("people")));
      card.appendChild(el("h3", null, t("gaps") + ": " + report.gapCount + ", " + t("unitsShaded")));
      card.appendChild(scale);
      var ul = el("ul");
      features.slice(0, 10).forEach(function (f) {
        ul.appendChild(el("li", null, (f.properties.name || f.properties.code) + " · " + f.properties.population + " " + t("people")));
      });
      card.appendChild(ul);
      report.notes.forEach(function (n) { card.appendChild(el("p", "meta", n)); });
      view.appendChild(card);
      document.body.dataset.gaps = String(features.length);
    }).catch(function (e) { view.textContent = t("error") + ": " + e.message; });
  }
  $("initiative-form").addEventListener("submit", function (e) { e.preventDefault(); showCoverage(); });

  // --- tabs, clicks, language -------------------------------------------------------------------
  var current = "near";
  function selectTab(name) {
    current = name;
    document.querySelectorAll("#tabs button").forEach(function (b) { b.setAttribute("aria-selected", String(b.dataset.tab === name)); });
    document.querySelectorAll(".tab").forEach(function (s) { s.hidden = s.id !== "tab-" + name; });
    resultMarkers.forEach(function (m) { m.getElement().style.display = name === "near" ? "" : "none"; });
    if (hereMarker) { hereMarker.getElement().style.display = name === "near" ? "" : "none"; }
    if (map.getSource("gaps") && name !== "initiative") { map.getSource("gaps").setData(emptyCollection()); }
    if (map.getSource("selection") && name === "near") { map.getSource("selection").setData(emptyCollection()); }
  }
  document.querySelectorAll("#tabs button").forEach(function (b) { b.addEventListener("click", function () { selectTab(b.dataset.tab); }); });
  map.on("click", function (e) {
    var lngLat = [e.lngLat.lng, e.lngLat.lat];
    if (current === "near") { choosePoint(lngLat); }
    if (current === "municipality") {
      graphql(WHERE, { at: { lat: lngLat[1], lon: lngLat[0] } }).then(function (data) {
        var m = data.whereAmI.municipality;
        if (m) { showMunicipality(m.number); } else { $("municipality-view").textContent = t("notMunicipality"); }
      });
    }
  });
  $("lang").addEventListener("click", function () {
    lang = 1 - lang;
    var params = new URLSearchParams(location.search);
    if (lang) { params.set("lang", "en"); } else { params.delete("lang"); }
    history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
    translate();
    if (point) { searchNear(); }
  });

  translate();
  loadInitiatives();
  // For tests and links: ?lat=…&lon=… searches there at once.
  var start = new URLSearchParams(location.search);
  if (start.get("lat") && start.get("lon")) {
    map.once("load", function () { map.setCenter([Number(start.get("lon")), Number(start.get("lat"))]); map.setZoom(13);
                                   choosePoint([Number(start.get("lon")), Number(start.get("lat"))]); });
  }
})();
