// Copies the playground page and the prebuilt GraphiQL and React bundles
// into dist/, which the router's `titiktemu.playground` plugin serves.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
const files = {
  "index.html": "index.html",
  "playground.js": "playground.js",
  "graphiql.min.js": "node_modules/graphiql/graphiql.min.js",
  "graphiql.min.css": "node_modules/graphiql/graphiql.min.css",
  "react.production.min.js": "node_modules/react/umd/react.production.min.js",
  "react-dom.production.min.js": "node_modules/react-dom/umd/react-dom.production.min.js",
};
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(here, source), join(dist, name));
}
console.log(`playground: ${Object.keys(files).length} files in ${dist}`);
