// Enhancements of the public feedback pages; every page works without this file.
// "Use my location" fills the latitude and longitude; "Copy the code" copies the tracking code.

function locate(button) {
  const form = button.closest("form");
  const status = form.querySelector(".fb-locate-status");
  button.hidden = false;
  button.addEventListener("click", () => {
    status.textContent = button.dataset.wait;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        form.querySelector("[name=latitude]").value = position.coords.latitude.toFixed(6);
        form.querySelector("[name=longitude]").value = position.coords.longitude.toFixed(6);
        status.textContent = "";
      },
      () => { status.textContent = button.dataset.fail; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
}

function copy(button) {
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(field.value).then(() => { button.textContent = button.dataset.done; });
  });
}

if ("geolocation" in navigator) document.querySelectorAll("[data-locate]").forEach(locate);
document.querySelectorAll("[data-copy]").forEach(copy);
document.querySelectorAll(".fb-code").forEach((field) => field.addEventListener("focus", () => field.select()));
