/* Keys (admin): create one (its secret is shown once), list them, revoke one after a confirmation. */
"use strict";

N2P.pages.keys = function (who) {
  const { t, el, api, say, formatTime } = N2P;
  if (!N2P.hasScope(who, "admin")) return;
  const form = document.getElementById("key-form");
  const nameInput = document.getElementById("key-name");
  const nameError = document.getElementById("key-name-error");
  const scopesError = document.getElementById("key-scopes-error");
  const expiresInput = document.getElementById("key-expires");
  const expiresError = document.getElementById("key-expires-error");
  const status = document.getElementById("page-status");

  function keyRow(key) {
    const revoked = Boolean(key.revoked_at) || key.state === "revoked";
    const state = key.state || (revoked ? "revoked" : "active");
    const revoke = state !== "active" ? null : el("button", {
      type: "button", class: "danger small", "aria-label": t("keys.revoke_of", { name: key.name }),
      onclick: () => revokeKey(key),
    }, t("keys.revoke"));
    return el("tr", { "data-key-id": key.key_id },
      el("td", {}, key.name),
      el("td", {}, el("code", {}, key.key_id)),
      el("td", {}, (key.scopes || []).join(", ")),
      el("td", {}, formatTime(key.created_at)),
      el("td", {}, key.expires_at ? formatTime(key.expires_at) : t("keys.never")),
      el("td", {}, { active: t("keys.active"), revoked: t("keys.revoked"), expired: t("keys.expired") }[state] || state),
      el("td", {}, revoke));
  }

  async function loadKeys() {
    const body = document.getElementById("keys-body");
    try {
      const keys = ((await api("GET", "/v1/keys")).keys || []).slice();
      keys.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
      body.replaceChildren(...(keys.length ? keys.map(keyRow) :
        [el("tr", {}, el("td", { colspan: 7 }, t("keys.empty")))]));
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "field-error" }, error.message)));
    }
  }

  async function revokeKey(key) {
    const confirmed = await N2P.confirmChange({
      title: t("keys.revoke_title"), intro: t("keys.revoke_intro", { name: key.name, id: key.key_id }),
      lines: [key.name + " (" + key.key_id + ")"], action: t("keys.revoke_confirm"),
    });
    if (!confirmed) return;
    let outcome;
    try {
      await api("DELETE", "/v1/keys/" + encodeURIComponent(key.key_id));
      outcome = ["info", t("keys.revoked_done", { name: key.name })];
    } catch (error) {
      outcome = ["error", error.message];
    }
    await loadKeys();
    say(status, ...outcome);
  }

  function showSecret(created) {
    document.getElementById("new-key-message").textContent = t("keys.created", { name: created.name });
    const secret = document.getElementById("new-key-secret");
    secret.value = created.secret || created.key || "";
    document.getElementById("copy-status").textContent = "";
    document.getElementById("new-key").hidden = false;
    secret.focus();
    secret.select();
  }

  document.getElementById("copy-key").addEventListener("click", async () => {
    const secret = document.getElementById("new-key-secret");
    secret.select();
    try {
      await navigator.clipboard.writeText(secret.value);
    } catch (error) {
      document.execCommand("copy");
    }
    document.getElementById("copy-status").textContent = t("keys.copied");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const scopes = [...form.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value);
    nameError.textContent = name ? "" : t("keys.name_missing");
    if (name) nameInput.removeAttribute("aria-invalid"); else nameInput.setAttribute("aria-invalid", "true");
    scopesError.textContent = scopes.length ? "" : t("keys.scopes_missing");
    const days = expiresInput.value.trim();
    const daysValid = !days || Number(days) > 0;
    expiresError.textContent = daysValid ? "" : t("keys.expires_invalid");
    if (daysValid) expiresInput.removeAttribute("aria-invalid"); else expiresInput.setAttribute("aria-invalid", "true");
    if (!name || !scopes.length || !daysValid) {
      (!name ? nameInput : !scopes.length ? form.querySelector("input[name=scopes]") : expiresInput).focus();
      return;
    }
    const request = { name, scopes };
    if (days) request.expires_in_days = Number(days);
    try {
      const created = await api("POST", "/v1/keys", request);
      form.reset();
      showSecret(Object.assign({ name }, created));
    } catch (error) {
      say(status, "error", error.message);
    }
    await loadKeys();
  });

  loadKeys();
};
