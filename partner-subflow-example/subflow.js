'use strict';
// A subflow module: Node-RED registers the subflow in subflow.json as a palette node
// (https://nodered.org/docs/creating-nodes/subflow-modules).
const fs = require('node:fs');
const path = require('node:path');

module.exports = function (RED) {
  const subflow = JSON.parse(fs.readFileSync(path.join(__dirname, 'subflow.json'), 'utf8'));
  RED.nodes.registerSubflow(subflow);
};
