// Offers to attach the phone's position to a message, when the person allows it. The form
// works without this script: the position is only an extra (the place is chosen by name).
(function () {
  "use strict";
  var box = document.querySelector("[data-locate]");
  if (!box || !("geolocation" in navigator)) {
    return;
  }
  var button = box.querySelector("[data-locate-button]");
  var status = box.querySelector("[data-locate-status]");
  var latitude = box.querySelector("input[name=latitude]");
  var longitude = box.querySelector("input[name=longitude]");
  box.hidden = false;
  if (latitude.value && longitude.value) {
    status.textContent = "Местоположение приложено.";
  }
  button.addEventListener("click", function () {
    status.textContent = "Определяем местоположение…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        latitude.value = position.coords.latitude.toFixed(6);
        longitude.value = position.coords.longitude.toFixed(6);
        status.textContent = "Местоположение приложено: " + latitude.value + ", " +
          longitude.value + ".";
      },
      function () {
        status.textContent = "Местоположение не получено: место проблемы уже выбрано по названию, этого достаточно.";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
