// Validates each JSON document named on the command line with the OpenActive data model
// validator (offline: no remote @context or activity list is fetched) and prints one JSON
// array per document of what the validator found: [{severity, type, path, message}, ...].
'use strict';
const fs = require('fs');
const { validate } = require('@openactive/data-model-validator');

async function main() {
  const found = [];
  for (const file of process.argv.slice(2)) {
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const results = await validate(data, { loadRemoteJson: false });
    found.push(results.map((r) => ({
      severity: r.severity, type: r.type, path: r.path, message: r.message,
    })));
  }
  process.stdout.write(JSON.stringify(found));
}

main().catch((error) => { console.error(error); process.exit(2); });
