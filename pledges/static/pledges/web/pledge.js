/* Progressive enhancement of the donor's pages. Everything works without
   it (bank transfer); with it, card pledges are paid with Stripe's Payment
   Element, on the check step and on the status page. It never touches what
   the donor types: the server reads amounts and says what it understood. */
(function () {
  "use strict";

  // Confirmation and status pages: the Print button.
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  // After a refused submission, focus goes to the summary of what to fix.
  var summary = document.getElementById("error-summary") || document.getElementById("notice");
  if (summary && document.activeElement !== summary) summary.focus();

  var cardSection = document.getElementById("card-payment");
  if (!cardSection) return;
  var cardError = document.getElementById("card-error");
  var payButton = document.getElementById("card-pay");
  var messages = document.querySelector("[data-msg-card-failed]");

  function failed() {
    return messages ? messages.getAttribute("data-msg-card-failed") : "";
  }

  // Stripe's Payment Element for a PaymentIntent the server created;
  // `done` is where Stripe sends the donor back.
  function startCard(payment, done, intro, hide) {
    if (!payment || typeof window.Stripe !== "function") {
      window.location.assign(done);
      return;
    }
    var locale = messages ? messages.getAttribute("data-stripe-locale") : "auto";
    var stripe = window.Stripe(payment.publishable_key, { locale: locale });
    var elements = stripe.elements({ clientSecret: payment.client_secret });
    elements.create("payment").mount("#payment-element");
    if (hide) hide.hidden = true;
    cardSection.hidden = false;
    document.getElementById("card-intro").textContent = intro || "";
    document.getElementById("card-skip").setAttribute("href", done);
    document.getElementById("card-title").focus();
    payButton.addEventListener("click", function () {
      payButton.disabled = true;
      cardError.textContent = "";
      stripe.confirmPayment({ elements: elements, confirmParams: { return_url: done } }).then(function (result) {
        // Only an error comes back; success leaves for return_url.
        if (result && result.error) {
          cardError.textContent = result.error.message || failed();
          payButton.disabled = false;
        }
      }, function () {
        cardError.textContent = failed();
        payButton.disabled = false;
      });
    });
  }

  // The check step: a confirmed card pledge is created, then paid here.
  var confirmForm = document.getElementById("confirm-form");
  if (confirmForm && confirmForm.getAttribute("data-card") === "on" && window.fetch && window.FormData) {
    var status = document.getElementById("form-status");
    var confirmButton = document.getElementById("confirm");
    confirmForm.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.value !== "confirm") return;
      event.preventDefault();
      confirmButton.disabled = true;
      status.textContent = confirmForm.getAttribute("data-msg-sending");
      var body = new FormData(confirmForm);
      body.set("action", "confirm");
      var csrf = confirmForm.querySelector("input[name=csrfmiddlewaretoken]").value;
      // getAttribute: the buttons named "action" shadow the form's .action property.
      fetch(confirmForm.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrf },
      }).then(function (response) {
        if (response.status !== 201) {
          // Let the server show what to fix, as without JavaScript.
          submitWithoutScript();
          return null;
        }
        return response.json();
      }).then(function (answer) {
        if (answer) {
          status.textContent = "";
          startCard(answer.payment, answer.confirmation_url, answer.reference_printed, confirmForm);
        }
      }).catch(submitWithoutScript);
    });
    var submitWithoutScript = function () {
      var action = document.createElement("input");
      action.type = "hidden";
      action.name = "action";
      action.value = "confirm";
      confirmForm.appendChild(action);
      HTMLFormElement.prototype.submit.call(confirmForm);
    };
  }

  // The status page: pay the rest by card.
  var startButton = document.querySelector("[data-card-start]");
  if (startButton && window.fetch) {
    startButton.hidden = false;
    startButton.addEventListener("click", function () {
      startButton.disabled = true;
      cardError.textContent = "";
      fetch(startButton.getAttribute("data-card-start"), {
        method: "POST",
        credentials: "omit",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }).then(function (payment) {
        // Back to this page (in the donor's language) when Stripe is done.
        startCard(payment, window.location.href.split("?")[0], "", startButton.parentNode);
      }).catch(function () {
        cardSection.hidden = false;
        cardError.textContent = failed();
        startButton.disabled = false;
      });
    });
  }
})();
