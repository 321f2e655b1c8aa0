/* Safe changes (admin): canary, promote, rollback. The gateway plans the move (no side effect), the person
   confirms what will change by typing the version number, then the gateway applies the same plan. */
"use strict";

N2P.pages.changes = function (who) {
  const { t, el, api, say, formatTime, describeMove } = N2P;
  if (!N2P.hasScope(who, "admin")) return;
  const form = document.getElementById("change-form");
  const versionInput = document.getElementById("change-version");
  const preview = document.getElementById("preview");
  const result = document.getElementById("change-result");
  const status = document.getElementById("page-status");

  function showResult(kind, text) {
    result.hidden = !text;
    result.classList.toggle("error", kind === "error");
    result.textContent = text;
  }

  async function loadLabels() {
    const list = document.getElementById("current-labels");
    try {
      const versions = (await api("GET", "/v1/versions")).versions || [];
      const labels = versions.flatMap((v) => (v.labels || []).map((label) => ({ label, version: v.version })));
      labels.sort((a, b) => a.label.localeCompare(b.label));
      list.replaceChildren(...(labels.length ? labels.map((item) =>
        el("li", { "data-label": item.label }, el("span", { class: "badge" }, item.label), " → " + item.version)) :
        [el("li", {}, t("changes.current_none"))]));
    } catch (error) {
      list.replaceChildren(el("li", { class: "field-error" }, error.message));
    }
  }

  function moveOf(move) {
    return { label: move.label, from: move.from ?? move.from_version ?? null, to: move.to ?? move.to_version ?? null };
  }

  /* "key:<id>:<name>" (the gateway's actor) reads as "<name> (<id>)"; anything else as it is. */
  function actorOf(entry) {
    const actor = entry.actor || entry.user || "";
    const match = /^key:([^:]+):(.*)$/.exec(actor);
    return match ? match[2] + " (" + match[1] + ")" : actor || t("common.unknown");
  }

  function whatChanged(entry) {
    if (entry.action === "key.create") {
      return t("changes.audit_key_create", { name: entry.name, scopes: (entry.scopes || []).join(", ") });
    }
    if (entry.action === "key.revoke") return t("changes.audit_key_revoke", { name: entry.name || entry.key_id });
    return (entry.changes || entry.moves || []).map(moveOf).map(describeMove).join("; ");
  }

  function auditRow(entry) {
    return el("tr", {},
      el("td", {}, formatTime(entry.time)),
      el("td", {}, actorOf(entry)),
      el("td", {}, entry.action || ""),
      el("td", {}, whatChanged(entry)));
  }

  async function loadAudit() {
    const body = document.getElementById("audit-body");
    try {
      const entries = ((await api("GET", "/v1/audit?limit=20")).entries || []).slice();
      entries.sort((a, b) => String(b.time).localeCompare(String(a.time)));
      body.replaceChildren(...(entries.length ? entries.map(auditRow) :
        [el("tr", {}, el("td", { colspan: 4 }, t("changes.audit_empty")))]));
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "field-error" }, error.message)));
    }
  }

  function chosenChange() {
    const action = form.querySelector("input[name=action]:checked").value;
    const body = { action };
    if (versionInput.value.trim()) body.version = Number(versionInput.value);
    return body;
  }

  function confirmedVersion(action, plan, changes) {
    if (typeof plan.target === "number") return plan.target;
    const label = action === "canary" ? "canary" : "stable";
    const main = changes.find((change) => change.label === label) || changes[0];
    return main.to;
  }

  async function previewAndApply(body) {
    const plan = await api("POST", "/v1/labels/plan", body);
    say(status, "info", "");
    const changes = (plan.changes || []).map(moveOf);
    if (!changes.length) { showResult("info", t("changes.nothing")); return; }
    const expected = confirmedVersion(body.action, plan, changes);
    const confirmed = await N2P.confirmChange({
      title: t("changes.confirm_title"), intro: t("changes.confirm_intro"),
      lines: changes.map(describeMove), expected, action: t("changes.apply"),
    });
    if (!confirmed) { showResult("info", t("changes.cancelled")); preview.focus(); return; }
    say(status, "info", t("changes.applying"));
    const applied = await api("POST", "/v1/labels/apply", Object.assign({}, body, { confirm_version: expected }));
    await Promise.all([loadLabels(), loadAudit()]);
    say(status, "info", "");
    showResult("info", t("changes.done", { changes: (applied.changes || []).map(moveOf).map(describeMove).join("; ") }));
    result.setAttribute("tabindex", "-1");
    result.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showResult("info", "");
    preview.disabled = true;
    say(status, "info", t("changes.planning"));
    try {
      await previewAndApply(chosenChange());
    } catch (error) {
      say(status, "info", "");
      showResult("error", error.message);
    } finally {
      preview.disabled = false;
    }
  });

  loadLabels();
  loadAudit();
};
