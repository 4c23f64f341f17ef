// GraphiQL against this router's own endpoint (same origin, so no CORS):
// the schema comes from introspection, the docs explorer and the history
// are GraphiQL's own, and the headers editor holds the Authorization header.
const DEFAULT_QUERY = `# Log in with the mutation below, then put the token in the
# Headers editor (below): { "Authorization": "Bearer <token>" }.
#
# mutation Login {
#   login(input: { email: "organizer@example.com", password: "..." }) { token }
# }

query UpcomingEvents {
  events(first: 5) {
    totalCount
    nodes { id title startTime organizer { id name } }
  }
}
`;

const fetcher = GraphiQL.createFetcher({ url: new URL("/", window.location.href).href });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }),
);
