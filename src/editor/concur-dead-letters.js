/*
 * The ESS receiver dialog's "Dead letters" panel (served by Node-RED at
 * resources/node-red-contrib-sap-concur/concur-dead-letters.js): lists the
 * deployed node's dead letters (id, reason, failed at, delivery count) from
 * GET <admin>/concur-ess-event-in/<id>/dead-letters, with Replay and Discard
 * per row and for all of them (POST .../dead-letters/replay|discard with
 * {"id"}, .../replay-all, .../discard-all; see
 * src/nodes/concur-ess-event-in/dead-letter-routes.ts). "Discard all" asks
 * for confirmation first. Needs the write permission (the list holds event bodies).
 * Texts come from the node's catalogue (keys under deadLetters.) through `t(key, opts)`.
 */
/* global $ */
(function () {
  'use strict';

  function errorText(xhr, t) {
    if (!xhr || !xhr.status) return t('deadLetters.noAnswer');
    if (xhr.status === 401 || xhr.status === 403) return t('deadLetters.forbidden');
    var body = typeof xhr.responseText === 'string' ? xhr.responseText.slice(0, 200) : '';
    return 'HTTP ' + xhr.status + (body ? ': ' + body : '');
  }

  /** The panel in `box` for node `id`; loads the list now and after every action. */
  function deadLetters(box, type, id, t) {
    box = $(box);
    var base = type + '/' + encodeURIComponent(id) + '/dead-letters';
    function button(cls, icon, key, small) {
      return $('<button type="button" class="red-ui-button"></button>')
        .addClass(cls)
        .toggleClass('red-ui-button-small', Boolean(small))
        .append($('<i class="fa"></i>').addClass(icon), ' ', $('<span></span>').text(t(key)));
    }
    var btnRefresh = button('concur-dl-refresh', 'fa-refresh', 'deadLetters.refresh');
    var btnReplayAll = button('concur-dl-replay-all', 'fa-repeat', 'deadLetters.replayAll');
    var btnDiscardAll = button('concur-dl-discard-all', 'fa-trash', 'deadLetters.discardAll');
    var confirmRow = $('<div class="concur-dl-confirm" style="display:none; margin:4px 0; padding:4px; border:1px solid #c0392b"></div>');
    var msg = $('<div class="concur-dl-msg" role="status" style="margin:4px 0"></div>');
    var table = $('<table class="concur-dl-table" style="width:100%; font-size:12px; border-collapse:collapse"></table>');
    box.empty().append($('<div></div>').append(btnRefresh, ' ', btnReplayAll, ' ', btnDiscardAll), confirmRow, msg, table);
    var count = 0;

    function say(text, bad) {
      msg.text(text || '').css('color', bad ? '#c0392b' : '');
    }
    function render(list) {
      table.empty();
      count = list.length;
      btnReplayAll.prop('disabled', !count);
      btnDiscardAll.prop('disabled', !count);
      if (!count) return say(t('deadLetters.none'));
      say(t('deadLetters.count', { count: count }));
      var head = $('<tr></tr>');
      ['colId', 'colReason', 'colFailedAt', 'colDeliveries', 'colActions'].forEach(function (k) {
        head.append($('<th style="text-align:left; padding:2px 6px 2px 0; border-bottom:1px solid #ccc"></th>').text(t('deadLetters.' + k)));
      });
      table.append(head);
      list.forEach(function (d) {
        var tr = $('<tr class="concur-dl-row"></tr>').attr('data-id', d.id);
        var cell = function () {
          return $('<td style="padding:2px 6px 2px 0; vertical-align:top; border-bottom:1px solid #eee"></td>');
        };
        tr.append(cell().addClass('concur-dl-id').css({ 'font-family': 'monospace', 'word-break': 'break-all' }).text(d.id));
        tr.append(
          cell()
            .addClass('concur-dl-reason')
            .css('word-break', 'break-word')
            .text(d.reason || ''),
        );
        tr.append(
          cell()
            .addClass('concur-dl-failed')
            .text(d.failedAt ? new Date(d.failedAt).toLocaleString() : ''),
        );
        tr.append(cell().addClass('concur-dl-count').text(String(d.deliveryCount)));
        var actions = cell().css('white-space', 'nowrap');
        var replay = button('concur-dl-replay', 'fa-repeat', 'deadLetters.replay', true);
        var discard = button('concur-dl-discard', 'fa-times', 'deadLetters.discard', true);
        replay.on('click', function () {
          act('replay', { id: d.id }, function (r) {
            say(t('deadLetters.replayed', { id: r.replayed, count: r.deliveryCount }));
          });
        });
        discard.on('click', function () {
          act('discard', { id: d.id }, function () {
            say(t('deadLetters.discarded', { id: d.id }));
          });
        });
        tr.append(actions.append(replay, ' ', discard));
        table.append(tr);
      });
    }
    function load(after) {
      $.ajax({ url: base + '?quiet=1', dataType: 'json', headers: { Accept: 'application/json' }, timeout: 15000 })
        .done(function (list) {
          if (list && list.running === false) return notDeployed();
          render(Array.isArray(list) ? list : []);
          if (after) after();
        })
        .fail(function (xhr) {
          if (xhr.status === 404) return notDeployed();
          table.empty();
          btnReplayAll.prop('disabled', true);
          btnDiscardAll.prop('disabled', true);
          say(errorText(xhr, t), true);
        });
    }
    function notDeployed() {
      table.empty();
      btnReplayAll.prop('disabled', true);
      btnDiscardAll.prop('disabled', true);
      say(t('deadLetters.notDeployed'));
    }
    /** POSTs an action (body `data` as JSON), reloads the list, then reports through `ok`. */
    function act(path, data, ok) {
      confirmRow.hide();
      box.find('button').prop('disabled', true);
      $.ajax({ url: base + '/' + path, type: 'POST', contentType: 'application/json', data: JSON.stringify(data || {}), dataType: 'json', timeout: 30000 })
        .done(function (r) {
          load(function () {
            ok(r);
          });
        })
        .fail(function (xhr) {
          load(function () {
            say(xhr.status === 404 ? t('deadLetters.gone') : xhr.status === 429 ? t('deadLetters.full') : errorText(xhr, t), true);
          });
        })
        .always(function () {
          btnRefresh.prop('disabled', false);
        });
    }
    btnRefresh.on('click', function () {
      load();
    });
    btnReplayAll.on('click', function () {
      act('replay-all', {}, function (r) {
        say(t('deadLetters.replayedAll', { count: r.replayed }));
      });
    });
    btnDiscardAll.on('click', function () {
      // Discarding drops the event bodies for good: ask first.
      var yes = button('concur-dl-confirm-yes', 'fa-trash', 'deadLetters.confirmYes');
      var no = button('concur-dl-confirm-no', 'fa-undo', 'deadLetters.confirmNo');
      yes.on('click', function () {
        act('discard-all', {}, function (r) {
          say(t('deadLetters.discardedAll', { count: r.discarded }));
        });
      });
      no.on('click', function () {
        confirmRow.hide();
      });
      confirmRow
        .empty()
        .append($('<div style="margin-bottom:4px"></div>').text(t('deadLetters.confirmDiscardAll', { count: count })), yes, ' ', no)
        .show();
    });
    load();
    return { refresh: load };
  }

  window.ConcurDeadLetters = { panel: deadLetters };
})();
