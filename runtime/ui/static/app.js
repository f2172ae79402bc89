// destkit ui: the page of the local mapping tester. Plain JS, no build step; the server does the work
// (/api/preview runs the sample through destkit's own preview). Secrets are posted once to
// /api/secrets and never kept in the page.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { action: null, columns: [], timer: null, seq: 0, loadSeq: 0 };

async function getJson(url) {
  const reply = await fetch(url);
  return reply.json();
}

async function postJson(url, body) {
  const reply = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  return reply;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

// --- picking a destination and action -------------------------------------------------------------

async function loadDestinations() {
  const list = await getJson("/api/destinations");
  state.destinations = list;
  $("destination").replaceChildren(...list.map((d) => el("option", { value: d.id }, d.name)));
  const query = new URLSearchParams(location.search);
  if (query.get("destination")) $("destination").value = query.get("destination");
  fillActions();
}

function fillActions() {
  const dest = state.destinations.find((d) => d.id === $("destination").value);
  $("action").replaceChildren(...dest.actions.map((a) => el("option", { value: a.id }, `${a.id} · ${a.title}`)));
  const wanted = new URLSearchParams(location.search).get("action");
  if (wanted && dest.actions.some((a) => a.id === wanted)) $("action").value = wanted;
  loadAction();
}

async function loadAction() {
  const destination = $("destination").value, action = $("action").value, wanted = `${destination}/${action}`;
  const seq = ++state.loadSeq;
  delete document.body.dataset.loaded;
  const described = await getJson(`/api/destinations/${destination}/actions/${action}`);
  if (seq !== state.loadSeq) return;  // another pick came after this one
  state.action = described;
  $("action-description").textContent = described.description;
  $("mode").textContent = described.emulator
    ? "previews and sends go to the destination's emulator, in process"
    : "no emulator: previews run offline (catalogs from `catalogs:`)";
  $("send").disabled = !described.emulator;
  renderFields(described.fields);
  renderSettings(described.settings, described.secrets, described.secrets_set);
  $("mapping").value = described.mapping;
  renderChips();
  schedulePreview();
  document.body.dataset.loaded = wanted;  // what is shown (tests wait for it)
}

function renderFields(fields) {
  const rows = fields.map((f) => el("tr", {},
    el("td", { class: "name" }, el("code", {}, f.name), f.required ? el("span", { class: "required", title: "required" }, " *") : ""),
    el("td", {}, f.title, el("div", { class: "muted small" }, f.type + (f.catalog ? ` · catalog ${f.catalog}` : ""))),
    el("td", { class: "muted" }, f.description)));
  $("fields").tBodies[0].replaceChildren(...rows);
}

function renderSettings(settings, secrets, secretsSet) {
  $("settings").replaceChildren(...settings.map((s) => el("label", { class: "setting", title: s.description },
    s.title, el("input", { "data-setting": s.name, value: s.value ?? "" }))));
  $("secrets").replaceChildren(...secrets.map((s) => el("label", { class: "setting" }, s.title,
    el("input", { "data-secret": s.name, type: "password", autocomplete: "off",
      placeholder: secretsSet.includes(s.name) ? "set (kept by the server)" : "not set: the emulator's test value" }))));
  $("secrets-status").textContent = secretsSet.length ? `set: ${secretsSet.join(", ")}` : "";
  for (const input of $("settings").querySelectorAll("input")) input.addEventListener("input", schedulePreview);
}

async function saveSecrets() {
  const secrets = {};
  for (const input of $("secrets").querySelectorAll("input")) {
    if (input.value) secrets[input.dataset.secret] = input.value;
    input.value = "";  // the page keeps no secret: the server holds it
  }
  const reply = await (await postJson("/api/secrets", { destination: $("destination").value, secrets })).json();
  $("secrets-status").textContent = reply.secrets_set.length ? `set: ${reply.secrets_set.join(", ")}` : "none set";
  schedulePreview();
}

// --- the trial: what every preview, send and download is about ----------------------------------

function trial() {
  const settings = {};
  for (const input of $("settings").querySelectorAll("input")) settings[input.dataset.setting] = input.value;
  return {
    destination: $("destination").value, action: $("action").value, settings,
    mapping: $("mapping").value, extra: $("extra").value, sample: $("sample").value, format: $("format").value,
  };
}

function schedulePreview() {
  clearTimeout(state.timer);
  state.timer = setTimeout(runPreview, 250);
}

async function runPreview() {
  const seq = ++state.seq;
  $("preview-status").textContent = "working…";
  const reply = await (await postJson("/api/preview", trial())).json();
  if (seq !== state.seq) return;  // a newer edit has its own preview on the way
  renderIssues(reply.issues);
  renderRecords(reply.items);
  renderCatalogs(reply.catalogs);
  $("preview-status").textContent = reply.issues.length ? "config refused" : `${reply.items.length} record(s), nothing sent`;
}

function renderIssues(issues) {
  $("issues").replaceChildren(...issues.map((i) => el("li", { class: "issue" },
    el("b", {}, i.key), ": ", i.message, i.fix ? el("span", { class: "fix" }, " Fix: " + i.fix) : "")));
}

function outcomeNode(o) {
  return el("div", { class: `record ${o.outcome} held` },
    el("div", {}, el("b", {}, `row ${o.row}`), ` · ${o.outcome}`, o.key ? ` · ${o.key}` : ""),
    el("div", {}, el("span", { class: "reason" }, o.reason || ""), o.field ? ` in field ${o.field}` : ""),
    el("div", { class: "message" }, o.message || ""));
}

function renderRecords(items) {
  $("results").replaceChildren(...items.map((item) => item.outcome ? outcomeNode(item.outcome)
    : el("div", { class: "record sent" }, el("div", {}, el("b", {}, `row ${item.row}`), " · would be sent as"),
        el("pre", { class: "body" }, JSON.stringify(item.body, null, 2)),
        ...item.warnings.map((w) => el("div", { class: "muted" }, `warning ${w.reason} on ${w.field}: ${w.message}`)))));
}

function renderCatalogs(catalogs) {
  const names = Object.keys(catalogs || {});
  if (!names.length) { $("catalogs").textContent = "none read"; return; }
  $("catalogs").replaceChildren(...names.map((n) => el("div", { class: "catalog" },
    el("b", {}, n), ": ", catalogs[n].join(", "))));
}

// --- sending and downloading -------------------------------------------------------------------------

async function sendSample() {
  $("sent").textContent = "sending…";
  const reply = await (await postJson("/api/send", trial())).json();
  renderIssues(reply.issues);
  if (reply.issues.length) { $("sent").textContent = "not sent"; $("answers").replaceChildren(); return; }
  const s = reply.summary;
  $("sent").textContent = `sent: ${s.received} received, ${s.delivered} delivered, ${s.not_delivered} not delivered`;
  $("answers").replaceChildren(
    ...reply.outcomes.filter((o) => o.outcome !== "delivered").map(outcomeNode),
    ...reply.answers.map((a) => el("details", { class: "answer" },
      el("summary", {}, `${a.method} ${a.path} → ${a.status}`), el("pre", {}, a.answer))));
}

async function downloadConfig() {
  const reply = await postJson("/api/config", trial());
  if (!reply.ok) { renderIssues((await reply.json()).issues); return; }
  const url = URL.createObjectURL(await reply.blob());
  const link = el("a", { href: url, download: `${$("destination").value}.sync.yaml` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

// --- the sample and its columns ----------------------------------------------------------------------

function sampleColumns() {
  const text = $("sample").value;
  if ($("format").value === "jsonl") {
    const keys = new Set();
    for (const line of text.split("\n").slice(0, 20)) {
      try { Object.keys(JSON.parse(line)).forEach((k) => keys.add(k)); } catch (e) { /* not a record */ }
    }
    return [...keys];
  }
  const header = text.split("\n")[0] || "";
  const delimiter = [",", ";", "\t"].sort((a, b) => header.split(b).length - header.split(a).length)[0];
  return header.split(delimiter).map((c) => c.trim().replace(/^"|"$/g, "")).filter(Boolean);
}

function loadFile() {
  const file = $("sample-file").files[0];
  if (!file) return;
  if (/\.(jsonl|ndjson|json)$/i.test(file.name)) $("format").value = "jsonl";
  else if (/\.csv$/i.test(file.name)) $("format").value = "csv";
  file.text().then((text) => { $("sample").value = text; sampleChanged(); });
}

function sampleChanged() {
  state.columns = sampleColumns();
  renderChips();
  schedulePreview();
}

// --- completion: destination fields before the colon, source columns after it --------------------

function renderChips() {
  const fields = state.action ? state.action.fields.map((f) => f.name) : [];
  $("field-chips").replaceChildren(...fields.map((n) => chip(n, `${n}: `)));
  $("column-chips").replaceChildren(...state.columns.map((n) => chip(n, n)));
}

function chip(label, text) {
  const node = el("span", { class: "chip" }, label);
  node.addEventListener("mousedown", (e) => { e.preventDefault(); insertText(text, ""); });
  return node;
}

function currentToken() {
  const area = $("mapping");
  const before = area.value.slice(0, area.selectionStart);
  const line = before.slice(before.lastIndexOf("\n") + 1);
  const colon = line.indexOf(":");
  if (colon < 0) return { kind: "field", prefix: line.trimStart() };
  return { kind: "column", prefix: line.slice(colon + 1).trimStart() };
}

function suggestions() {
  const token = currentToken();
  const pool = token.kind === "field" ? (state.action?.fields || []).map((f) => f.name) : state.columns;
  return { token, found: pool.filter((n) => n.startsWith(token.prefix) && n !== token.prefix).slice(0, 8) };
}

function showCompletion() {
  const { token, found } = suggestions();
  const list = $("completion");
  if (!found.length || (token.kind === "field" && !token.prefix)) { list.hidden = true; return; }
  list.replaceChildren(...found.map((n, i) => {
    const item = el("li", { class: i === 0 ? "active" : "" }, n);
    item.addEventListener("mousedown", (e) => { e.preventDefault(); complete(n); });
    return item;
  }));
  list.hidden = false;
}

function complete(name) {
  const token = currentToken();
  insertText(name.slice(token.prefix.length) + (token.kind === "field" ? ": " : ""), "");
  $("completion").hidden = true;
}

function insertText(text) {
  const area = $("mapping");
  const at = area.selectionStart;
  area.value = area.value.slice(0, at) + text + area.value.slice(area.selectionEnd);
  area.selectionStart = area.selectionEnd = at + text.length;
  area.focus();
  schedulePreview();
}

function onMappingKey(event) {
  const list = $("completion");
  if (event.key === "Tab" && !list.hidden) {
    event.preventDefault();
    const active = list.querySelector("li.active");
    if (active) complete(active.textContent);
  } else if (event.key === "Escape") {
    list.hidden = true;
  }
}

function wire() {
  $("destination").addEventListener("change", fillActions);
  $("action").addEventListener("change", loadAction);
  $("mapping").addEventListener("input", () => { showCompletion(); schedulePreview(); });
  $("mapping").addEventListener("keydown", onMappingKey);
  $("mapping").addEventListener("blur", () => { $("completion").hidden = true; });
  $("extra").addEventListener("input", schedulePreview);
  $("sample").addEventListener("input", sampleChanged);
  $("format").addEventListener("change", sampleChanged);
  $("sample-file").addEventListener("change", loadFile);
  $("save-secrets").addEventListener("click", saveSecrets);
  $("send").addEventListener("click", sendSample);
  $("download").addEventListener("click", downloadConfig);
}

wire();
loadDestinations();
