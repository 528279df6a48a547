// Starts GraphiQL against this page's own URL. (No ?query= in the address: a GET /graphql with
// a query parameter runs the query instead of opening the explorer; GraphiQL keeps its tabs in
// the browser's storage.)
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    defaultQuery: "# hverdag: try a query, then press Ctrl+Enter.\n" +
      "{\n  whereAmI(at: {lat: 59.942, lon: 10.892}) {\n    municipality { number name }\n" +
      "    district { name }\n    areaInitiatives { name }\n  }\n}\n"
  }));
})();
