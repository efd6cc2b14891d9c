'use strict';
// The tests' handle on the one Node-RED launcher that tests, bench and the demo share.
module.exports = require('../../scripts/lib/red-launcher');
