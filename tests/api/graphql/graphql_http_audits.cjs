// Runs the GraphQL-over-HTTP specification's audit suite (the graphql-http npm package's
// serverAudits, installed in web/node_modules as a devDependency) against the URL given as the
// first argument, and prints one JSON line: every audit's id, name, status and reason.
// Usage: node graphql_http_audits.cjs http://127.0.0.1:8000/graphql <web directory>
'use strict';

const path = require('node:path');

async function main() {
  const [url, webDir] = process.argv.slice(2);
  if (!url || !webDir) {
    console.error('usage: node graphql_http_audits.cjs <graphql url> <web directory>');
    process.exit(2);
  }
  const { auditServer } = require(require.resolve('graphql-http', { paths: [path.resolve(webDir)] }));
  const results = await auditServer({ url });
  const rows = results.map((result) => ({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
  }));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
