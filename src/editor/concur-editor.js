/**
 * Editor code shared by every node of node-red-contrib-sap-concur. Node-RED
 * serves it at resources/node-red-contrib-sap-concur/concur-editor.js; each
 * node's .html loads it with
 *   <script type="text/javascript" src="resources/node-red-contrib-sap-concur/concur-editor.js"></script>
 * scripts/build.js copies this file to resources/ and fills in RULES from
 * src/nodes/shared/editor-rules.ts (the option table, the receiver path rule and
 * the published Concur keys the runtime uses), so editor and runtime cannot drift.
 */
(function () {
  'use strict';
  if (window.ConcurEditor) return; // every node's .html loads this file
  var RULES = /* @editor-rules */ null;
  var PACKAGE = 'node-red-contrib-sap-concur';
  var PATH_OK = new RegExp(RULES.receiverPath.pattern);

  /** t(key, opts) for one node type's catalogue (validators run outside the node, so the namespace is explicit). */
  function translator(type) {
    var ns = PACKAGE + '/' + type + ':' + type + '.';
    return function t(key, opts) {
      return RED._(ns + key, opts);
    };
  }

  /** The limits and default of a numeric option: { min, max, default, outOfRange }. */
  function option(type, name) {
    var o = RULES.numberOptions[type] && RULES.numberOptions[type][name];
    if (!o) throw new Error('no numeric option ' + type + '.' + name);
    return o;
  }

  /**
   * A two-argument validator (Node-RED only shows a message returned by those)
   * for numeric option `name` of `type`; `message(o)` is the text for a bad value.
   * opts.allowEmpty: '' is valid (the runtime then uses the default);
   * opts.plainDecimal: only digits with an optional fraction (no exponent, sign or hex).
   */
  function numberValidator(type, name, message, opts) {
    var o = option(type, name);
    opts = opts || {};
    return function (v, opt) {
      var s = String(v === undefined || v === null ? '' : v).trim();
      if (s === '' && opts.allowEmpty) return true;
      var n = Number(s);
      var ok = s !== '' && (opts.plainDecimal ? /^\d+(\.\d+)?$/.test(s) : Number.isFinite(n)) && n >= o.min && n <= o.max;
      return ok || message(o);
    };
  }

  /** The receiver path rule of the runtime (src/nodes/shared/receiver-path.ts). */
  function pathOk(p) {
    return PATH_OK.test(p || '');
  }

  /** Where Node-RED serves node routes, as the browser sees this editor ('' for the root). */
  function nodeRoot() {
    var root = (RED.settings.httpNodeRoot || '/').replace(/\/+$/, '');
    return root === '/' ? '' : root;
  }

  window.ConcurEditor = {
    rules: RULES,
    t: translator,
    option: option,
    numberValidator: numberValidator,
    pathOk: pathOk,
    nodeRoot: nodeRoot,
    testConnectionPath: RULES.receiverPath.testConnectionPath,
    publishedKeys: RULES.publishedKeys,
  };
})();
