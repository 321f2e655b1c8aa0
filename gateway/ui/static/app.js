/* nlp2prod console: what every page shares (key, API calls, messages, identity, confirmation dialog).
   The key lives in sessionStorage only; every text from the server is put into the page as text, never as HTML. */
"use strict";

const N2P = (function () {
  const body = document.body;
  const root = body.dataset.root || "";
  const base = body.dataset.base || "/ui";
  const lang = document.documentElement.lang || "en";
  const messages = JSON.parse(document.getElementById("n2p-messages").textContent);
  const KEY_ITEM = "n2p_key";
  const pages = {};

  function t(key, params) {
    const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
  }

  /* An element with attributes (`on*` functions become listeners) and children (strings become text). */
  function el(tag, attributes, ...children) {
    const ns = attributes && attributes.svg ? "http://www.w3.org/2000/svg" : null;
    const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "svg" || value === null || value === undefined || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /* Replaces a node's children; arrays are flattened and null/false left out, as in el(). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined &&
      child !== false).map((child) => (child instanceof Node ? child : document.createTextNode(String(child)))));
    return node;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function describeError(response, data) {
    const reason = data && typeof data.error === "string" ? data.error : "";
    const status = response.status;
    let summary;
    if (status === 429) summary = t("error.429", { seconds: response.headers.get("Retry-After") || "?" });
    else if ([401, 403, 404, 503].includes(status)) summary = t("error." + status);
    else summary = t("error.other", { status });
    return reason ? summary + ": " + reason : summary;
  }

  /* One call to the gateway's JSON API with the signed-in key; resolves to the parsed JSON body. */
  async function api(method, path, payload, key) {
    const headers = { Authorization: "Bearer " + (key || sessionStorage.getItem(KEY_ITEM) || "") };
    const init = { method, headers, cache: "no-store" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(root + path, init);
    } catch (error) {
      throw new ApiError(0, t("error.network"));
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
    if (!response.ok) {
      if (response.status === 401 && !key) expireSession();
      throw new ApiError(response.status, describeError(response, data));
    }
    return data;
  }

  function expireSession() {
    sessionStorage.removeItem(KEY_ITEM);
    location.assign(base + "/?expired=1&next=" + encodeURIComponent(location.pathname));
  }

  /* A message in a live region: kind is "info" or "error"; an empty text clears it. */
  function say(node, kind, text) {
    node.className = node.className.replace(/\b(info|error)\b/g, "").trim() + (text ? " " + kind : "");
    node.textContent = text || "";
  }

  function hasScope(who, scope) {
    return who.scopes.includes("admin") || who.scopes.includes(scope);
  }

  function showAllowed(who) {
    for (const node of document.querySelectorAll("[data-scope]")) node.hidden = !hasScope(who, node.dataset.scope);
    for (const node of document.querySelectorAll("[data-scope-missing]")) {
      node.hidden = hasScope(who, node.dataset.scopeMissing);
    }
    const needsAdmin = document.getElementById("needs-admin");
    if (needsAdmin) needsAdmin.textContent = t("common.needs_admin", { scopes: who.scopes.join(", ") });
  }

  function showIdentity(who) {
    document.getElementById("identity-text").textContent =
      t("who.signed_in", { name: who.name, scopes: who.scopes.join(", ") });
    document.getElementById("identity").hidden = false;
    document.getElementById("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_ITEM);
      location.assign(base + "/");
    });
  }

  function languageName(code) {
    if (!code) return t("common.unknown");
    try {
      const name = new Intl.DisplayNames([lang], { type: "language" }).of(code);
      return name && name !== code ? name + " (" + code + ")" : code;
    } catch (error) {
      return code;
    }
  }

  function formatNumber(value, digits) {
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return value.toLocaleString(lang);
    return value.toLocaleString(lang, { minimumFractionDigits: digits ?? 3, maximumFractionDigits: digits ?? 3 });
  }

  function formatTime(text) {
    if (!text) return t("common.unknown");
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) return String(text);
    return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
  }

  function describeMove(change) {
    const none = t("common.none");
    return t("changes.move", { label: change.label, from: change.from ?? none, to: change.to ?? none });
  }

  /* The confirmation dialog; `expected` (optional) is the text the person must type. Resolves to true/false. */
  function confirmChange({ title, intro, lines, expected, action }) {
    const dialog = document.getElementById("confirm-dialog");
    const input = document.getElementById("confirm-input");
    const ok = document.getElementById("confirm-ok");
    const error = document.getElementById("confirm-error");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-intro").textContent = intro;
    document.getElementById("confirm-lines").replaceChildren(...lines.map((line) => el("li", {}, line)));
    document.getElementById("confirm-typed").hidden = expected === undefined;
    document.getElementById("confirm-input-label").textContent = expected === undefined ? "" :
      t("changes.confirm_type", { version: expected });
    ok.textContent = action;
    input.value = "";
    input.removeAttribute("aria-invalid");
    error.textContent = "";
    const matches = () => expected === undefined || input.value.trim() === String(expected);
    ok.disabled = !matches();
    return new Promise((resolve) => {
      const onInput = () => { ok.disabled = !matches(); error.textContent = ""; input.removeAttribute("aria-invalid"); };
      const onSubmit = (event) => {
        if (event.submitter && event.submitter.value === "confirm" && !matches()) {
          event.preventDefault();
          input.setAttribute("aria-invalid", "true");
          error.textContent = t("changes.confirm_mismatch", { version: expected });
        }
      };
      const onClose = () => {
        input.removeEventListener("input", onInput);
        dialog.querySelector("form").removeEventListener("submit", onSubmit);
        resolve(dialog.returnValue === "confirm" && matches());
      };
      input.addEventListener("input", onInput);
      dialog.querySelector("form").addEventListener("submit", onSubmit);
      dialog.addEventListener("close", onClose, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      (expected === undefined ? document.getElementById("confirm-cancel") : input).focus();
    });
  }

  async function start() {
    const page = body.dataset.page;
    if (page === "signin") { if (pages.signin) pages.signin(); return; }
    if (!sessionStorage.getItem(KEY_ITEM)) {
      location.replace(base + "/?next=" + encodeURIComponent(location.pathname));
      return;
    }
    let who;
    try {
      who = await api("GET", "/v1/whoami");
    } catch (error) {
      say(document.getElementById("page-status"), "error", error.message);
      return;
    }
    showIdentity(who);
    showAllowed(who);
    if (pages[page]) pages[page](who);
  }

  document.addEventListener("DOMContentLoaded", start);

  return { t, el, fill, api, ApiError, say, hasScope, languageName, formatNumber, formatTime, describeMove,
           confirmChange, pages, base, lang, KEY_ITEM };
})();
