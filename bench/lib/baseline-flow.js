'use strict';
/** The reference flow every scenario is compared with: core `http in → http response`. */
function baselineNodes(id, url, z = 'bench-tab') {
  return [
    { id: `${id}-in`, type: 'http in', z, name: 'baseline', url, method: 'post', upload: false, swaggerDoc: '', wires: [[`${id}-out`]] },
    { id: `${id}-out`, type: 'http response', z, name: '', statusCode: '200', headers: {}, wires: [] },
  ];
}
module.exports = { baselineNodes };
