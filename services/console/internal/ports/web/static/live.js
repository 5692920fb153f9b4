// copnet live sessions: the presenter's results and the room's question follow the
// server over Server-Sent Events; ranking gets tap-to-order buttons; the presenter can go
// full screen. Every page works without this script.
(function () {
  'use strict';

  // follow opens an event stream and, when it fails for good (signed out, deck gone),
  // reloads the page after a pause so that the server says what happened.
  function follow(url, event, onData) {
    if (!window.EventSource || !url) { return; }
    var es = new EventSource(url);
    es.addEventListener(event, function (e) { onData(e.data); });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) { setTimeout(function () { location.reload(); }, 5000); }
    };
  }

  var live = document.getElementById('live');
  if (live) {
    follow(live.dataset.events, 'live', function (html) { live.innerHTML = html; });
    var fs = document.getElementById('fullscreen');
    var presenter = document.getElementById('presenter');
    if (fs && presenter && presenter.requestFullscreen) {
      fs.hidden = false;
      fs.addEventListener('click', function () { presenter.requestFullscreen(); });
    }
  }

  var room = document.getElementById('room');
  if (room && room.dataset.events) {
    follow(room.dataset.events, 'room', function (json) {
      var d = JSON.parse(json);
      if (d.poll !== room.dataset.poll || d.status !== room.dataset.status) { location.assign(room.dataset.href); }
    });
  }

  // Tap to order: each option gets "up" and "down" buttons that move it in the list and
  // renumber the selects, which stay the form's answer (and the no-JavaScript way).
  document.querySelectorAll('.rank-list').forEach(function (list) {
    function renumber() {
      list.querySelectorAll('.rank-item').forEach(function (li, i) { li.querySelector('select').value = String(i + 1); });
    }
    function move(li, by) {
      var to = by < 0 ? li.previousElementSibling : li.nextElementSibling;
      if (!to) { return; }
      list.insertBefore(li, by < 0 ? to : to.nextElementSibling);
      renumber();
    }
    function reorder() {
      var items = Array.prototype.slice.call(list.querySelectorAll('.rank-item'));
      items.sort(function (a, b) { return Number(a.querySelector('select').value) - Number(b.querySelector('select').value); });
      items.forEach(function (li) { list.appendChild(li); });
    }
    list.querySelectorAll('.rank-item').forEach(function (li) {
      var name = li.querySelector('.rank-option').textContent;
      [['↑', 'Move up: ', -1], ['↓', 'Move down: ', 1]].forEach(function (b) {
        var btn = document.createElement('button');
        btn.type = 'button';
        btn.className = 'rank-move';
        btn.textContent = b[0];
        btn.setAttribute('aria-label', b[1] + name);
        btn.addEventListener('click', function () { move(li, b[2]); btn.focus(); });
        li.appendChild(btn);
      });
      li.querySelector('select').addEventListener('change', function () {
        // A place chosen in a select swaps with the option that had it.
        var sel = this, want = sel.value;
        list.querySelectorAll('select').forEach(function (o) { if (o !== sel && o.value === want) { o.value = sel.dataset.was; } });
        reorder();
        list.querySelectorAll('select').forEach(function (o) { o.dataset.was = o.value; });
      });
      li.querySelector('select').dataset.was = li.querySelector('select').value;
    });
  });
}());
