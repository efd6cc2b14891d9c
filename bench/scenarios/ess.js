'use strict';
module.exports = { id: 'ess', title: 'ess', requires: ['concur-ess-not-yet'], async run() { return {}; } };
