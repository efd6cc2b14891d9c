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
  /** What Node-RED puts in a password field for a stored secret it does not send to the browser. */
  var SAVED_SECRET = '__PWRD__';
  var PATH_OK = new RegExp(RULES.receiverPath.pattern);
  var SUBSCRIPTION_ID_OK = new RegExp(RULES.essSubscription.idPattern);

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
   * An option marked `integer` in the table (a count) accepts whole numbers only.
   */
  function numberValidator(type, name, message, opts) {
    var o = option(type, name);
    opts = opts || {};
    return function (v, opt) {
      var s = String(v === undefined || v === null ? '' : v).trim();
      if (s === '' && opts.allowEmpty) return true;
      var n = Number(s);
      var ok =
        s !== '' && (opts.plainDecimal ? /^\d+(\.\d+)?$/.test(s) : Number.isFinite(n)) && n >= o.min && n <= o.max && (!o.integer || Number.isInteger(n));
      return ok || message(o);
    };
  }

  /**
   * The node property of numeric option `name`: { value: the runtime's default, validate }.
   * Empty is valid: a hand-written flow may leave the option out and the runtime then
   * applies its default. `message(o)` as for numberValidator; opts.plainDecimal likewise.
   */
  function numberProperty(type, name, message, opts) {
    var o = option(type, name);
    var v = { allowEmpty: true, plainDecimal: !!(opts && opts.plainDecimal) };
    return { value: o.default, validate: numberValidator(type, name, message, v) };
  }

  /** A jQuery UI spinner on the field of numeric option `name`, with the table's limits. */
  function numberSpinner(type, name) {
    var o = option(type, name);
    $('#node-input-' + name).spinner({ min: o.min, max: o.max });
  }

  /** The input field prefix of a dialog: config nodes use node-config-input-, the others node-input-. */
  function prefixOf(node) {
    return node && node._def && node._def.category === 'config' ? '#node-config-input-' : '#node-input-';
  }

  /** The value of a field while the dialog is open, else the stored property (for validators that read another field). */
  function current(node, prop) {
    var el = $(prefixOf(node) + prop);
    return el.length ? (el.is(':checkbox') ? el.is(':checked') : el.val()) : node[prop];
  }

  /**
   * oneditprepare: a hand-written or older flow may leave options out; the runtime
   * then applies its defaults, so the dialog shows those defaults (an empty number
   * field, a blank select or an unticked box would otherwise be saved as a different setting).
   */
  function fillDefaults(node) {
    var defs = node._def.defaults;
    var prefix = prefixOf(node);
    Object.keys(defs).forEach(function (k) {
      var d = defs[k].value;
      var el = $(prefix + k);
      if (!el.length || defs[k].type || d === undefined || d === '') return;
      var typeField = defs[k + 'Type'] ? $(prefix + k + 'Type') : $();
      if (typeField.length) {
        // A TypedInput left out: the runtime reads the msg property it always read (src/nodes/shared/typed-input.ts),
        // which is the property's default; call this before the TypedInputs are set up.
        if (node[k] === undefined && node[k + 'Type'] === undefined) {
          el.val(d);
          typeField.val(defs[k + 'Type'].value);
        }
      } else if (el.is(':checkbox')) {
        if (node[k] === undefined) el.prop('checked', d === true);
      } else if (el.is('select')) {
        if (node[k] === undefined || el.val() === null || el.val() === '') el.val(String(d));
      } else if (typeof d === 'number' && String(el.val() == null ? '' : el.val()).trim() === '') {
        el.val(d);
      }
    });
  }

  /**
   * onadd of the API nodes: a node dropped from the palette uses the connection when
   * there is exactly one (with none or several, the user picks; the dialog's select does the same).
   */
  function selectOnlyConnection() {
    if (this.server) return;
    var ids = [];
    RED.nodes.eachConfig(function (c) {
      if (c.type === 'concur-config') ids.push(c.id);
    });
    if (ids.length === 1) this.server = ids[0];
  }

  /**
   * Node properties of TypedInputs added to `defaults`: { reportId: 'reportId' } gives
   * reportId: { value: 'reportId' } and reportIdType: { value: 'msg' }; [value, type] for
   * another type. The values are what the runtime reads when a flow leaves them out
   * (src/nodes/shared/typed-input.ts), which fillDefaults shows for such a flow.
   */
  function typedDefaults(defaults, inputs) {
    Object.keys(inputs).forEach(function (name) {
      var v = Array.isArray(inputs[name]) ? inputs[name] : [inputs[name], 'msg'];
      defaults[name] = { value: v[0] };
      defaults[name + 'Type'] = { value: v[1] };
    });
    return defaults;
  }

  /** What a message input offers by default (the runtime accepts these, src/nodes/shared/typed-input.ts). */
  var INPUT_TYPES = ['msg', 'flow', 'global', 'env', 'jsonata', 'str'];

  /**
   * TypedInputs for node properties `names` (each stores its type in `<name>Type`).
   * opts.types: the offered types (default INPUT_TYPES); opts.default: the type of a
   * property saved without one (default 'msg', what the runtime then reads).
   */
  function typedInputs(names, opts) {
    opts = opts || {};
    (Array.isArray(names) ? names : [names]).forEach(function (name) {
      $('#node-input-' + name).typedInput({ default: opts.default || 'msg', types: opts.types || INPUT_TYPES, typeField: '#node-input-' + name + 'Type' });
    });
  }

  /**
   * The node that already listens on receiver path `v` (a Concur receiver or a core
   * http in), compared as Express routes them: case-insensitive, trailing slash
   * ignored. The runtime would give the second one a red status.
   */
  function pathOwner(self, v) {
    function norm(p) {
      p = String(p || '')
        .trim()
        .toLowerCase()
        .replace(/\/+$/, '');
      return p.charAt(0) === '/' ? p : '/' + p;
    }
    var want = norm(v);
    var owner = null;
    RED.nodes.eachNode(function (n) {
      if (owner || n.id === self.id || n.d) return;
      var p = n.type === 'http in' ? n.url : n.type === 'concur-legacy-notify-in' || n.type === 'concur-ess-event-in' ? n.path : undefined;
      if (typeof p === 'string' && p && norm(p) === want) owner = n;
    });
    return owner;
  }

  /** How a validation message names the node that owns a path. */
  function ownerName(n) {
    return (n.name || n.type) + ' (' + n.type + ')';
  }

  /** The receiver path rule of the runtime (src/nodes/shared/receiver-path.ts). */
  function pathOk(p) {
    return PATH_OK.test(p || '');
  }

  /** An ESS subscription id as the runtime accepts it (src/concur/ess-subscriptions-api.ts); empty = the default. */
  function subscriptionIdOk(v) {
    return !v || SUBSCRIPTION_ID_OK.test(v);
  }

  /** A webhook URL for an ESS subscription while typing: absolute http(s), no user info (the runtime's checkEndpoint decides). */
  function webhookUrlOk(v) {
    return /^https?:\/\/[^\s/@]+(\/\S*)?$/i.test(v || '');
  }

  /** Where Node-RED serves node routes, as the browser sees this editor ('' for the root). */
  function nodeRoot() {
    var root = (RED.settings.httpNodeRoot || '/').replace(/\/+$/, '');
    return root === '/' ? '' : root;
  }

  window.ConcurEditor = {
    rules: RULES,
    SAVED_SECRET: SAVED_SECRET,
    t: translator,
    option: option,
    numberValidator: numberValidator,
    numberProperty: numberProperty,
    numberSpinner: numberSpinner,
    current: current,
    fillDefaults: fillDefaults,
    selectOnlyConnection: selectOnlyConnection,
    INPUT_TYPES: INPUT_TYPES,
    typedInputs: typedInputs,
    typedDefaults: typedDefaults,
    pathOk: pathOk,
    pathOwner: pathOwner,
    subscriptionIdOk: subscriptionIdOk,
    webhookUrlOk: webhookUrlOk,
    ownerName: ownerName,
    nodeRoot: nodeRoot,
    testConnectionPath: RULES.receiverPath.testConnectionPath,
    publishedKeys: RULES.publishedKeys,
  };
})();
