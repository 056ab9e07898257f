// nocbot console: live cards over Server-Sent Events, card buttons, the question box.
// Plain browser JavaScript, no build step and no library. Cards and charts arrive as HTML the
// server escaped; anything taken from JSON is written with textContent, never as markup.
"use strict";

(function () {
  const INCIDENT_EVENTS = [
    "incident.opened", "incident.grew", "incident.prioritized", "incident.acknowledged",
    "incident.resolved", "incident.updated", "incident.escalated", "playbook.step",
  ];
  const OTHER_EVENTS = ["alerts.received"];
  const MAX_ACTIVITY = 30;
  const JSON_HEADERS = { "Content-Type": "application/json", "Accept": "application/json" };

  function $(selector, root) { return (root || document).querySelector(selector); }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- cards -------------------------------------------------------------------------------

  function parseFragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function cardOf(id) {
    return document.querySelector('article.nocbot-incident[data-incident="' + Number(id) + '"]');
  }

  async function refreshCard(id) {
    const response = await fetch("/console/incidents/" + Number(id) + "/card", { credentials: "same-origin" });
    if (response.status === 401) return signedOut();
    if (!response.ok) return;
    const fresh = parseFragment(await response.text()).querySelector("article.nocbot-incident");
    if (!fresh) return;
    const cards = $("#cards");
    const current = cardOf(id);
    if (current) {
      // a slow response must not put an older version over a newer one
      if (Number(current.dataset.version) > Number(fresh.dataset.version)) return;
      const outcome = $(".outcome", current);
      if (outcome) fresh.querySelector("header").after(outcome);
      current.replaceWith(fresh);
    } else {
      const empty = $(".empty", cards);
      if (empty) empty.remove();
      cards.prepend(fresh);
    }
  }

  async function refreshAll() {
    const response = await fetch("/console/cards", { credentials: "same-origin" });
    if (response.status === 401) return signedOut();
    if (response.ok) $("#cards").replaceChildren(parseFragment(await response.text()));
  }

  function showOutcome(card, text, refused) {
    let outcome = $(".outcome", card);
    if (!outcome) {
      outcome = element("p", "outcome");
      outcome.setAttribute("role", "status");
      card.querySelector("header").after(outcome);
    }
    outcome.textContent = text;
    outcome.classList.toggle("refused", refused);
  }

  async function onAction(button) {
    const card = button.closest("article.nocbot-incident");
    let value;
    try {
      value = JSON.parse(button.dataset.value);
    } catch (error) {
      return;
    }
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    if (value.action === "silence" && value.arg === "custom") {
      const duration = window.prompt("Silence for how long? (e.g. 30m, 4h, 1d)", "2h");
      if (!duration) return;
      value.arg = duration.trim();
    }
    button.disabled = true;
    try {
      const response = await fetch("/console/actions", {
        method: "POST", credentials: "same-origin", headers: JSON_HEADERS, body: JSON.stringify(value),
      });
      if (response.status === 401) return signedOut();
      const body = await response.json();
      const message = body.message || body.error || body.outcome || "done";
      showOutcome(card, message, Boolean(body.refused || body.error));
      if (response.ok) await refreshCard(value.incident);
    } catch (error) {
      showOutcome(card, "Could not reach nocbot: " + error, true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- live feed ---------------------------------------------------------------------------

  function setLive(state, text) {
    const live = $("#live");
    if (!live) return;
    live.dataset.state = state;
    live.textContent = text;
  }

  function describe(type, data) {
    const incident = data.incident || {};
    const name = data.incident_id !== undefined ? "#" + data.incident_id : "";
    switch (type) {
      case "alerts.received": return data.count + " new alert" + (data.count === 1 ? "" : "s");
      case "incident.opened": return name + " opened: " + (incident.title || "");
      case "incident.grew": return name + " grew by " + data.new_alerts + " alert(s)";
      case "incident.prioritized": return name + " is now " + (data.to || "unscored");
      case "incident.acknowledged": return name + " acknowledged" + (data.by ? " by " + data.by : "");
      case "incident.resolved":
        return name + " resolved" + (data.automatically ? " automatically" : data.by ? " by " + data.by : "");
      case "incident.escalated": return name + " escalated" + (data.text ? ": " + data.text : "");
      case "playbook.step": return name + " playbook: " + (data.text || data.step || "");
      default: return name + " " + type.replace(/^incident\./, "");
    }
  }

  function logActivity(type, data) {
    const list = $("#events");
    if (!list) return;
    const item = element("li", "event " + type.replace(/\./g, "-"));
    const at = data.at ? new Date(data.at) : new Date();
    item.append(element("time", "", at.toLocaleTimeString()), " ", element("span", "", describe(type, data)));
    list.prepend(item);
    while (list.children.length > MAX_ACTIVITY) list.lastElementChild.remove();
  }

  function connect() {
    const source = new EventSource("/console/events");
    source.addEventListener("open", function () { setLive("live", "live"); });
    source.addEventListener("error", function () {
      setLive("offline", "reconnecting…");  // EventSource retries by itself, resuming by event id
    });
    for (const type of INCIDENT_EVENTS.concat(OTHER_EVENTS)) {
      source.addEventListener(type, function (message) {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (error) {
          return;
        }
        logActivity(type, data);
        if (Number.isInteger(data.incident_id)) refreshCard(data.incident_id);
      });
    }
    source.addEventListener("feed.reset", function () { refreshAll(); });
  }

  function signedOut() {
    window.location.assign("/console/login");
  }

  // ---- questions ---------------------------------------------------------------------------

  function renderAnswer(body) {
    const box = $("#answer");
    box.replaceChildren();
    box.hidden = false;
    box.append(element("p", body.answered ? "text" : "text refused", body.text || body.error || ""));
    if (!body.answered) {
      if (body.suggestions && body.suggestions.length) {
        const list = element("ul", "suggestions");
        for (const suggestion of body.suggestions) {
          const button = element("button", "suggestion", suggestion);
          button.type = "button";
          button.addEventListener("click", function () { ask(suggestion); });
          const item = element("li");
          item.append(button);
          list.append(item);
        }
        box.append(element("p", "hint", "Try:"), list);
      }
      return;
    }
    const range = body.time_range;
    box.append(element("p", "details", range.start + " – " + range.end + " · " + body.resolution));
    if (body.chart) box.append(parseFragment(body.chart));  // drawn and escaped by the server
    const table = element("table", "result");
    const head = table.createTHead().insertRow();
    for (const column of body.columns) head.append(element("th", "", column));
    const rows = table.createTBody();
    for (const row of body.rows) {
      const line = rows.insertRow();
      for (const cell of row) line.append(element("td", "", cell === null ? "—" : String(cell)));
    }
    box.append(table);
    if (body.row_count > body.rows.length) {
      box.append(element("p", "hint", "First " + body.rows.length + " of " + body.row_count + " rows."));
    }
    const sql = element("details", "sql");
    sql.append(element("summary", "", "SQL"), element("pre", "", body.sql));
    box.append(sql);
  }

  async function ask(question) {
    $("#question").value = question;
    const box = $("#answer");
    box.hidden = false;
    box.replaceChildren(element("p", "pending", "Thinking…"));
    try {
      const response = await fetch("/console/questions", {
        method: "POST", credentials: "same-origin", headers: JSON_HEADERS,
        body: JSON.stringify({ question: question }),
      });
      if (response.status === 401) return signedOut();
      renderAnswer(await response.json());
    } catch (error) {
      renderAnswer({ answered: false, text: "Could not reach nocbot: " + error });
    }
  }

  // ---- start -------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    const cards = $("#cards");
    if (!cards) return;  // not the channel page
    cards.addEventListener("click", function (event) {
      const button = event.target.closest("button.action");
      if (button) onAction(button);
    });
    $("#ask-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const question = $("#question").value.trim();
      if (question) ask(question);
    });
    connect();
  });
})();
