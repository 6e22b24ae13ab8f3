Feature: Client cost
  What one HTTP call costs a scenario: the client as the plugin's fixture hands it to the steps
  (its listeners, its proxy settings, its Allure attachments), against raw requests.

  Scenario: The scenario's client and raw requests send the same calls
    When the client and raw requests send the same calls in interleaved rounds
