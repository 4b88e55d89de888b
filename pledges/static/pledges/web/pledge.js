/* Progressive enhancement of the pledge form: the form works without it
   (bank transfer); with it, amounts keep their currency's minor units as
   they are typed, and card pledges are paid with Stripe's Payment Element. */
(function () {
  "use strict";

  // Confirmation page: the Print button.
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  var form = document.getElementById("pledge-form");
  if (!form) return;

  // After a refused submission, focus goes to the summary of what to fix.
  var summary = document.getElementById("error-summary") || document.getElementById("notice");
  if (summary && document.activeElement !== summary) summary.focus();

  var currency = document.getElementById("currency");
  var live = document.getElementById("amount-live");

  function minorUnits() {
    var option = currency.options[currency.selectedIndex];
    var places = option ? parseInt(option.getAttribute("data-minor"), 10) : 2;
    return isNaN(places) ? 2 : places;
  }

  function message(places) {
    var text = places === 0 ? form.getAttribute("data-msg-whole") : form.getAttribute("data-msg-decimals");
    return text.replace("%(currency)s", currency.value).replace("%(places)s", String(places));
  }

  // Keep at most the currency's decimals: extra digits are refused as they are typed.
  function clamp(input, announce) {
    var places = minorUnits();
    var value = input.value.replace(",", ".");
    var pattern = places === 0 ? /^\d*$/ : new RegExp("^\\d*(\\.\\d{0," + places + "})?$");
    if (pattern.test(value)) {
      if (value !== input.value) input.value = value;
      input.dataset.lastGood = value;
      return true;
    }
    var good = input.dataset.lastGood;
    if (good === undefined || !pattern.test(good)) {
      // Trim what no longer fits (the currency changed).
      var match = value.match(/^(\d*)(?:\.(\d*))?/);
      good = match ? match[1] + (places && match[2] !== undefined ? "." + match[2].slice(0, places) : "") : "";
    }
    input.value = good;
    input.dataset.lastGood = good;
    if (announce && live) live.textContent = message(places);
    return false;
  }

  var moneyInputs = Array.prototype.slice.call(form.querySelectorAll("input.money"));
  function configure() {
    var places = minorUnits();
    moneyInputs.forEach(function (input) {
      input.setAttribute("inputmode", places === 0 ? "numeric" : "decimal");
      input.setAttribute("step", places === 0 ? "1" : "0." + "0".repeat(places - 1) + "1");
      input.setAttribute("data-minor", String(places));
      if (input.value) clamp(input, false);
    });
  }
  moneyInputs.forEach(function (input) {
    input.dataset.lastGood = input.value;
    input.addEventListener("input", function () {
      if (clamp(input, true) && live) live.textContent = "";
    });
  });
  currency.addEventListener("change", function () {
    if (live) live.textContent = "";
    configure();
  });
  configure();

  // Card pledges: post the form for JSON, then Stripe's Payment Element.
  var cardSection = document.getElementById("card-payment");
  var cardError = document.getElementById("card-error");
  var payButton = document.getElementById("card-pay");
  var status = document.getElementById("form-status");
  var submitButton = document.getElementById("submit");

  function cardChosen() {
    var chosen = form.querySelector("input[name=payment_method]:checked");
    return chosen && chosen.value === "card";
  }

  form.addEventListener("submit", function (event) {
    if (!cardChosen() || !window.fetch || !window.FormData) return;
    event.preventDefault();
    submitButton.disabled = true;
    status.textContent = form.getAttribute("data-msg-sending");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
    }).then(function (response) {
      if (response.status !== 201) {
        // Let the server show the errors next to their fields.
        HTMLFormElement.prototype.submit.call(form);
        return null;
      }
      return response.json();
    }).then(function (answer) {
      if (answer) startCard(answer);
    }).catch(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
  });

  function startCard(answer) {
    var done = answer.confirmation_url;
    if (!answer.payment || typeof window.Stripe !== "function") {
      window.location.assign(done);
      return;
    }
    var stripe = window.Stripe(answer.payment.publishable_key, { locale: form.getAttribute("data-stripe-locale") });
    var elements = stripe.elements({ clientSecret: answer.payment.client_secret });
    var element = elements.create("payment");
    element.mount("#payment-element");
    form.hidden = true;
    cardSection.hidden = false;
    document.getElementById("card-intro").textContent = answer.reference_printed || "";
    document.getElementById("card-skip").setAttribute("href", done);
    document.getElementById("card-title").focus();
    payButton.addEventListener("click", function () {
      payButton.disabled = true;
      cardError.textContent = "";
      stripe.confirmPayment({ elements: elements, confirmParams: { return_url: done } }).then(function (result) {
        // Only an error comes back; success leaves for return_url.
        if (result && result.error) {
          cardError.textContent = result.error.message || form.getAttribute("data-msg-card-failed");
          payButton.disabled = false;
        }
      }, function () {
        cardError.textContent = form.getAttribute("data-msg-card-failed");
        payButton.disabled = false;
      });
    });
  }
})();
