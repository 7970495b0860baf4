// Pipeline kanban: drag a deal card to another stage. The move goes to the JSON API with the
// card's version (If-Match) and the session's CSRF token; a refused move snaps the card back
// and shows the API's reason. Counts and amounts per lane follow the cards.
"use strict";
(function () {
  var board = document.getElementById("kanban");
  if (!board) return;
  var status = document.getElementById("kanban-status");
  var dragged = null;
  var origin = null; // {lane list, next sibling} to snap back to

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)lf_csrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function say(text, refused) {
    status.textContent = text;
    status.hidden = false;
    status.className = "status " + (refused ? "error" : "notice");
  }

  function tally(lane, card, sign) {
    var count = lane.querySelector(".lane-count");
    var n = parseInt(count.dataset.count, 10) + sign;
    count.dataset.count = String(n);
    count.textContent = n.toLocaleString(document.documentElement.lang);
    var amount = lane.querySelector('.lane-amount[data-currency="' + card.dataset.currency + '"]');
    if (amount) {
      var total = parseFloat(amount.dataset.amount) + sign * parseFloat(card.dataset.amount);
      amount.dataset.amount = String(total);
      amount.textContent = new Intl.NumberFormat(document.documentElement.lang, {
        style: "currency", currency: card.dataset.currency, maximumFractionDigits: 0,
      }).format(total);
    }
  }

  function snapBack(card) {
    origin.list.insertBefore(card, origin.next);
  }

  function move(card, lane) {
    var from = origin.list.closest(".lane");
    var to = lane.dataset.stage;
    var body = { to: to };
    if (to === "lost") {
      var reason = window.prompt(board.dataset.msgLost);
      if (!reason) { snapBack(card); return; }
      body.lost_reason = reason;
    }
    lane.querySelector(".cards").prepend(card);
    card.classList.add("moving");
    fetch("/api/v1/opportunities/" + card.dataset.id + "/stage", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "If-Match": '"v' + card.dataset.version + '"',
        "X-CSRF-Token": csrf(),
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      card.classList.remove("moving");
      if (!result.ok) {
        snapBack(card);
        say(board.dataset.msgRefused + " " + (result.data.detail || result.data.title), true);
        return;
      }
      card.dataset.version = String(result.data.version);
      tally(from, card, -1);
      tally(lane, card, +1);
      say(board.dataset.msgMoved, false);
    }).catch(function (error) {
      card.classList.remove("moving");
      snapBack(card);
      say(board.dataset.msgRefused + " " + error, true);
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".deal") : null;
    if (!card) return;
    dragged = card;
    origin = { list: card.parentNode, next: card.nextSibling };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });
  board.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest(".lane")) event.preventDefault();
  });
  board.addEventListener("drop", function (event) {
    var lane = event.target.closest(".lane");
    if (!dragged || !lane) return;
    event.preventDefault();
    var card = dragged;
    dragged = null;
    if (lane === origin.list.closest(".lane")) return;
    move(card, lane);
  });
  board.addEventListener("dragend", function () { dragged = null; });
})();
