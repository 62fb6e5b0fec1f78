// Validate glTF files with the Khronos glTF-Validator and print one JSON report per file.
// Usage: NODE_PATH=<dir>/node_modules node validate_gltf.js FILE [FILE ...]
const fs = require('fs');
const validator = require('gltf-validator');

async function main() {
  const reports = [];
  for (const path of process.argv.slice(2)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(path)), {
      uri: path, maxIssues: 100,
    });
    reports.push(report);
  }
  process.stdout.write(JSON.stringify(reports));
}

main().catch((err) => { console.error(String(err)); process.exit(1); });
