/* The bell in the back office header. htmx polls #notification-badge every few seconds (server-rendered partial);
   this file only reacts to what arrives: when a new unread notification that sounds (an alert awaiting approval)
   appears, it plays a chime generated with Web Audio, once across the person's open tabs, and again every
   data-chime-repeat seconds while that notification stays unread.
   No inline script (the Content-Security-Policy forbids it): the data lives in data- attributes.

   Browsers start audio only after the person has interacted with the page. Until then a chime that cannot be
   heard shows the "turn on alert sound" button; any click or key press on the page also unlocks sound.
   Visible to scripts and tests: <html data-chimes="N" data-chime-state="running|suspended|unsupported">. */
(function () {
  "use strict";

  var STORAGE_KEY = "nguon.notifications.chimed";
  var STORAGE_AT = "nguon.notifications.chimedAt";
  var context = null;

  function audioContext() {
    if (context === null) {
      var Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) { return null; }
      context = new Ctor();
    }
    return context;
  }

  function unlock() {
    var ctx = audioContext();
    if (ctx && ctx.state === "suspended") { ctx.resume().then(resumed, function () {}); }
  }

  function resumed() {
    hideButton();
    document.documentElement.setAttribute("data-chime-state", context.state);
  }

  function lastChimed() {
    try { return parseInt(window.localStorage.getItem(STORAGE_KEY) || "0", 10) || 0; } catch (e) { return 0; }
  }

  function lastChimedAt() {
    try { return parseInt(window.localStorage.getItem(STORAGE_AT) || "0", 10) || 0; } catch (e) { return 0; }
  }

  function remember(id) {
    try {
      window.localStorage.setItem(STORAGE_KEY, String(id));
      window.localStorage.setItem(STORAGE_AT, String(Date.now()));
    } catch (e) { /* private mode: chime per tab */ }
  }

  function button() { return document.querySelector("[data-notif-enable-sound]"); }
  function hideButton() { var b = button(); if (b) { b.hidden = true; } }

  /* Two rising-falling tones, twice: distinct from ordinary UI sounds, about 1.2 s. */
  function tones(ctx) {
    var start = ctx.currentTime + 0.05;
    [[880, 0], [660, 0.3], [880, 0.6], [660, 0.9]].forEach(function (note) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, start + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.35, start + note[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + note[1] + 0.28);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start + note[1]);
      osc.stop(start + note[1] + 0.3);
    });
  }

  function chime() {
    var root = document.documentElement;
    root.setAttribute("data-chimes", String((parseInt(root.getAttribute("data-chimes") || "0", 10) || 0) + 1));
    var ctx = audioContext();
    if (!ctx) { root.setAttribute("data-chime-state", "unsupported"); return; }
    if (ctx.state === "suspended") { ctx.resume().catch(function () {}); }
    tones(ctx);
    root.setAttribute("data-chime-state", ctx.state);
    if (ctx.state !== "running") {
      var b = button();
      if (b) { b.hidden = false; }
    }
  }

  function check() {
    var badge = document.getElementById("notification-badge");
    if (!badge) { return; }
    var id = parseInt(badge.getAttribute("data-sound-id") || "0", 10) || 0;
    var repeat = (parseInt(badge.getAttribute("data-chime-repeat") || "0", 10) || 0) * 1000;
    // A new alert awaiting approval chimes at once; while one stays unread, the chime comes back every `repeat`
    // (across the person's tabs: the time of the last chime is shared through localStorage).
    if (id > lastChimed() || (id > 0 && repeat > 0 && Date.now() - lastChimedAt() >= repeat)) {
      remember(id);
      chime();
    }
    document.documentElement.setAttribute("data-unread", badge.getAttribute("data-unread") || "0");
  }

  document.addEventListener("pointerdown", unlock, true);
  document.addEventListener("keydown", unlock, true);
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-notif-enable-sound]") : null;
    if (target && audioContext()) { unlock(); tones(context); target.hidden = true; }
  });
  document.addEventListener("htmx:afterSettle", check);
  window.setInterval(check, 5000);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", check);
  } else {
    check();
  }
}());
