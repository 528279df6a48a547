// Starts GraphiQL against this page's own URL; the query in the address (?query=…) is kept
// up to date so an explorer link can be shared.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  function remember(name, value) {
    if (value) { params.set(name, value); } else { params.delete(name); }
    var search = params.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }
  var fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    query: params.get("query") || undefined,
    variables: params.get("variables") || undefined,
    onEditQuery: function (q) { remember("query", q); },
    onEditVariables: function (v) { remember("variables", v); },
  }));
})();
