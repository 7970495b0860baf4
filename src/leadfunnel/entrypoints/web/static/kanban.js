// Pipeline kanban: drag a deal card to another stage, or use the card's "Move to" form
// (keyboards, touchscreens; Enter or Space on a focused card opens it). Either way the move
// goes to the JSON API with the card's version (If-Match) and the session's CSRF token; a
// refused move snaps the card back and shows the API's reason. Counts and amounts per lane
// follow the cards. Won and lost cards are closed: not draggable, no form.
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

  // After a move: the card's stage, version and form follow; a closed card loses both its
  // form and its drag handle.
  function settle(card, to, version) {
    card.dataset.version = String(version);
    card.dataset.stage = to;
    card.classList.remove("stale"); // just changed: not stagnating any more
    var tag = card.querySelector(".stale-tag");
    if (tag) tag.remove();
    var form = card.querySelector(".move-to form");
    if (to === "won" || to === "lost") {
      var control = card.querySelector(".move-to");
      if (control) control.remove();
      card.setAttribute("draggable", "false");
      card.removeAttribute("tabindex");
      card.style.cursor = "default";
      return;
    }
    if (!form) return;
    form.elements.version.value = String(version);
    form.elements.lost_reason.value = "";
    Array.prototype.forEach.call(form.elements.to.options, function (option) {
      option.disabled = option.value === to;
    });
    form.elements.to.selectedIndex = Array.prototype.findIndex.call(
      form.elements.to.options, function (option) { return !option.disabled; });
  }

  function move(card, lane, lostReason) {
    var from = origin.list.closest(".lane");
    var to = lane.dataset.stage;
    var body = { to: to };
    if (to === "lost") {
      var reason = lostReason === undefined ? window.prompt(board.dataset.msgLost) : lostReason;
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
      settle(card, to, result.data.version);
      tally(from, card, -1);
      tally(lane, card, +1);
      say(board.dataset.msgMoved, false);
      if (card.hasAttribute("tabindex")) card.focus();
    }).catch(function (error) {
      card.classList.remove("moving");
      snapBack(card);
      say(board.dataset.msgRefused + " " + error, true);
    });
  }

  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest(".deal");
    if (!card) return;
    event.preventDefault();
    var to = form.elements.to.value;
    var lane = board.querySelector('.lane[data-stage="' + to + '"]');
    var reason = form.elements.lost_reason.value.trim();
    if (!lane || to === card.dataset.stage) return;
    if (to === "lost" && !reason) {
      say(board.dataset.msgLost, true);
      form.elements.lost_reason.focus();
      return;
    }
    origin = { list: card.parentNode, next: card.nextSibling };
    form.closest("details").open = false;
    move(card, lane, reason);
  });
  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("deal")) return;
    if (event.key !== "Enter" && event.key !== " ") return;
    var control = card.querySelector(".move-to");
    if (!control) return;
    event.preventDefault();
    control.open = true;
    control.querySelector("select").focus();
  });

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".deal") : null;
    if (!card || card.getAttribute("draggable") !== "true") return;
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
