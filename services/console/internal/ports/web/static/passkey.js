// Passkeys (WebAuthn) on the sign-in and account pages. The ceremonies run against
// membership's /auth/passkey/* routes; this file only moves their JSON to and from
// navigator.credentials, converting base64url fields to the ArrayBuffers the API takes.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) {
    document.querySelectorAll("#passkey-way, #passkey-register-way").forEach(function (el) { el.hidden = true; });
    return;
  }
  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // The CSRF cookie is HttpOnly; the page carries its value in its forms' hidden field, and
  // membership checks the header against the cookie.
  function csrf() {
    var el = document.querySelector("input[name=csrf]");
    return el ? el.value : "";
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body || {})}).then(function (r) {
      // An answer that is not JSON (a proxy's error page) still says what went wrong.
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.detail || r.status + " " + r.statusText);
        return j;
      });
    });
  }
  function credentialJSON(c) {
    var out = {id: c.id, rawId: bufToB64u(c.rawId), type: c.type, response: {},
      // Membership refuses extension outputs it did not ask for, so it must see them all.
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}};
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    var r = c.response;
    out.response.clientDataJSON = bufToB64u(r.clientDataJSON);
    if (r.attestationObject) out.response.attestationObject = bufToB64u(r.attestationObject);
    if (r.authenticatorData) out.response.authenticatorData = bufToB64u(r.authenticatorData);
    if (r.signature) out.response.signature = bufToB64u(r.signature);
    if (r.userHandle) out.response.userHandle = bufToB64u(r.userHandle);
    if (r.getTransports) out.response.transports = r.getTransports();
    return out;
  }
  function showError(button, e) {
    button.disabled = false;
    var el = document.getElementById("passkey-error");
    if (el) { el.textContent = "The passkey did not work: " + e.message; el.hidden = false; }
  }
  function start(button) {
    button.disabled = true;
    var el = document.getElementById("passkey-error");
    if (el) el.hidden = true;
  }
  var signin = document.getElementById("passkey-signin");
  if (signin) signin.addEventListener("click", function () {
    start(signin);
    var next = document.getElementById("passkey-way").dataset.next || "/";
    post("/auth/passkey/login/begin").then(function (o) {
      var pk = o.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      (pk.allowCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
      return navigator.credentials.get({publicKey: pk}).then(function (c) {
        return post("/auth/passkey/login/finish?ceremony=" + encodeURIComponent(o.ceremony) +
          "&next=" + encodeURIComponent(next), credentialJSON(c));
      });
    }).then(function (o) { window.location.assign(o.next || "/"); }).catch(function (e) { showError(signin, e); });
  });
  var register = document.getElementById("passkey-register");
  if (register) register.addEventListener("click", function () {
    start(register);
    document.getElementById("passkey-added").hidden = true;
    post("/auth/passkey/register/begin").then(function (o) {
      var pk = o.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      pk.user.id = b64uToBuf(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
      return navigator.credentials.create({publicKey: pk}).then(function (c) {
        return post("/auth/passkey/register/finish?ceremony=" + encodeURIComponent(o.ceremony), credentialJSON(c));
      });
    }).then(function () {
      register.disabled = false;
      document.getElementById("passkey-added").hidden = false;
    }).catch(function (e) { showError(register, e); });
  });
})();
