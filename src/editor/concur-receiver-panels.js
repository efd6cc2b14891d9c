/*
 * Edit-dialog panels shared by the receivers (served by Node-RED at
 * resources/node-red-contrib-sap-concur/concur-receiver-panels.js):
 * - live counters (concur-ess-event-in, concur-legacy-notify-in), read from
 *   GET <admin>/<type>/<id>/counters every 2 s while the dialog is open;
 * - the ESS receiver's subscription panel: list the company's subscriptions
 *   through the selected concur-config, show the one whose webhook URL is this
 *   receiver's public URL, create / update / delete it
 *   (<admin>/concur-ess-event-in/subscriptions, see src/nodes/shared/ess-subscription-routes.ts).
 * Texts come from the calling node's catalogue through `t(key, opts)`.
 */
/* global RED, $ */
(function () {
  'use strict';
  var REFRESH_MS = 2000;

  function errorText(xhr, t) {
    if (xhr && xhr.status === 409) return t('subscription.deployConnectionFirst');
    var j = xhr && xhr.responseJSON;
    if (j && j.error) return j.error;
    return xhr && xhr.status ? 'HTTP ' + xhr.status : t('panel.noAnswer');
  }

  /** Counters table in `box` for node `id` of `type`; refreshes while `box` is in the page. */
  function counters(box, type, id, t) {
    box = $(box);
    var table = $('<table class="concur-counters" style="width:100%; font-size:12px; margin-top:4px"></table>');
    var note = $('<div class="concur-counters-note form-tips" style="display:none"></div>');
    var links = $('<div style="font-size:11px; margin-top:4px"></div>');
    var base = type + '/' + encodeURIComponent(id) + '/counters';
    links.append($('<a target="_blank"></a>').attr('href', base).text(t('counters.json')));
    links.append(document.createTextNode(' · '));
    links.append(
      $('<a target="_blank"></a>')
        .attr('href', base + '?format=prometheus')
        .text(t('counters.prometheus')),
    );
    box.empty().append(table, note, links);
    var ROWS = ['received', 'accepted', 'duplicates', 'filtered', 'rejectedTotal', 'failed', 'pending', 'dead', 'lastEventAt'];
    function render(c) {
      note.hide();
      table.empty();
      var h = $('<tr data-counter="health"></tr>');
      h.append($('<td style="padding:1px 8px 1px 0"></td>').text(t('counters.health')));
      h.append(
        $('<td class="concur-counter-value"></td>')
          .text(t('counters.healthState.' + (c.health || 'unknown')) + (c.status && c.status.text ? ' · ' + c.status.text : ''))
          .css('color', c.health === 'error' ? '#c0392b' : c.health === 'degraded' ? '#b9770e' : ''),
      );
      table.append(h);
      ROWS.forEach(function (k) {
        var v = c[k];
        if (k === 'lastEventAt') v = v ? new Date(v).toLocaleString() : t('counters.never');
        var tr = $('<tr></tr>').attr('data-counter', k);
        tr.append($('<td style="padding:1px 8px 1px 0"></td>').text(t('counters.' + k)));
        tr.append($('<td class="concur-counter-value" style="font-family:monospace"></td>').text(String(v)));
        table.append(tr);
        if (k === 'rejectedTotal') {
          Object.keys(c.rejected || {}).forEach(function (reason) {
            var r = $('<tr></tr>').attr('data-counter', 'rejected.' + reason);
            r.append($('<td style="padding:1px 8px 1px 16px; color:#777"></td>').text(reason));
            r.append($('<td class="concur-counter-value" style="font-family:monospace"></td>').text(String(c.rejected[reason])));
            table.append(r);
          });
        }
      });
    }
    var timer;
    function load() {
      if (!$.contains(document, box[0])) return clearInterval(timer);
      $.ajax({ url: base + '?quiet=1', dataType: 'json', headers: { Accept: 'application/json' }, timeout: 5000 })
        .done(function (c) {
          if (c && c.running === false) {
            table.empty();
            return note.text(t('counters.notDeployed')).show();
          }
          render(c);
        })
        .fail(function (xhr) {
          table.empty();
          note.text(xhr.status === 404 ? t('counters.notDeployed') : errorText(xhr, t)).show();
        });
    }
    load();
    timer = setInterval(load, REFRESH_MS);
    return {
      stop: function () {
        clearInterval(timer);
      },
      refresh: load,
    };
  }

  /**
   * The subscription panel. `f` maps field names to jQuery inputs:
   * { server, publicUrl, subscriptionId, topic, filter }.
   */
  function subscriptions(box, f, t) {
    box = $(box);
    var msg = $('<div class="concur-subs-msg" role="status" style="margin:4px 0"></div>');
    var list = $('<div class="concur-subs-list" style="font-size:12px"></div>');
    var btnRefresh = $('<button type="button" class="red-ui-button concur-subs-refresh"><i class="fa fa-refresh"></i> </button>').append(
      $('<span></span>').text(t('subscription.refresh')),
    );
    var btnSave = $('<button type="button" class="red-ui-button concur-subs-save"><i class="fa fa-cloud-upload"></i> </button>').append(
      $('<span></span>').text(t('subscription.save')),
    );
    var btnDelete = $('<button type="button" class="red-ui-button concur-subs-delete"><i class="fa fa-trash"></i> </button>').append(
      $('<span></span>').text(t('subscription.delete')),
    );
    var topics = $('<datalist id="concur-subs-topics"></datalist>');
    f.topic.attr('list', 'concur-subs-topics');
    box.empty().append($('<div></div>').append(btnRefresh, ' ', btnSave, ' ', btnDelete), msg, list, topics);
    box.append($('<div class="form-tips" style="margin-top:6px"></div>').text(t('subscription.noTestEvent')));

    function say(text, bad) {
      msg.text(text || '').css('color', bad ? '#c0392b' : '');
    }
    function server() {
      var v = f.server.val();
      return v && v !== '_ADD_' ? v : '';
    }
    function idValue() {
      // An empty id field means the default shown as its placeholder (the runtime uses the same).
      return f.subscriptionId.val().trim() || String(f.subscriptionId.attr('placeholder') || '').trim();
    }
    function want() {
      return { id: idValue(), topic: f.topic.val().trim(), filter: f.filter.val().trim() || '.*', webHookConfig: { endpoint: f.publicUrl.val().trim() } };
    }
    function ready(needUrl) {
      if (!server()) {
        say(t('subscription.selectConnection'), true);
        return false;
      }
      if (needUrl && !f.publicUrl.val().trim()) {
        say(t('subscription.publicUrlMissing'), true);
        return false;
      }
      return true;
    }
    function render(r) {
      list.empty();
      topics.empty();
      (r.topics || []).forEach(function (tp) {
        topics.append($('<option></option>').attr('value', tp));
      });
      var subs = r.subscriptions || [];
      var mine = subs.filter(function (s) {
        return s.matches;
      });
      if (!subs.length) list.append($('<div></div>').text(t('subscription.none')));
      subs.forEach(function (s) {
        var row = $('<div class="concur-subs-row" style="padding:3px 4px; border-bottom:1px solid #ddd; cursor:pointer"></div>').attr('data-id', s.id);
        if (s.matches) row.addClass('concur-subs-mine').css({ background: '#eef6ee', 'font-weight': 'bold' });
        row.append($('<div></div>').text(s.id + (s.matches ? ' · ' + t('subscription.thisReceiver') : '')));
        var detail = $('<div style="font-weight:normal; color:#555"></div>');
        detail.text(
          t('subscription.row', {
            topic: s.topic,
            filter: s.filter || '.*',
            groups: (s.groups || []).join(', ') || '–',
            state: t('subscription.state.' + s.state),
          }),
        );
        row.append(detail);
        row.append($('<div style="font-weight:normal; font-family:monospace; font-size:11px; word-break:break-all"></div>').text(s.webHookConfig.endpoint));
        row.on('click', function () {
          f.subscriptionId.val(s.id).trigger('change');
          f.topic.val(s.topic).trigger('change');
          f.filter.val(s.filter).trigger('change');
        });
        list.append(row);
      });
      if (r.topicsError) list.append($('<div style="color:#c0392b"></div>').text(t('subscription.topicsFailed', { error: r.topicsError })));
      say(
        mine.length
          ? t('subscription.found', {
              id: mine
                .map(function (s) {
                  return s.id;
                })
                .join(', '),
            })
          : t('subscription.notFound'),
        !mine.length,
      );
    }
    function refresh() {
      if (!ready(false)) return;
      say(t('subscription.loading'));
      $.ajax({
        url: 'concur-ess-event-in/subscriptions',
        data: { config: server(), endpoint: f.publicUrl.val().trim(), quiet: '1' },
        dataType: 'json',
        timeout: 70000,
      })
        .done(function (r) {
          if (r && r.code === 'NOT_DEPLOYED') {
            list.empty();
            return say(t('subscription.deployConnectionFirst'), true);
          }
          render(r);
        })
        .fail(function (xhr) {
          list.empty();
          say(errorText(xhr, t), true);
        });
    }
    btnRefresh.on('click', refresh);
    btnSave.on('click', function () {
      if (!ready(true)) return;
      var w = want();
      if (!w.id) return say(t('subscription.idMissing'), true);
      say(t('subscription.saving'));
      $.ajax({
        url: 'concur-ess-event-in/subscriptions',
        type: 'POST',
        contentType: 'application/json',
        data: JSON.stringify({ config: server(), subscription: w }),
        dataType: 'json',
        timeout: 70000,
      })
        .done(function (r) {
          say(r.message || t('subscription.saved'));
          refresh();
        })
        .fail(function (xhr) {
          say(errorText(xhr, t), true);
        });
    });
    btnDelete.on('click', function () {
      if (!ready(false)) return;
      var id = idValue();
      if (!id) return say(t('subscription.idMissing'), true);
      say(t('subscription.deleting'));
      $.ajax({
        url: 'concur-ess-event-in/subscriptions/' + encodeURIComponent(id) + '?config=' + encodeURIComponent(server()),
        type: 'DELETE',
        dataType: 'json',
        timeout: 70000,
      })
        .done(function (r) {
          say(r.message || t('subscription.deleted'));
          refresh();
        })
        .fail(function (xhr) {
          say(errorText(xhr, t), true);
        });
    });
    if (server()) refresh();
    else say(t('subscription.selectConnection'));
    return { refresh: refresh };
  }

  window.ConcurReceiverPanels = { counters: counters, subscriptions: subscriptions };
})();
