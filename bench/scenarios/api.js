'use strict';
module.exports = { id: 'api', title: 'api', requires: ['concur-api-not-yet'], async run() { return {}; } };
