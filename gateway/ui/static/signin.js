/* Sign-in: checks the key with /v1/whoami before keeping it in this tab's sessionStorage. */
"use strict";

N2P.pages.signin = function () {
  const { t, api, say } = N2P;
  const form = document.getElementById("signin-form");
  const input = document.getElementById("key");
  const error = document.getElementById("key-error");
  const status = document.getElementById("page-status");
  const params = new URLSearchParams(location.search);
  if (params.get("expired")) say(status, "error", t("signin.expired"));

  function destination() {
    const next = params.get("next") || "";
    const safe = next.startsWith(N2P.base + "/") && !next.startsWith("//") && !next.includes("\\");
    return safe && next !== N2P.base + "/" ? next : N2P.base + "/try";
  }

  function fail(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!key) { fail(t("signin.empty")); return; }
    say(status, "info", t("signin.checking"));
    try {
      await api("GET", "/v1/whoami", undefined, key);
    } catch (problem) {
      say(status, "info", "");
      fail(t("signin.refused", { reason: problem.message }));
      return;
    }
    sessionStorage.setItem(N2P.KEY_ITEM, key);
    location.assign(destination());
  });
  input.focus();
};
